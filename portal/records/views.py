"""Public pages of results: search, the result page and previews of its scanned pages."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from portal import clock
from portal.db import commit_read
from portal.extensions import db
from portal.feedback import corrections
from portal.identity import current_staff
from portal.identity.citizens import reading_actor, require_loa
from portal.records import previews, services
from portal.records.labels import status_label
from portal.records.models import Access, ResultStatus
from portal.search import service as search_service
from portal.search.port import MAX_HITS, SORTS
from portal.units.services import successors

bp = Blueprint("records", __name__)

#: Deep pages cost the engine the whole window before them: none past MAX_HITS hits (port.MAX_HITS).
MAX_PAGE = MAX_HITS // 20
#: Longer queries are cut: no one types 200 characters, and the engine pays for each word.
MAX_QUERY = 200
#: How many pages of each file the result page shows as thumbnails.
THUMBNAIL_PAGES = 3


#: Page parameter → search filter, in the order facets are shown. Codes only: unit codes are digits,
#: procedure codes digits and dots; anything else is dropped.
FACET_PARAMS = {"procedure": "procedure_code", "unit": "unit", "current_unit": "current_unit",
                "year": "year", "status": "status"}
#: Values shown per facet on the page (the engine counts up to port.FACET_SIZE).
FACET_VALUES = 8


def _page_arg(per_page: int = 20) -> int:
    raw = request.args.get("page", "")
    last = MAX_HITS // per_page
    return int(raw) if raw.isdecimal() and len(raw) < 8 and 1 <= int(raw) <= last else 1


def _search_filters() -> dict[str, str]:
    # Unknown values are dropped, not refused: a hand-edited URL still gets a page of results.
    filters = {}
    status = request.args.get("status", "")
    if status in set(ResultStatus):
        filters["status"] = status
    year = request.args.get("year", "")
    if year.isdecimal() and len(year) == 4:
        filters["year"] = year
    for param in ("procedure", "unit", "current_unit"):
        value = request.args.get(param, "")
        if value and len(value) <= 12 and value.replace(".", "").isdecimal():
            filters[FACET_PARAMS[param]] = value
    return filters


@bp.get("/search")
def search():
    text = request.args.get("q", "").strip()[:MAX_QUERY]
    filters = _search_filters()
    per_page = current_app.config["SEARCH_PER_PAGE"]
    sort = request.args.get("sort", "")
    sort = sort if sort in SORTS else "relevance"
    today = clock.today()
    answer = search_service.answer_search(
        db.session, text, filters=filters, page=_page_arg(per_page), per_page=per_page, sort=sort,
        today=today, actor=reading_actor(), follow_identifiers=_page_arg() == 1)
    # A personal id is never searched publicly, nor echoed back: redirected away so that it leaves
    # the address bar, the history and the links of the page (the language switch repeats the query).
    if answer.personal_id:
        return redirect(url_for(".search", notice="personal-id"), 303)
    if answer.procedure is not None:  # an identifier goes straight to its match
        return redirect(url_for(".search", q=answer.procedure.name, procedure=answer.procedure.code))
    if answer.match is not None:
        return redirect(url_for(".detail", source_id=answer.match.source_id))
    if answer.results is not None:
        commit_read(db.session)  # access log entries of personal results among the hits
    # URL parameters of this search (the facet and pagination links add or drop one of them)
    params = {param: filters[name] for param, name in FACET_PARAMS.items() if name in filters}
    if sort != "relevance":
        params["sort"] = sort
    return render_template("records/search.html", q=text, filters=filters, results=answer.results,
                           today=today, statuses=list(ResultStatus), successors=successors,
                           personal_id=request.args.get("notice") == "personal-id", sort=sort,
                           params=params, facet_params=FACET_PARAMS, facet_labels=answer.facet_labels,
                           facet_values=FACET_VALUES, max_hits=MAX_HITS)


#: Pages and previews showing personal data: the reader's browser only, not kept after use.
PRIVATE_CACHE = "private, no-store"


@bp.get("/my/results")
@require_loa("view_personal")
def mine():
    """The results about the logged-in person, or about the organization they represent."""
    results = services.list_own_records(db.session, reading_actor(), page=_page_arg())
    response = make_response(render_template("records/mine.html", results=results,
                                             today=clock.today(), successors=successors))
    response.headers["Cache-Control"] = PRIVATE_CACHE
    return response


@bp.get("/results/<source_id>")
def detail(source_id: str):
    page = services.view_record(db.session, source_id, actor=reading_actor())
    if page.record.source_id != source_id:  # an alias: merged into the result kept as the same one
        db.session.rollback()  # its access is logged when the kept result's own page is shown
        return redirect(url_for(".detail", source_id=page.record.source_id), 302)
    commit_read(db.session)  # the access log entry, if this view showed personal data
    staff = current_staff()
    response = make_response(render_template(
        "records/detail.html", page=page, thumbnail_pages=THUMBNAIL_PAGES,
        corrections=corrections.list_history(db.session, page.record),
        correctable=staff is not None and corrections.may_correct(staff, page.record)))
    if page.personal:
        response.headers["Cache-Control"] = PRIVATE_CACHE
    return response


@bp.get("/results/<source_id>/files/<int:position>/pages/<int:page>")
def page_view(source_id: str, position: int, page: int):
    """A larger view of one scanned page, with links to the neighbouring pages (no JavaScript)."""
    actor = reading_actor()
    document = services.get_preview_document(db.session, source_id, position, page, actor=actor)
    commit_read(db.session)  # the access log entry of a personal scan
    record = services.get_record(db.session, source_id)
    response = make_response(render_template("records/page.html", record=record, position=position,
                                             page=page, pages=document.pages, width=previews.WIDTHS[-1]))
    if record.access != Access.PUBLIC:
        response.headers["Cache-Control"] = PRIVATE_CACHE
    return response


@bp.get("/results/<source_id>/files/<int:position>/pages/<int:page>.png")
def preview(source_id: str, position: int, page: int):
    actor = reading_actor()
    document = services.get_preview_document(db.session, source_id, position, page, actor=actor)
    commit_read(db.session)  # the access log entry of a personal scan
    record = services.get_record(db.session, source_id)
    path, width = previews.served_preview(current_app.config, document.sha256, document.media_type, page,
                                          request.args.get("w", type=int))
    # The content behind this URL only changes if the result's files change: cache for a day,
    # unless it is a personal scan, which only its reader's browser may keep, and only while shown.
    response = send_file(path, mimetype="image/png", etag=f"{document.sha256[:16]}-{page}-{width}",
                         max_age=86400, conditional=True)
    if record.access != Access.PUBLIC:
        response.headers["Cache-Control"] = PRIVATE_CACHE
    return response


bp.add_app_template_global(status_label)
