"""Headers every API client expects: CORS on public reads, and the retirement dates of a version.

- **CORS** (``Access-Control-Allow-Origin: *``) on GET and HEAD answers under ``/api/v1/``, and on
  their preflights, so another agency's web page can read public data straight from a browser.
  Never credentials: a page elsewhere cannot read anything through a visitor's login, and a key
  does not belong in a browser anyway. POST operations (batch status, uploads, tracking) get no
  CORS header, so a browser on another site cannot call them.
- **Deprecation / Sunset** (RFC 9745, RFC 8594): when a version is to be retired, its answers say
  since when it is deprecated, when it stops, and where the successor is documented. Set through
  ``PORTAL_API_V1_DEPRECATION``, ``PORTAL_API_V1_SUNSET`` (ISO dates) and ``PORTAL_API_V1_SUCCESSOR``
  (a URL); unset today, so nothing is sent. A wrong date refuses to start rather than mislead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask, Response, current_app, request
from werkzeug.http import http_date

#: Versions that can be retired, by path prefix → config key prefix.
VERSIONS = {"/api/v1/": "API_V1"}
READ_METHODS = frozenset({"GET", "HEAD"})
#: What a browser script on another site may send and read.
ALLOW_HEADERS = "Authorization, X-API-Key, If-None-Match, If-Modified-Since, X-Request-ID"
EXPOSE_HEADERS = ("ETag, Last-Modified, Link, Retry-After, RateLimit-Limit, RateLimit-Remaining, "
                  "RateLimit-Reset, X-Request-ID, Deprecation, Sunset")
PREFLIGHT_MAX_AGE = 86400


def _version_of(path: str) -> str | None:
    return next((key for prefix, key in VERSIONS.items() if path.startswith(prefix)), None)


def _read_dates(config, key: str) -> tuple[date | None, date | None]:
    """The deprecation and sunset dates of a version, checked (raises ValueError when wrong)."""
    found = []
    for name in ("DEPRECATION", "SUNSET"):
        raw = str(config.get(f"{key}_{name}") or "").strip()
        found.append(date.fromisoformat(raw) if raw else None)
    deprecation, sunset = found
    if deprecation and sunset and sunset < deprecation:
        raise ValueError(f"PORTAL_{key}_SUNSET ({sunset}) is before PORTAL_{key}_DEPRECATION ({deprecation})")
    return deprecation, sunset


def _retirement_headers(response: Response, key: str) -> None:
    deprecation, sunset = current_app.extensions["api_retirement"][key]
    successor = current_app.config.get(f"{key}_SUCCESSOR") or ""
    if deprecation:
        midnight = datetime.combine(deprecation, datetime.min.time(), UTC)
        response.headers["Deprecation"] = f"@{int(midnight.timestamp())}"  # RFC 9745: a Unix time
        if successor:
            response.headers.add("Link", f'<{successor}>; rel="deprecation"')
    if sunset:
        response.headers["Sunset"] = http_date(datetime.combine(sunset, datetime.min.time(), UTC))
        if successor:
            response.headers.add("Link", f'<{successor}>; rel="sunset"')


def _add_headers(response: Response) -> Response:
    key = _version_of(request.path)
    if key is None:
        return response
    _retirement_headers(response, key)
    preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
    if request.method in READ_METHODS or preflight:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    if preflight:
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD"
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


def init_app(app: Flask) -> None:
    retirement = {}
    for key in VERSIONS.values():
        try:
            retirement[key] = _read_dates(app.config, key)
        except ValueError as error:
            raise RuntimeError(f"API retirement dates: {error}; refusing to start.") from error
    app.extensions["api_retirement"] = retirement
    app.after_request(_add_headers)
