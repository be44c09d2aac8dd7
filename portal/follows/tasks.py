"""The daily follow job, on the general queue: every morning in Hanoi, queue the mails of what is
due (`events.queue_due`). A missed morning loses nothing: thresholds are "within N days", and the
next run finds whatever is still unsent. Running it twice sends nothing twice (the notices'
unique constraint), so there is no lock for a killed worker to leave behind."""

from __future__ import annotations

from flask import current_app
from huey import crontab

from portal import clock
from portal.jobs import huey, with_session

#: 01:00 UTC is 08:00 in Hanoi: reminders arrive at the start of the working day.
DAILY = crontab(hour="1", minute="0")


def reminder_days(config) -> list[int]:
    """FOLLOW_REMINDER_DAYS as numbers, largest first: "60,30,7" (the environment), a list, or one
    number (PORTAL_FOLLOW_REMINDER_DAYS=30 arrives as an int, read as JSON). Raises ValueError."""
    value = config["FOLLOW_REMINDER_DAYS"]
    if isinstance(value, int):
        value = [value]
    items = value.split(",") if isinstance(value, str) else value
    return sorted({int(item) for item in items if str(item).strip()}, reverse=True)


@huey.periodic_task(DAILY, name="follows.daily")
def send_follow_notices() -> int:
    """Mails queued."""
    from portal.follows.events import queue_due

    return with_session(lambda session: queue_due(session, clock.today(),
                                                  reminder_days(current_app.config)))
