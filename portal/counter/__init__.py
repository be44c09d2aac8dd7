"""Assisted mode at the one-stop counter (issue 17, item 3): a clerk acts for a consenting person.

models.py (the sessions), services.py (open, consent by code or signed form, what the session
reaches, end), mails.py (topic "email.counter": the code, the summary), tasks.py (closing expired
sessions, every minute), forms.py, staff_views.py (/staff/counter/...). Clerks: docs/staff.md;
people: docs/citizens.md.
"""

from __future__ import annotations

from flask import Flask

from portal import mail_outbox
from portal.counter.services import TOPIC


def init_app(app: Flask) -> None:
    """The mail topic, and the settings checked at boot."""
    for name in ("COUNTER_SESSION_MINUTES", "COUNTER_CODE_MINUTES", "COUNTER_CODE_MAX_ATTEMPTS",
                 "COUNTER_CODE_MAX_SENDS", "COUNTER_CONSENT_MAX_BYTES"):  # defaults: portal/config.py
        value = app.config.get(name)
        if not isinstance(value, int) or value < 1:
            raise RuntimeError(f"{name}={value!r}: expected a whole number, at least 1")
    mail_outbox.register(TOPIC, "portal.counter.mails:render_item")
