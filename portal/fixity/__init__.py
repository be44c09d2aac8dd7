"""Fixity: stored files re-hashed against their recorded sha256 (issue 14, item 5).

portal/files/fixity.py checks a file against its hash and knows only the store; this area knows
which tables record stored files (sources.py), runs audits and keeps their results (services.py,
models.py), mails the admins about bad files (mails.py), and has the entry points:
`flask files audit` (cli.py), the nightly slice (tasks.py) and /staff/admin/fixity
(staff_views.py). Operators: docs/import.md, "Fixity".
"""

from __future__ import annotations

from flask import Flask

from portal import mail_outbox
from portal.fixity.mails import TOPIC


def init_app(app: Flask) -> None:
    mail_outbox.register(TOPIC, "portal.fixity.mails:render_item")
