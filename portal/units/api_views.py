"""API: administrative units (old and current, with successors) and procedures, paged, for pickers.

Reference data, the same for every caller and changed a few times a year: answers are
``Cache-Control: public, max-age=3600`` with an ETag, and ``private`` when the request carries a key
(its RateLimit-* headers are its own; portal.api_keys.access adds Vary on the key headers). They are
not on http_cache.PUBLIC_PAGES: the server keeps no copy, the views cost three statements a page.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request, url_for

from portal.api_keys.access import api_access
from portal.extensions import db
from portal.openapi import problem, responses, spec
from portal.paging import page_links
from portal.procedures import services as procedures
from portal.procedures.models import Procedure
from portal.units import services as units
from portal.units.api_schemas import (
    DEFAULT_PER_PAGE,
    LEVELS,
    MAX_PAGE,
    MAX_PER_PAGE,
    PROCEDURE_LEVELS,
    SYSTEMS,
    ProcedureItem,
    ProcedurePage,
    ProceduresQuery,
    UnitItem,
    UnitPage,
    UnitQuery,
    UnitsQuery,
)

bp = Blueprint("units_api", __name__, url_prefix="/api/v1")

MAX_AGE = 3600
_NOT_MODIFIED = {"HTTP_304": "Không đổi so với If-None-Match / unchanged since the ETag sent"}


class _BadParameter(Exception):
    def __init__(self, vi: str, en: str):
        super().__init__(en)
        self.vi, self.en = vi, en


def _int_arg(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdecimal() or not 1 <= int(raw) <= maximum:
        raise _BadParameter(f"{name} phải là số nguyên từ 1 đến {maximum}.",
                            f"{name} must be a whole number from 1 to {maximum}.")
    return int(raw)


def _choice(name: str, allowed: tuple[str, ...], default: str = "") -> str:
    value = request.args.get(name) or default
    if value and value not in allowed:
        raise _BadParameter(f"{name} phải là một trong: {', '.join(allowed)}.",
                            f"{name} must be one of: {', '.join(allowed)}.")
    return value


def _system(default: str = "") -> str:
    system = _choice("system", SYSTEMS, default)
    return "legacy" if system == "old" else system


def _paging() -> tuple[int, int]:
    return _int_arg("page", 1, MAX_PAGE), _int_arg("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)


def _reference(body: dict):
    """A cacheable answer: public for an hour, or private when it carries a key's quota headers."""
    response = jsonify(body)
    audience = "private" if g.api_key is not None else "public"
    response.headers["Cache-Control"] = f"{audience}, max-age={MAX_AGE}"
    response.add_etag()
    return response.make_conditional(request)


def _unit_url(ref: units.UnitRef) -> str:
    return url_for(".get_unit", code=ref.code, system=ref.system)


def _ref_json(ref: units.UnitRef | None) -> dict | None:
    if ref is None:
        return None
    return {"code": ref.code, "name": ref.name, "system": ref.system, "level": ref.level}


def _link_json(link: units.UnitLink) -> dict:
    return {**_ref_json(link.unit), "parent": _ref_json(link.parent), "partial": link.partial,
            "url": _unit_url(link.unit)}


def _unit_json(view: units.UnitView) -> dict:
    return {**_ref_json(view.unit), "division_type": view.division_type, "url": _unit_url(view.unit),
            "parent": _ref_json(view.parent),
            "successors": [_link_json(link) for link in view.successors],
            "predecessors": [_link_json(link) for link in view.predecessors]}


@bp.get("/units")
@spec.validate(query=UnitsQuery, resp=responses(UnitPage, "HTTP_400", "HTTP_401", bodiless=_NOT_MODIFIED,
    ok_description="Một trang đơn vị, cũ và hiện nay / one page of units, old and current"),
    tags=["units"], skip_validation=True, operation_id="listUnits")
