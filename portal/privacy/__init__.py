"""Personal-data rights (issue 17, item 4): export, correction, objection and restriction, retention."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mail topics and settings checks of the area (filled in as it is built)."""
