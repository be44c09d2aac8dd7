"""Unit pages: today's communes and wards, and the old units that live on in them since 1 July 2025.

Old URLs keep working: an old unit's page redirects (301) to its successor when there is exactly
one; `/units/legacy/<slug>` and `/don-vi/<slug>` are the old shapes. A legacy slug that is also a
current slug ("phuong-nghia-do" existed before and after) means the current unit on `/units/<slug>`;
the old one stays reachable at `/units/legacy/<slug>`.
"""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from portal import clock
from portal.extensions import db
from portal.records import services as records
from portal.units import services
from portal.units.models import AdminUnit, UnitLevel, UnitSystem

bp = Blueprint("units", __name__)

#: Deep pages cost a count and an offset; nobody reads page 500 of a commune.
MAX_PAGE = 500


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdecimal() and 1 <= int(raw) <= MAX_PAGE else 1


@bp.app_template_global()
def unit_url(unit: AdminUnit) -> str:
    """Where a unit's name links to: its page (an old unit's own page, which may redirect onwards)."""
    if unit.level == UnitLevel.PROVINCE:
        endpoint = "units.index"
    else:
        endpoint = "units.detail" if unit.system == UnitSystem.CURRENT else "units.legacy"
    return _unit_path(request.script_root, endpoint, unit.slug)


@lru_cache(maxsize=8192)
def _unit_path(script_root: str, endpoint: str, slug: str) -> str:
    # A search page names ~100 units (old ones with their successors): url_for costs ~6 µs each,
    # and a unit's address depends only on these three.
    return url_for(endpoint) if endpoint == "units.index" else url_for(endpoint, slug=slug)


@bp.get("/units")
def index():
    units = services.list_current_communes(db.session)
    counts = records.count_public_results(db.session)
    groups: dict[str, list[AdminUnit]] = {}
    for unit in units:
        groups.setdefault(unit.division_type, []).append(unit)
    return render_template("units/index.html", groups=groups, counts=counts, total=len(units))


@bp.get("/units/<slug>")
def detail(slug: str):
    unit = services.find_current_unit(db.session, slug)
    if unit is None:
        return _legacy_page(slug)
    if unit.level == UnitLevel.PROVINCE:
        return redirect(url_for(".index"), 301)
    page = _page_arg()
    results = records.list_unit_results(db.session, unit, page=page,
                                        per_page=current_app.config["SEARCH_PER_PAGE"])
    return render_template("units/detail.html", unit=unit, results=results, today=clock.today(),
                           predecessors=services.list_predecessors(db.session, unit),
                           successors=services.successors)


@bp.get("/units/legacy/<slug>")
def legacy(slug: str):
    return _legacy_page(slug)


@bp.get("/don-vi/<slug>")
def old_url(slug: str):
    """The first portal's unit URLs: a current slug first, like `/units/<slug>`."""
    if services.find_current_unit(db.session, slug) is not None:
        return redirect(url_for(".detail", slug=slug), 301)
    if services.find_legacy_unit(db.session, slug) is None:
        abort(404)
    return redirect(url_for(".legacy", slug=slug), 301)


def _legacy_page(slug: str):
    unit = services.find_legacy_unit(db.session, slug)
    if unit is None:
        abort(404)
    links = services.successors(unit)
    if len(links) == 1:  # moved for good: browsers and search engines follow the new address
        return redirect(unit_url(links[0].new_unit), 301)
    page = _page_arg()
    results = records.list_unit_results(db.session, unit, page=page,
                                        per_page=current_app.config["SEARCH_PER_PAGE"])
    return render_template("units/legacy.html", unit=unit, links=links, results=results,
                           today=clock.today(), successors=services.successors)
