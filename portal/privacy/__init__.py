"""Personal-data rights (issue 17, item 4; Law 91/2025/QH15 on personal data protection and Decree
356/2025/ND-CP): a person downloads everything the portal holds about them (JSON and PDF), asks
for a correction (a problem-report case), objects to or asks to restrict optional processing;
staff answer within the deadlines kept in data; retention periods are enforced daily.

models.py (rights requests), deadlines.py + data/deadlines.json (deadlines and their legal basis),
services.py (requests, staff answers), export.py (the sections of the download), pdf.py (its
readable copy), mails.py (topic "email.privacy"), retention.py + tasks.py (the daily job),
views.py (/my/data, /privacy), staff_views.py (/staff/privacy). Docs: docs/privacy.md,
docs/citizens.md.
"""

from __future__ import annotations

from flask import Flask

from portal import mail_outbox
from portal.privacy.mails import TOPIC


def init_app(app: Flask) -> None:
    from portal.privacy.deadlines import load
    from portal.privacy.retention import check_settings

    check_settings(app.config)  # refuse a bad setting at boot, not in the worker's first night
    try:
        load(app.config.get("PRIVACY_DEADLINES_FILE") or None)
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise RuntimeError(f"PRIVACY_DEADLINES_FILE: {error}") from error
    mail_outbox.register(TOPIC, "portal.privacy.mails:render_item")
