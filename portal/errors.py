"""Domain exceptions and the pages people see when something goes wrong (never a bare 500)."""

from __future__ import annotations

import errno

from flask import Flask, current_app, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from portal.extensions import db
from portal.openapi import problem


class PortalError(Exception):
    status = 400


class NotFound(PortalError):
    status = 404


class Forbidden(PortalError):
    status = 403


class InvalidInput(PortalError):
    status = 400


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"  # /api/ answers problem details, see render_error


def render_error(status: int, message: str | None = None, error: HTTPException | None = None):
    if request.path.startswith("/api/"):
        # The API's one error shape (RFC 9457, both languages); the site's pages are unchanged.
        answer = problem(status, message, message)
        if error is not None and getattr(error, "valid_methods", None):
            answer.headers["Allow"] = ", ".join(error.valid_methods)  # what a 405 must say
        return answer
    if _wants_json():
        return jsonify({"error": status, "message": message or ""}), status
    return render_template("errors/error.html", status=status, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(PortalError)
    def portal_error(error: PortalError):
        return render_error(error.status, str(error) or None)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_error(error.code or 500, None, error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return render_error(500, None)

    @app.errorhandler(OSError)
    def storage_full(error: OSError):
        """A full disk (or quota) refuses clearly and asks to come back; anything else is a bug.
        Nothing is half-written: files are written aside and renamed (portal.files.store), and the
        request's transaction is never committed."""
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            return unexpected(error)
        app.logger.error("storage full, request refused: %s", error)
        return _unavailable("storage", 300, "Máy chủ tạm hết chỗ lưu trữ; chưa có gì được lưu, vui lòng thử lại sau.",
                            "The server's storage is full; nothing was saved, please try again later.")

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        """The database went away mid-request (restarted, failed over, unreachable) or is busy: the
        request's transaction died with its connection, so nothing was saved; the pool replaces the
        connection (pool_pre_ping) and a retry a little later succeeds."""
        app.logger.error("database unavailable, request refused: %s", str(error).splitlines()[0])
        return _unavailable("database", 30, "Cơ sở dữ liệu tạm thời không trả lời; chưa có gì được lưu, "
                            "vui lòng thử lại sau ít phút.",
                            "The database is not answering for the moment; nothing was saved, please try again "
                            "in a minute.")


def _unavailable(kind: str, retry_after: int, vi: str, en: str):
    """503 with Retry-After; whatever the request added is dropped here, not left to a later commit."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone: the pool discards it on its own
        current_app.logger.warning("rollback after a %s failure did not complete", kind)
    if request.path.startswith("/api/"):
        answer = problem(503, vi, en)
    else:
        answer = current_app.make_response(
            (render_template("errors/error.html", status=503, kind=kind, message=None), 503))
    answer.headers["Retry-After"] = str(retry_after)
    return answer
