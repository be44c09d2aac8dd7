"""Assisted mode at the one-stop counter (issue 17, item 3): a clerk acts for a consenting person."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mail topics and settings checks of the area (filled in as it is built)."""
