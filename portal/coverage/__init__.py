"""How much of what was issued is digitized, per unit and procedure, and requests to digitize more
(docs/coverage.md)."""

from __future__ import annotations

from flask import Flask

from portal import mail_outbox
from portal.coverage.digitization import MAIL_TOPIC


def init_app(app: Flask) -> None:
    mail_outbox.register(MAIL_TOPIC, "portal.coverage.mails:render_item")
