"""A request id on every answer (``X-Request-ID``) and every log line written while answering.

A support call ("it failed, the id was …") then finds the lines of that very request. The id the
proxy in front sets (nginx: ``proxy_set_header X-Request-ID $request_id``) is kept, so its access
log and ours share one id; a client's own id is kept too when it is a plain token (an allow-list of
characters and a length cap: no header injection, no log forging), otherwise a fresh one is made.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid

from flask import Flask, Response, has_request_context, request

HEADER = "X-Request-ID"
#: What an incoming id may look like: nginx's $request_id (32 hex), a UUID, a ULID, a trace id.
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{8,128}")
_ENVIRON_KEY = "portal.request_id"
#: The format of the portal's own log lines (gunicorn's access log has the id too: gunicorn.conf.py).
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def request_id() -> str:
    """This request's id: the one sent, if it is acceptable, else a new one (kept for the request)."""
    environ = request.environ
    if _ENVIRON_KEY not in environ:
        sent = request.headers.get(HEADER, "")
        environ[_ENVIRON_KEY] = sent if _ACCEPTED.fullmatch(sent) else uuid.uuid4().hex
    return environ[_ENVIRON_KEY]


class RequestIdFilter(logging.Filter):
    """Gives each record a ``request_id`` ("-" outside a request: jobs, commands)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() if has_request_context() else "-"
        return True


def _echo(response: Response) -> Response:
    response.headers[HEADER] = request_id()
    return response


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (gunicorn's, or a test's capture)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def init_app(app: Flask) -> None:
    """Echo the id on every answer; log the portal's lines (``portal`` and ``portal.*``, which is
    also the Flask app's own logger) with it: one handler per process, however many apps it makes."""
    app.after_request(_echo)
    app.jinja_env.globals["request_id"] = request_id  # the error page quotes it for support
    logger = logging.getLogger("portal")
    if not any(isinstance(f, RequestIdFilter) for h in logger.handlers for f in h.filters):
        handler = _StderrHandler()
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
