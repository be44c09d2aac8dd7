"""JSON search API: the same search as the pages, public fields only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from portal import clock
from portal.api_keys.access import api_access, counted_copy
from portal.db import commit_read
from portal.extensions import db
from portal.http_cache import cache_privately, gate_copies
from portal.identity.citizens import reading_actor
from portal.openapi import document, problem, responses, schema_label, short_name, spec
from portal.paging import page_links
from portal.records.access_log import record_access
from portal.records.models import Access, Record
from portal.records.queries import RecordHit
from portal.search import identifiers
from portal.search.api_schemas import (
    MAX_PER_PAGE,
    ResultAnswer,
    SearchAnswer,
    SearchQuery,
    SuggestAnswer,
    SuggestQuery,
)
from portal.search.port import FACETS, MAX_HITS, SORTS
from portal.search.service import search_records
from portal.units.services import successors

bp = Blueprint("search_api", __name__, url_prefix="/api/v1")
# The search answer is kept for anonymous callers (http_cache.PUBLIC_PAGES); a kept copy still counts.
bp.record_once(lambda state: gate_copies(state.app, "search_api.search", counted_copy))
#: The parameters a page link keeps.
SEARCH_PARAMETERS = tuple(SearchQuery.model_fields)
#: /api/docs: the reference page, outside the versioned prefix (one page describes each version).
docs_bp = Blueprint("api_docs", __name__)

#: Query parameter → service filter.
FILTER_PARAMS = {"status": "status", "procedure": "procedure_code", "procedure_code": "procedure_code",
                 "unit": "unit", "current_unit": "current_unit", "year": "year"}


def _bad_request(vi: str, en: str):
    return problem(400, vi, en)


@bp.get("/openapi.json")
def openapi():
    """The contract of version 1 (OpenAPI 3.1), derived from portal.search.api_schemas."""
    return jsonify(document())


def _int_arg(name: str, default: int, maximum: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdecimal() or not 1 <= int(raw) <= maximum:
        return None
    return int(raw)


@docs_bp.get("/api/docs")
def reference():
    """The document as a server-rendered page: no script, readable without JavaScript, CSP unchanged."""
    contract = document()
    schemas = {short_name(name): schema
               for name, schema in contract["components"]["schemas"].items()
               if not short_name(name).endswith("Query")}  # query models are shown as parameters
    return render_template("api/docs.html", contract=contract, schemas=schemas, label=schema_label)


@bp.get("/search")
@spec.validate(query=SearchQuery, resp=responses(SearchAnswer, "HTTP_400", "HTTP_401", ok_description=(
    "Kết quả tìm kiếm, chỉ các trường công khai / search results, public fields only")),
    tags=["search"], skip_validation=True, operation_id="search")
@api_access()
def search():
    """Tìm kết quả / Search results

    Cùng bộ máy, bộ lọc và thống kê như trang tìm kiếm / the same engine, filters and facets as the page.
    """
    per_page = _int_arg("per_page", current_app.config["SEARCH_PER_PAGE"], MAX_PER_PAGE)
    if per_page is None:
        return _bad_request(f"per_page phải là số nguyên từ 1 đến {MAX_PER_PAGE}.",
                            f"per_page must be a whole number from 1 to {MAX_PER_PAGE}.")
    # No engine pages past MAX_HITS hits (port.MAX_HITS): the last page depends on per_page.
    max_page = MAX_HITS // per_page
    page = _int_arg("page", 1, max_page)
    if page is None:
        return _bad_request(f"Số trang phải là số nguyên từ 1 đến {max_page}.",
                            f"page must be a whole number from 1 to {max_page}.")
    sort = request.args.get("sort") or "relevance"
    if sort not in SORTS:
        return _bad_request(f"sort phải là một trong: {', '.join(SORTS)}.",
                            f"sort must be one of: {', '.join(SORTS)}.")
    filters = {FILTER_PARAMS[k]: v for k, v in request.args.items() if k in FILTER_PARAMS and v}
    if "year" in filters and not (filters["year"].isdecimal() and len(filters["year"]) == 4):
        return _bad_request("Năm phải gồm 4 chữ số.", "year must be 4 digits.")
    # Facets are counted over every hit (at a million results, +15-20 ms a search): only on request.
    asked = request.args.get("facets", "")
    facets = FACETS if asked == "all" else tuple(dict.fromkeys(n for n in asked.split(",") if n))
    if set(facets) - set(FACETS):
        return _bad_request(f"facets là 'all' hoặc danh sách trong: {', '.join(FACETS)}.",
                            f"facets must be 'all' or a comma-separated list of: {', '.join(FACETS)}.")
    text = request.args.get("q", "")[:200]
    today = clock.today()
    results = search_records(db.session, text, filters=filters, page=page, per_page=per_page, today=today,
                             sort=sort, facets=facets, actor=reading_actor(), channel="api")
    commit_read(db.session)  # access log entries of personal results among the hits
    if (results.degraded or identifiers.is_private(identifiers.classify(text))
            or any(hit.restricted for hit in [*results.hits, *results.suggestions])):
        cache_privately()  # personal, logged for its holder, or incomplete: never kept for the next one
    return jsonify({
        "query": results.query,
        "total": results.total,
        "page": results.page,
        "per_page": results.per_page,
        "pages": results.pages,
        "last_page": results.last_page,
        "links": page_links(min(results.page, results.last_page), results.last_page, SEARCH_PARAMETERS),
        "sort": results.sort,
        "degraded": results.degraded,
        # value → count over every hit, most frequent first: [{"value", "count"}] per facet
        "facets": {name: [{"value": value, "count": count} for value, count in pairs]
                   for name, pairs in results.facets.items()},
        "hits": [hit_json(hit, today) for hit in results.hits],
        "suggestions": [suggestion_json(s, today) for s in results.suggestions],
        **_personal_id_notice(text),
    })


def _personal_id_notice(text: str) -> dict:
    # A personal id is never searched publicly; the answer says why there is nothing (and no echo).
    if not identifiers.is_private(identifiers.classify(text)):
        return {}
    vi = "Số định danh cá nhân chỉ dùng để tra cứu được sau khi đăng nhập với tư cách người đó."
    en = "Personal identification numbers can be used only after logging in as that person."
    return {"notice": {"code": "personal_id", "message": f"{vi} / {en}", "messages": {"vi": vi, "en": en}}}


def suggestion_json(suggestion: identifiers.Suggestion, today: date) -> dict:
    """A "did you mean" result: a personal one shows only type, unit and status, like a restricted hit."""
    body = {"text": suggestion.text, "kind": str(suggestion.kind), "reason": suggestion.reason,
            **hit_json(RecordHit(record=suggestion.record, restricted=suggestion.restricted), today)}
    if suggestion.restricted:
        return {k: body[k] for k in ("text", "kind", "reason", "restricted", "doc_type_name", "issuing_unit",
                                     "successor_units", "status")}
    return body


def _unit_json(unit) -> dict:
    return {"code": unit.code, "name": unit.name, "system": unit.system}


def hit_json(hit: RecordHit, today: date) -> dict:
    """Public fields of one hit; a restricted (personal) hit shows only type, unit and status."""
    record: Record = hit.record
    unit = record.issuing_unit
    base = {
        "restricted": hit.restricted,
        "doc_type_name": record.doc_type_name,
        "issuing_unit": _unit_json(unit),
        "successor_units": [_unit_json(link.new_unit) for link in successors(unit)],
        "status": str(record.effective_status(today)),
    }
    if hit.restricted:
        return base
    return {
        "source_id": record.source_id,
        **base,
        "number": record.number_display,
        "issued_date": record.issued_date.isoformat(),
        "issuer_name": record.issuer_name,
        "procedure": {"code": record.procedure_code,
                      "name": record.procedure.name if record.procedure is not None else None},
        "summary": record.summary,
        # Defence in depth: only a public result names its holder, whatever the hit says.
        "holder": record.subject.name if record.access == Access.PUBLIC and record.subject else None,
        "highlights": hit.highlights,
        # The words are only on the scan (highlights["scan"] shows where), in none of the fields above.
        "found_in_scan": hit.found_in_scan,
    }


@bp.get("/suggest")
@spec.validate(query=SuggestQuery, resp=responses(SuggestAnswer, "HTTP_401", ok_description=(
    "Tối đa 8 gợi ý [{label, kind, url}] / up to 8 completions")),
    tags=["search"], skip_validation=True, operation_id="suggest")
@api_access()
def suggest():
    """Gợi ý khi gõ / Search as you type

    Tối đa 8 gợi ý; dưới 2 ký tự thì [] / up to 8 completions; [] under 2 characters.
    """
    from portal.search import get_search
    from portal.search.suggest import suggest as complete

    response = jsonify(complete(db.session, get_search(), request.args.get("q", "")))
    # Labels follow the language (cookie or Accept-Language); a browser may reuse them briefly.
    response.headers["Cache-Control"] = "private, max-age=60"
    response.vary.update(("Cookie", "Accept-Language"))
    return response


@bp.get("/results/<path:source_id>")
@spec.validate(resp=responses(ResultAnswer, "HTTP_401", "HTTP_404", ok_description=(
    "Kết quả, chỉ các trường công khai / the result, public fields only"), bodiless={
    "HTTP_304": "Không đổi so với If-None-Match / unchanged since the ETag sent",
    "HTTP_308": "Kết quả đã gộp vào kết quả được giữ (Location) / merged into the kept result (Location)"}),
    tags=["results"], skip_validation=True, operation_id="getResult")
@api_access()
def result(source_id: str):
    """Một kết quả / One result

    Hiệu lực hôm nay, thời hạn, đơn vị cấp và kế thừa, lịch sử hiệu lực; kết quả cá nhân trả 404 nếu
    khóa không có quyền personal:read; kết quả đã gộp chuyển hướng 308 / today's status, validity,
    issuing and successor units, status history; a personal result is 404 without the personal:read
    scope; a merged result redirects (308) to the kept one.
    """
    # The answer never reads the scans: their rows (and documents) are not loaded at all.
    record = db.session.scalar(select(Record).where(Record.source_id == source_id).options(
        selectinload(Record.status_history), joinedload(Record.issuing_unit), lazyload(Record.files)))
    if record is not None and record.merged_into_id is not None:
        kept = db.session.get(Record, record.merged_into_id)
        # 308, not the kept one's body: a client learns the id to keep using (and caches one copy).
        return redirect(url_for(".result", source_id=kept.source_id), 308)
    personal = record is not None and record.access != Access.PUBLIC
    if record is None or (personal and (g.api_key is None or "personal:read" not in g.api_key.scopes)):
        # The same answer as for an unknown id: a personal result's existence is not revealed.
        return problem(404, "Không tìm thấy kết quả này.", "There is no such result.")
    if personal:
        # A key's read of a personal result is on its holder's access log, naming the organization.
        record_access(db.session, g.api_key, record, "record.view", channel="api")
        commit_read(db.session)
    today = clock.today()
    body = {k: v for k, v in hit_json(RecordHit(record=record), today).items()
            if k not in ("restricted", "highlights", "found_in_scan")}
    body |= {"valid_from": record.valid_from.isoformat(),
             "valid_to": record.valid_to.isoformat() if record.valid_to else None,
             "status_history": [{"old_status": c.old_status, "new_status": c.new_status,
                                 "changed_at": c.changed_at.isoformat()}
                                for c in sorted(record.status_history, key=lambda c: (c.changed_at, c.id))]}
    response = jsonify(body)
    modified = record.status_changed_at
    if record.effective_status(today) != record.status and record.valid_to is not None:
        # Lapsed by date alone: the answer changed the day after valid_to, not at the last change.
        modified = max(modified, datetime.combine(record.valid_to + timedelta(days=1), time(), UTC))
    response.last_modified = modified
    response.add_etag()
    if personal or g.api_key is not None:
        response.headers["Cache-Control"] = "private, no-store" if personal else "private, max-age=60"
    else:
        response.headers["Cache-Control"] = "public, max-age=60"
    return response.make_conditional(request)
