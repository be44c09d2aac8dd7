"""Routes of the area (see __init__.py)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("counter", __name__)
