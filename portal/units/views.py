"""Unit pages (placeholder until the unit pages land)."""

from flask import Blueprint

bp = Blueprint("units", __name__)
