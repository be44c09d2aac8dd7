"""HTTP caching of anonymous public pages: ETag, a short public max-age, 304 on If-None-Match.

A page on `PUBLIC_PAGES` is the same for every anonymous visitor, so it gets a strong ETag (a hash
of its body), ``Cache-Control: public, max-age=PUBLIC_PAGE_MAX_AGE`` and ``Vary: Cookie`` (the
language cookie and a login change the page), and a request whose If-None-Match names that ETag
gets an empty 304. For max-age seconds the request itself is saved (browser, proxy), and the server
keeps the page as long too (portal/page_cache.py): the next anonymous visitor gets it without the
view running.

It is never public, and gets ``private, no-store`` instead, when:
- someone is logged in (citizen or staff): the header carries their name, the page may be personal;
- the view already set a Cache-Control (records: personal results and scans are PRIVATE_CACHE);
- the page said it is not for everyone (`cache_privately()` in its template);
- the response sets a cookie, or the session changed in this request (a shared cache must not hand
  one visitor's cookie to the next);
- the body carries the session's CSRF token (a form tied to a session is per session);
- the body carries the request's CSP nonce (a cached body would have a stale nonce; no template
  uses it today);
- the request is not GET/HEAD, or the status is not 200.

The hook is registered before the other areas' hooks, so it runs after them (Flask runs
after_request functions in reverse order) and sees the cookies they set.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, current_app, g, request, session
from flask_login import current_user

from portal import page_cache

#: Endpoints whose anonymous 200 pages are the same for everyone (each still checked as above).
PUBLIC_PAGES = frozenset({
    "main.home",
    "records.search",
    "search_api.search",  # the same answers as JSON; personal or degraded ones mark themselves private
    "records.detail",  # a personal or restricted result marks itself private
    "records.page_view",  # a scan of a non-public result is PRIVATE_CACHE in the view
    "units.index",
    "units.detail",
    "units.legacy",
    "coverage.unit",  # counts only, the same for everyone
    "coverage.legacy_unit",
    "petitions.answers",
    "petitions.answer",
    "scorecard.city",
    "scorecard.unit",  # and its .csv
    "scorecard.city_csv",
})

#: What every response that must not be kept outside the reader's browser session carries.
PRIVATE = "private, no-store"

_PRIVATE_MARK = "portal.cache_privately"
_COPY_GATES = "portal.copy_gates"


def cache_privately() -> str:
    """Mark this response as not for everyone (a template global; renders nothing)."""
    request.environ[_PRIVATE_MARK] = True
    return ""


def _sets_cookie(response: Response) -> bool:
    if "Set-Cookie" in response.headers or session.modified:
        return True
    app = current_app._get_current_object()
    return bool(session) and app.session_interface.should_set_cookie(app, session)


def _carries(body: bytes, secret: str | None) -> bool:
    return bool(secret) and secret.encode() in body


def _is_public(response: Response) -> bool:
    if current_user.is_authenticated or request.environ.get(_PRIVATE_MARK) or _sets_cookie(response):
        return False
    if "Authorization" in request.headers or "X-API-Key" in request.headers:
        return False  # an API key's answer (its quota headers) is its own: no shared copy
    body = response.get_data()
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return not (_carries(body, g.get(field)) or _carries(body, request.environ.get("portal.csp_nonce")))


def cache_public_page(response: Response) -> Response:
    if (request.endpoint not in PUBLIC_PAGES or request.method not in ("GET", "HEAD")
            or response.status_code != 200 or response.direct_passthrough
            or "Cache-Control" in response.headers):
        return response
    if not _is_public(response):
        response.headers["Cache-Control"] = PRIVATE
        return response
    response.add_etag()
    response.cache_control.public = True
    response.cache_control.max_age = int(current_app.config["PUBLIC_PAGE_MAX_AGE"])
    response.vary.add("Cookie")
    page_cache.keep(response)
    return response.make_conditional(request)


def gate_copies(app: Flask, endpoint: str, gate: Callable[[Response], Response]) -> None:
    """Pass every kept copy of ``endpoint`` through ``gate`` before it is served.

    An API answer kept for anonymous callers is still counted against the caller's address and
    carries that caller's RateLimit headers (portal.api_keys.access.counted_copy), so the server's
    copy never becomes a way around the anonymous limit.
    """
    app.extensions.setdefault(_COPY_GATES, {})[endpoint] = gate


def answer_from_copy() -> Response | None:
    """Before the view: a public page the server kept (portal/page_cache.py) answers at once."""
    if request.endpoint not in PUBLIC_PAGES:
        return None
    kept = page_cache.copy()
    gate = current_app.extensions.get(_COPY_GATES, {}).get(request.endpoint)
    return gate(kept) if kept is not None and gate is not None else kept


def init_app(app: Flask) -> None:
    app.jinja_env.globals["cache_privately"] = cache_privately
    app.after_request(cache_public_page)
    page_cache.init_app(app)
    if page_cache.enabled(app):
        app.before_request(answer_from_copy)  # first registered: runs before any other hook