@api_access()
def list_units():
    """Đơn vị hành chính / Administrative units

    Đơn vị hiện nay (từ 1/7/2025) và đơn vị cũ, kèm đơn vị cha, đơn vị kế thừa và đơn vị tiền thân, theo
    trang; hiện nay trước, rồi tỉnh, huyện, xã, theo mã / current units (since 1 July 2025) and old ones,
    with parent, successors and predecessors, a page at a time; current first, then province, district,
    commune, by code.
    """
    parent = request.args.get("parent", "")
    try:
        system, level = _system(), _choice("level", LEVELS)
        page, per_page = _paging()
        if parent and not units.is_code_text(parent):
            raise _BadParameter("parent phải là mã đơn vị, tối đa 5 chữ số.",
                                "parent must be a unit code, up to 5 digits.")
    except _BadParameter as error:
        return problem(400, error.vi, error.en)
    found = units.list_units(db.session, system=system or None, level=level or None,
                             parent=parent or None, q=request.args.get("q", "")[:200],
                             page=page, per_page=per_page)
    return _reference({"total": found.total, "page": page, "per_page": per_page, "pages": found.pages,
                       "links": page_links(page, found.pages, tuple(UnitsQuery.model_fields)),
                       "items": [_unit_json(v) for v in found.items]})


@bp.get("/units/<code>")
@spec.validate(query=UnitQuery, resp=responses(UnitItem, "HTTP_400", "HTTP_401", "HTTP_404",
    bodiless=_NOT_MODIFIED, ok_description="Đơn vị, kèm kế thừa và tiền thân / the unit, with successors "
                                           "and predecessors"),
    tags=["units"], skip_validation=True, operation_id="getUnit")
@api_access()
def get_unit(code: str):
    """Một đơn vị hành chính / One administrative unit

    Theo mã như đã lưu ("00070", "002", "01"); mã chỉ duy nhất trong một hệ, nên đơn vị cũ cần
    ?system=legacy / by its code as stored; codes are unique within a system only, so an old unit needs
    ?system=legacy.
    """
    try:
        system = _system("current")
    except _BadParameter as error:
        return problem(400, error.vi, error.en)
    view = units.get_unit_view(db.session, system, code)
    if view is None:
        other = [s for s in units.systems_with_code(db.session, code) if s != system]
        if other:
            return problem(404, f"Không có đơn vị {system} mã {code}; có đơn vị mã này ở ?system={other[0]}.",
                           f"There is no {system} unit {code}; there is one with ?system={other[0]}.")
        return problem(404, "Không có đơn vị mã này.", "There is no unit with this code.")
    return _reference(_unit_json(view))


def _procedure_json(procedure: Procedure) -> dict:
    return {"code": procedure.code, "name": procedure.name, "field": procedure.field,
            "level": procedure.level, "result_doc_type": procedure.result_doc_type,
            "notation": procedure.notation,
            "access": procedure.access, "catalogued": procedure.catalogued,
            "url": url_for(".get_procedure", code=procedure.code)}


@bp.get("/procedures")
@spec.validate(query=ProceduresQuery, resp=responses(ProcedurePage, "HTTP_400", "HTTP_401",
    bodiless=_NOT_MODIFIED, ok_description="Một trang thủ tục / one page of procedures"),
    tags=["procedures"], skip_validation=True, operation_id="listProcedures")
@api_access()
def list_procedures():
    """Thủ tục hành chính / Administrative procedures

    Danh mục thủ tục quốc gia mà kết quả có trên cổng, theo mã, theo trang; lọc theo từ, lĩnh vực, cấp /
    the national procedures whose results the portal holds, by code, a page at a time; filtered by words,
    field, level.
    """
    try:
        level = _choice("level", PROCEDURE_LEVELS)
        page, per_page = _paging()
    except _BadParameter as error:
        return problem(400, error.vi, error.en)
    found = procedures.list_procedures(db.session, q=request.args.get("q", "")[:200],
                                       field=request.args.get("field", "")[:200], level=level,
                                       page=page, per_page=per_page)
    return _reference({"total": found.total, "page": page, "per_page": per_page, "pages": found.pages,
                       "links": page_links(page, found.pages, tuple(ProceduresQuery.model_fields)),
                       "fields": procedures.list_fields(db.session),
                       "items": [_procedure_json(p) for p in found.items]})


@bp.get("/procedures/<code>")
@spec.validate(resp=responses(ProcedureItem, "HTTP_401", "HTTP_404", bodiless=_NOT_MODIFIED,
    ok_description="Thủ tục / the procedure"),
    tags=["procedures"], skip_validation=True, operation_id="getProcedure")
@api_access()
def get_procedure(code: str):
    """Một thủ tục hành chính / One administrative procedure

    Theo mã quốc gia, viết kiểu nào cũng được: "1.001193", "1001193", "2.000123.000.00.00.H26" /
    by national code in any written form.
    """
    procedure = procedures.find_procedure(db.session, code)
    if procedure is None:
        return problem(404, "Không có thủ tục mã này.", "There is no procedure with this code.")
    return _reference(_procedure_json(procedure))
