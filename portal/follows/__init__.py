"""Following results (issue 17, item 1): a holder follows a result and is mailed 60, 30 and 7 days
before it ends, when its status changes, when it is corrected and when a replacing result arrives.

models.py (follows, notices queued), services.py (who may follow what; follow, list, unfollow),
events.py (what is due, queued once), mails.py (topic "email.follow"), links.py (signed unfollow
link, national catalogue address), tasks.py (the daily job), views.py (/my/follows, the follow
form, the unfollow page of the mails). Citizens: docs/citizens.md.
"""

from __future__ import annotations

from flask import Flask

from portal import mail_outbox
from portal.follows.mails import TOPIC


def init_app(app: Flask) -> None:
    from portal.follows.tasks import reminder_days

    try:  # refuse a bad setting at boot, not in the worker's first morning
        days = reminder_days(app.config)
    except (TypeError, ValueError):
        days = []
    if not days or min(days) < 1:
        setting = app.config["FOLLOW_REMINDER_DAYS"]
        raise RuntimeError(f"FOLLOW_REMINDER_DAYS={setting!r}: expected whole numbers "
                           "of days, at least 1, comma-separated (60,30,7)")
    mail_outbox.register(TOPIC, "portal.follows.mails:render_item")
