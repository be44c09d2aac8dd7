"""E-mails about feedback (a report's outcome, a petition received or answered), through the outbox.

A service calls ``queue(session, "report", "corrected", report.id)`` in its transaction; the mail
drain (portal/mail_outbox.py, topic "email.feedback") later calls `render_item`, which hands the
item to the renderer of its area (``AREAS``). A renderer builds the message with `compose`, from
``templates/mail/<template>.txt`` and ``.html``, in Vietnamese. The view commits with
`portal.outbox.commit`, which nudges the drain so the worker sends it at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy.orm import Session
from werkzeug.utils import import_string

from portal import mail, outbox

TOPIC = "email.feedback"

#: Area → "module:function" f(session, what, object_id, payload, now) → EmailMessage | None.
AREAS = {
    "report": "portal.feedback.reports:render_mail",
    "petition": "portal.feedback.petition_mails:render_mail",
}


def queue(session: Session, area: str, what: str, object_id: int, payload: dict | None = None) -> None:
    """Queue the mail ``what`` ("corrected", "answered"…) about object ``object_id`` of ``area``."""
    if area not in AREAS:
        raise ValueError(f"unknown mail area {area!r}")
    outbox.add(session, TOPIC, f"{area}:{what}:{object_id}", payload)


def render_item(session: Session, key: str, payload: dict[str, Any], now: datetime) -> EmailMessage | None:
    area, _, rest = key.partition(":")
    what, _, object_id = rest.partition(":")
    if area not in AREAS or not object_id.isdecimal():
        return None
    return import_string(AREAS[area])(session, what, int(object_id), payload, now)


def compose(to: str, template: str, subject: str, context: Mapping[str, Any], *, message_id_key: str,
            now: datetime) -> EmailMessage:
    """The message from ``templates/mail/<template>.txt/.html``; ``message_id_key`` makes its
    Message-ID stable (a duplicate after a crash is folded by mail clients). Raises ValueError for
    an unusable address."""
    config = current_app.config
    with force_locale("vi"):
        text = render_template(f"mail/{template}.txt", subject=subject, **context)
        html = render_template(f"mail/{template}.html", subject=subject, **context)
    message_id = f"<{message_id_key}@{mail.sender_domain(config)}>"
    return mail.build_message(to, subject, text.strip() + "\n", html, config=config, now=now,
                              message_id=message_id)

