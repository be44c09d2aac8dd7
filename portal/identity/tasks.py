"""Old login sessions deleted in the background, on the general queue.

Every row is over within a day (the longest absolute lifetime), but rows are kept
LOGIN_SESSION_RETENTION_DAYS for the account pages and an investigation; after that they are only
a list of who logged in when, which the audit log already keeps.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from huey import crontab

from portal.jobs import huey, with_session


@huey.periodic_task(crontab(minute="23"), name="identity.purge_login_sessions")
def purge_login_sessions() -> int:
    """Rows deleted."""
    from portal.identity import sessions

    def work(session) -> int:
        days = int(current_app.config["LOGIN_SESSION_RETENTION_DAYS"])
        deleted = sessions.purge(session, timedelta(days=days))
        session.commit()
        return deleted

    return with_session(work)
