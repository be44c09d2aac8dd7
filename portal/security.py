"""Security headers on every response; the CSP carries a per-request nonce for inline scripts."""

from __future__ import annotations

import secrets

from flask import Flask, Response, request

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


def csp_nonce() -> str:
    # Kept on the request, not on `g`: an app context can outlive one request (tests, CLI).
    return request.environ.setdefault("portal.csp_nonce", secrets.token_urlsafe(16))


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def set_headers(response: Response) -> Response:
        # A response that set its own policy keeps it: an uploaded file is sent with a stricter
        # one (portal.files.serving: nothing allowed, sandboxed).
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = CSP.format(nonce=csp_nonce())
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
