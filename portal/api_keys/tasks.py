"""The keys' counts copied from Redis into the database every minute, on the general queue
(nothing to do without Redis: the database counts then)."""

from __future__ import annotations

from huey import crontab

from portal.jobs import huey, with_session


@huey.periodic_task(crontab(minute="*"), name="api_keys.flush_usage")
def flush_usage() -> int:
    """Counters copied (0 without Redis)."""
    from portal.api_keys import quota

    return with_session(lambda session: quota.flush_to_database(session.get_bind()))
