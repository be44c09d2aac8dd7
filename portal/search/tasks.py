"""Background search work on the index queue: apply the outbox after commits, refresh expiring results.

`portal.outbox.commit` calls `nudge()` after committing a change that added "search.*" outbox
rows; the periodic drain (every minute) and the drain a starting consumer enqueues catch anything
a lost nudge or a killed worker missed. Every task here writes the index, so they all run on
`index_huey`, consumed by one worker: tantivy allows a single writer. No huey lock: a SIGKILLed worker would leave it set and
block the catch-up (tantivy's own lock is freed by the kernel).
"""

from __future__ import annotations

import logging

from huey import crontab

from portal import outbox
from portal.jobs import index_huey, with_session

log = logging.getLogger(__name__)


@index_huey.task(retries=3, retry_delay=10, name="search.drain")
def drain_search_outbox() -> int:
    from portal.search.indexing import drain_outbox

    return with_session(drain_outbox)


@index_huey.periodic_task(crontab(minute="*"), name="search.drain.periodic")
def drain_periodically() -> None:
    drain_search_outbox()


@index_huey.on_startup()
def catch_up_on_start() -> None:
    """A restarted worker applies what a killed one left in the outbox, without waiting a minute."""
    drain_search_outbox()


@index_huey.periodic_task(crontab(hour="0", minute="15"), name="search.refresh_expired")
def refresh_expired_daily() -> int:
    """A valid result whose end date passed shows as expired: re-index those documents."""
    from portal.search.indexing import refresh_expired

    return with_session(refresh_expired)


def nudge() -> None:
    """Ask for the outbox to be applied now (inline when huey is immediate, as in tests)."""
    try:
        drain_search_outbox()
    except Exception:  # the periodic drain will apply it; a failed nudge must not fail the request
        log.exception("search outbox nudge failed; the periodic drain will retry")


outbox.on_commit("search.", nudge)
