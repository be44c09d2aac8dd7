"""The server's own copy of anonymous public pages, for as long as a browser may keep them.

`portal.http_cache` decides which responses are public (the same bytes for every anonymous visitor)
and tells browsers and proxies they may reuse them for ``PUBLIC_PAGE_MAX_AGE`` seconds. This module
is that same shared cache inside the portal: a public response is kept for those seconds, and the
next anonymous request for the same address and language is answered from it without running the
view (no search, no database, no template). Nothing is kept that a proxy could not keep already,
so no page lags behind by more than the page's own Cache-Control says.

Served from the copy only when the request carries no cookie but the language one (no session: no
login, no form token), no ``lang`` switch and no API key header (``Authorization``/``X-API-Key``:
a keyed request is counted against its quota and gets its own RateLimit headers, never a copy). Kept in Redis when ``REDIS_URL`` is set (one copy for
every worker), else in each process's memory, at most MEMORY_PAGES pages. ``PUBLIC_PAGE_SERVER_CACHE``
turns it off (False) or on (True); unset, it is on except in tests, where a test that changes data
then reads a page must see the change.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from cachelib import BaseCache, RedisCache, SimpleCache
from flask import Flask, Response, current_app, request

from portal.i18n import select_locale

#: Pages each process keeps when there is no Redis (a search page is about 40 KB: 10 MB at most).
MEMORY_PAGES = 256
_HIT = "portal.page_cache_hit"
_log = logging.getLogger(__name__)
_EXTENSION = "portal_page_cache"


def enabled(app: Flask) -> bool:
    setting = app.config.get("PUBLIC_PAGE_SERVER_CACHE")
    on = not app.testing if setting is None else bool(setting)
    return on and int(app.config["PUBLIC_PAGE_MAX_AGE"]) > 0


def _store() -> BaseCache | None:
    return current_app.extensions.get(_EXTENSION)


def _key() -> str | None:
    """The copy this request may be answered with; None when it must not be (see module docstring)."""
    if request.method not in ("GET", "HEAD") or "lang" in request.args:
        return None
    if set(request.cookies) - {"lang"}:
        return None
    if "Authorization" in request.headers or "X-API-Key" in request.headers:
        return None  # an API key: counted and answered on its own (portal.api_keys.access)
    address = request.full_path.encode("utf-8", "surrogateescape")
    return f"{select_locale()}:{hashlib.sha256(address).hexdigest()}"


def copy() -> Response | None:
    """The kept copy of this page, if there is one (`portal.http_cache` asks, for public pages)."""
    store = _store()
    key = _key() if store is not None else None
    if key is None:
        return None
    try:
        kept: dict[str, Any] | None = store.get(key)
    except Exception:  # noqa: BLE001 - Redis away: the page is made as if nothing were kept
        _log.warning("page cache unavailable", exc_info=True)
        return None
    if kept is None:
        return None
    request.environ[_HIT] = True
    response = Response(kept["body"], mimetype=kept["mimetype"])
    response.set_etag(kept["etag"])
    return response


def keep(response: Response) -> None:
    """Keep a response `portal.http_cache` found public (called by it, once it set the ETag)."""
    store = _store()
    if store is None or request.environ.get(_HIT):
        return
    key = _key()
    etag, _weak = response.get_etag()
    if key is None or etag is None:
        return
    try:
        store.set(key, {"body": response.get_data(), "mimetype": response.mimetype, "etag": etag},
                  timeout=int(current_app.config["PUBLIC_PAGE_MAX_AGE"]))
    except Exception:  # noqa: BLE001 - Redis away: the page was served, only not kept
        _log.warning("page cache unavailable", exc_info=True)


def init_app(app: Flask) -> None:
    if not enabled(app):
        return
    timeout = int(app.config["PUBLIC_PAGE_MAX_AGE"])
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        import redis

        # Short timeouts: a Redis that does not answer (another host, packets dropped) costs a page
        # half a second, never a hung worker.
        client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        store: BaseCache = RedisCache(host=client, key_prefix="portal:page:",
                                      default_timeout=timeout)
    else:
        store = SimpleCache(threshold=MEMORY_PAGES, default_timeout=timeout)
    app.extensions[_EXTENSION] = store
