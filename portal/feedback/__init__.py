"""Feedback: ratings of copy requests, problem reports and corrections, petitions (docs/feedback.md)."""

from __future__ import annotations

from flask import Flask

from portal import mail_outbox
from portal.feedback.mails import TOPIC


def init_app(app: Flask) -> None:
    mail_outbox.register(TOPIC, "portal.feedback.mails:render_item")
