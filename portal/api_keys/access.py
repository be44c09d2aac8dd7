"""`api_access`: who may call an API view, and how often. Apply it under the route:

    @bp.get("/api/v1/search")
    @api_access()                       # public: anonymous at API_ANONYMOUS_RATE_LIMIT, or any key
    def search(): ...

    @bp.post("/api/v1/status/batch")
    @api_access("status:batch")         # a key with this scope is required
    def batch(): ...

- A key (``Authorization: Bearer hnp_…`` or ``X-API-Key: hnp_…``) that is unknown, malformed,
  revoked or rotated away → 401; a valid key without the scope → 403. A valid key is counted
  against its daily quota (per Hanoi day, in Redis or the database: every worker sees one count,
  portal/api_keys/quota.py); over it
  → 429 with ``Retry-After`` (seconds to Hanoi midnight). The key is in ``g.api_key``.
- No key: allowed only where no scope is asked, counted per client address by Flask-Limiter's
  storage and strategy (Redis or the database, as the forms' limits), limit
  ``API_ANONYMOUS_RATE_LIMIT``; over it → 429 with ``Retry-After``.
- Every answer carries ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` (IETF
  draft "RateLimit header fields for HTTP": reset in seconds); refusals are JSON
  RFC 9457 problem details (`portal.openapi.problem`) like the other /api/ errors, with their
  ``WWW-Authenticate`` / ``Retry-After`` / ``RateLimit-*`` headers.
- Answers vary on ``Authorization`` and ``X-API-Key``, and a request carrying either is never
  answered from, nor kept in, the public page cache (portal/page_cache.py, portal/http_cache.py):
  its count and quota headers are its own.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from functools import wraps

from flask import Response, current_app, g, make_response, request
from limits import parse_many

from portal.api_keys import quota, service
from portal.extensions import db
from portal.openapi import problem
from portal.rate_limits import limiter

log = logging.getLogger(__name__)


#: The headers a key travels in: answers vary on them, the page cache never serves or keeps them.
KEY_HEADERS = ("Authorization", "X-API-Key")


def carries_key() -> bool:
    """True when the request presents a key (or tries to): its answer is its own."""
    return any(name in request.headers for name in KEY_HEADERS)


def presented_key() -> str | None:
    """The key the request carries, if any ("" when a header is there but empty: still a try)."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _sep, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip()
    return request.headers.get("X-API-Key")


def _headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(max(0, remaining)),
            "RateLimit-Reset": str(max(0, reset))}


def _refuse(status: int, vi: str | None, en: str | None, headers: dict[str, str] | None = None):
    response = problem(status, vi, en)
    response.vary.update(KEY_HEADERS)
    response.headers.update(headers or {})
    return response


def _anonymous_check() -> tuple[bool, dict[str, str]]:
    """Hit every anonymous limit for this address; the tightest one speaks in the headers."""
    address = request.remote_addr or "unknown"
    tightest: tuple[int, int, int] | None = None  # remaining, limit, reset
    allowed = True
    try:
        for item in parse_many(current_app.config["API_ANONYMOUS_RATE_LIMIT"]):
            if not limiter.limiter.hit(item, "api-anonymous", address):
                allowed = False
            reset_at, remaining = limiter.limiter.get_window_stats(item, "api-anonymous", address)
            state = (remaining, item.amount, math.ceil(reset_at - time.time()))
            if tightest is None or state[0] < tightest[0]:
                tightest = state
    except Exception:  # noqa: BLE001 - a counter outage must not take the public API down with it
        log.warning("could not count an anonymous API request; let through", exc_info=True)
        return True, {}
    if tightest is None:
        return True, {}
    remaining, limit, reset = tightest
    return allowed, _headers(limit, remaining, reset)


def _too_many(headers: dict[str, str]) -> Response:
    headers["Retry-After"] = headers.get("RateLimit-Reset", "60")
    return _refuse(429, None, None, headers)  # the standard words, as the limiter's own 429


def _counted(response: Response, headers: dict[str, str]) -> Response:
    response.headers.update(headers)
    response.vary.update(KEY_HEADERS)
    return response


def counted_copy(kept: Response) -> Response:
    """An anonymous answer served from the server's copy (portal/page_cache.py) is counted like
    one the view made: the same per-address limit, the same RateLimit headers, 429 when spent.
    Registered for public API views with `portal.http_cache.gate_copies`."""
    allowed, headers = _anonymous_check()
    return _counted(kept, headers) if allowed else _too_many(headers)


def api_access(scope: str | None = None, *, key_required: bool = False) -> Callable:
    """``scope``: a key with it is required; ``key_required``: any valid key is (a key's own data)."""
    if scope is not None and scope not in service.SCOPES:
        raise ValueError(f"unknown API scope {scope!r}")
    key_required = key_required or scope is not None

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            presented = presented_key()
            g.api_key = None
            if presented is None:
                if key_required:
                    return _refuse(401, f"Cần khóa API có quyền {scope}." if scope else "Cần khóa API.",
                                   f"An API key with the scope {scope} is required." if scope
                                   else "An API key is required.",
                                   {"WWW-Authenticate": 'Bearer realm="api"'})
                allowed, headers = _anonymous_check()
            else:
                key = service.authenticate(db.session, presented)
                if key is None:
                    return _refuse(401, "Khóa API không hợp lệ hoặc đã bị thu hồi.",
                                   "The API key is invalid or has been revoked.",
                                   {"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'})
                if scope is not None and scope not in key.scopes:
                    return _refuse(403, f"Khóa API không có quyền {scope}.",
                                   f"The API key does not have the scope {scope}.")
                check = quota.count_request(db.engine, key)
                allowed, headers = check.allowed, _headers(check.limit, check.remaining, check.reset)
                g.api_key = key
            if not allowed:
                return _too_many(headers)
            return _counted(make_response(view(*args, **kwargs)), headers)

        # Read by portal.openapi.document() (through spectree's wrapper, which copies it): each
        # operation's documented security is the rule applied here, never a second copy of it.
        wrapper.api_access = (key_required, scope or "")
        return wrapper

    return decorate
