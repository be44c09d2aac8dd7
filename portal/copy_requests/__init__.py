"""Copies of digitized results: requests from citizens and businesses, processed by the one-stop shop."""

from __future__ import annotations

from flask import Flask

from portal import mail_outbox
from portal.copy_requests.notifications import TOPIC


def init_app(app: Flask) -> None:
    mail_outbox.register(TOPIC, "portal.copy_requests.mails:render_item")
