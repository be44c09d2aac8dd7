"""Site-wide pages: home and the health check."""

from flask import Blueprint, jsonify, render_template
from sqlalchemy import text

from portal.extensions import db

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    return render_template("main/home.html")


@bp.get("/healthz")
def healthz():
    """For load balancers: the database answers. Search is not checked: pages fall back without it."""
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
