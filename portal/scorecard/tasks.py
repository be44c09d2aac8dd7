"""The scorecard's figures counted again in the background, on the general queue.

The task runs every minute and counts only when the oldest snapshot is SCORECARD_REFRESH_MINUTES
old (`snapshots.refresh_if_due`): the interval is then the app's setting, read where the task
runs, rather than a crontab fixed when the worker imports this module. Two workers that count at
once write the same figures (the snapshots are upserted), so no lock: a killed worker would leave
a huey lock set and stop the counting.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from huey import crontab

from portal.db import utcnow
from portal.jobs import huey, with_session


@huey.periodic_task(crontab(minute="*"), name="scorecard.refresh")
def refresh_when_due() -> int:
    """Scorecards counted (0 when the snapshots are fresh enough)."""
    from portal.scorecard import snapshots

    def work(session) -> int:
        every = timedelta(minutes=current_app.config["SCORECARD_REFRESH_MINUTES"])
        report = snapshots.refresh_if_due(session, utcnow(), every)
        session.commit()
        return report.scorecards if report else 0

    return with_session(work)
