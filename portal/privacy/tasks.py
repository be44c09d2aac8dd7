"""Background tasks of the area, on the general queue (portal.jobs.huey): the daily retention job
(`retention.run`). Running it twice removes nothing twice: each pass only finds what is still
older than its period."""

from __future__ import annotations

from flask import current_app
from huey import crontab

from portal import clock
from portal.jobs import huey, with_session

#: 19:30 UTC is 02:30 in Hanoi: a quiet hour, after the fixity slice of the night.
DAILY = crontab(hour="19", minute="30")


@huey.periodic_task(DAILY, name="privacy.retention")
def enforce_retention() -> dict:
    """The counts of the run (retention.RetentionReport as a dict)."""
    from dataclasses import asdict

    from portal.privacy import retention

    return with_session(lambda session: asdict(retention.run(session, current_app.config, clock.now())))
