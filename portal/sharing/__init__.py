"""Share links (issue 17, item 2): a holder shows chosen fields of a personal result to a named recipient."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mail topics and settings checks of the area (filled in as it is built)."""
