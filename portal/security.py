"""Security headers on every response; the CSP carries a per-request nonce for inline scripts."""

from __future__ import annotations

import secrets

from flask import Flask, Response, abort, request

from portal.openapi import problem

#: Pages may load only our own files; inline scripts only with the request's nonce.
CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def secret_keys(config) -> list[str]:
    """What an itsdangerous serializer is given: every key it may verify with, the signing one last."""
    return [*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]]


def csp_nonce() -> str:
    # Kept on the request, not on `g`: an app context can outlive one request (tests, CLI).
    return request.environ.setdefault("portal.csp_nonce", secrets.token_urlsafe(16))


def refuse_nul_bytes() -> Response | None:
    """No address or query of ours holds a NUL, and PostgreSQL refuses one in any string: a 400
    here, before a view passes it to a query and the database turns it into a 500."""
    where = next((name for name, value in request.args.items(multi=True) if "\x00" in value), None)
    if where is None and "\x00" not in request.path:
        return None
    if request.path.startswith("/api/"):
        where = where or "path"
        return problem(400, f"{where} chứa ký tự NUL, không hợp lệ.", f"{where} contains a NUL byte.")
    abort(400)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.before_request(refuse_nul_bytes)

    @app.after_request
    def set_headers(response: Response) -> Response:
        # A response that set its own policy keeps it: an uploaded file is sent with a stricter
        # one (portal.files.serving: nothing allowed, sandboxed).
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = CSP.format(nonce=csp_nonce())
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
