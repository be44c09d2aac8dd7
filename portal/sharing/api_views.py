"""Routes of the area (see __init__.py)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("share_api", __name__)
