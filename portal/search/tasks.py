"""Background search work on huey: apply the outbox after commits, refresh expiring results daily.

Call `nudge()` after committing a change that added "search.*" outbox rows; the periodic drain
catches anything a lost nudge missed. Index writes take one lock: tantivy allows a single writer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import has_app_context
from huey import crontab

from portal.jobs import app_context, huey

log = logging.getLogger(__name__)


@huey.task(retries=3, retry_delay=10, name="search.drain")
@huey.lock_task("search-index-writer")
def drain_search_outbox() -> int:
    from portal.search.indexing import drain_outbox

    return _with_session(drain_outbox)


@huey.periodic_task(crontab(minute="*/5"), name="search.drain.periodic")
def drain_periodically() -> None:
    drain_search_outbox()


@huey.periodic_task(crontab(hour="0", minute="15"), name="search.refresh_expired")
@huey.lock_task("search-index-writer")
def refresh_expired_daily() -> int:
    """A valid result whose end date passed shows as expired: re-index those documents."""
    from portal.search.indexing import refresh_expired

    return _with_session(refresh_expired)


def _with_session(work: Callable[[Any], int]) -> int:
    from portal.extensions import db

    inline = has_app_context()  # run inline by a request or command: its session is not ours to close
    with app_context():
        try:
            return work(db.session)
        finally:
            if not inline:
                db.session.remove()


def nudge() -> None:
    """Ask for the outbox to be applied now (inline when huey is immediate, as in tests)."""
    try:
        drain_search_outbox()
    except Exception:  # the periodic drain will apply it; a failed nudge must not fail the request
        log.exception("search outbox nudge failed; the periodic drain will retry")
