"""API keys for organizations (issue 15, item 3): issued by admins, stored hashed, scoped, with a
daily quota counted per Hanoi day where every worker sees one count: Redis when configured, else
the database (quota.py), kept per day in the database for admins and the key's owner."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from portal.api_keys import quota

    quota.init_app(app)
