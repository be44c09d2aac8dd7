"""The nightly fixity slice, on the general queue.

The task wakes every ten minutes and audits only when the night's slice is due
(`services.nightly_due`: from FIXITY_HOUR, Hanoi time, once per Hanoi day): the hour is the app's
setting, read where the task runs, and a worker that was down at that hour catches up. The run's
row is committed when it starts, so the next wake-up, while a long slice still runs, finds the
day's slice begun and does nothing. No huey lock: a killed worker would leave it set.
"""

from __future__ import annotations

from flask import current_app
from huey import crontab

from portal.db import utcnow
from portal.jobs import huey, with_session


@huey.periodic_task(crontab(minute="*/10"), name="fixity.nightly")
def nightly_slice() -> int:
    """Files checked (0 when the slice is not due)."""
    from portal.files.store import FileStore
    from portal.fixity import services

    def work(session) -> int:
        config = current_app.config
        if not services.nightly_due(session, utcnow(), int(config["FIXITY_HOUR"])):
            session.rollback()
            return 0
        run = services.audit_files(session, FileStore.from_config(config), actor="system", trigger="nightly",
                                   nightly_cycle_days=int(config["FIXITY_CYCLE_DAYS"]),
                                   admin_emails=config["ADMIN_EMAILS"])
        return run.checked

    return with_session(work)
