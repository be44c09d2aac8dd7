"""Site-wide pages (home, health check) and the template helpers every page uses."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import format_decimal
from sqlalchemy import text

from portal import clock
from portal.extensions import db
from portal.records import services as records

bp = Blueprint("main", __name__)

#: Searches offered on the home page: written as people type them, without tone marks too.
EXAMPLE_SEARCHES = ("giay phep xay dung cau giay", "đăng ký hộ kinh doanh", "123/GPXD")


@bp.get("/")
def home():
    return render_template("main/home.html", counts=records.portal_counts(db.session),
                           examples=EXAMPLE_SEARCHES)


@bp.get("/healthz")
def healthz():
    """For load balancers: the database answers. Search is not checked: pages fall back without it."""
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


@bp.app_template_filter("dmy")
def dmy(value: date | datetime | None) -> str:
    """dd/mm/yyyy in every language: the form printed on Vietnamese documents."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = clock.in_hanoi(value) if value.tzinfo else value
    return value.strftime("%d/%m/%Y")


@bp.app_template_filter("hm")
def hm(value: datetime) -> str:
    return clock.in_hanoi(value).strftime("%H:%M") if value.tzinfo else value.strftime("%H:%M")


@bp.app_template_global()
def number(value: int) -> str:
    """1.234 in Vietnamese, 1,234 in English."""
    return format_decimal(value)


@bp.app_template_global()
def lang_url(code: str) -> str:
    """This very page (path and query) in another language."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"] + [("lang", code)]
    return f"{request.path}?{urlencode(args)}"


@bp.app_context_processor
def languages():
    return {"languages": current_app.config["LANGUAGES"]}
