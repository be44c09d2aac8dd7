"""Share links (issue 17, item 2): a holder shows chosen fields of a personal result to a named recipient.

models.py (ShareLink), services.py (who may share what; make, list, revoke, open, the verification
code), links.py (the link's address, scan tickets), forms.py, views.py (the holder's form and list,
the recipient's page /s/<token>), api_views.py (GET /api/v1/shares/{token}). Citizens: docs/citizens.md.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Refuse a bad SHARE_MAX_DAYS at boot."""
    try:
        days = int(app.config["SHARE_MAX_DAYS"])
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 90:
        raise RuntimeError(f"SHARE_MAX_DAYS={app.config['SHARE_MAX_DAYS']!r}: expected a whole number "
                           "of days from 1 to 90")
