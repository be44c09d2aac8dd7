"""Searching results for people: identifiers first, then the engine, the database if it is down.

INTERFACE (implemented by the search work; the pages rely on it):

    search_records(session, text, *, filters=None, page=1, per_page=20, today=None,
                   sort="relevance", facets=()) -> ResultsPage

- An exact identifier (number with notation "123/GPXD" in any spacing/case, or dossier code)
  matches personal results too; those hits carry `restricted=True` and views show only
  type, issuing unit and status.
- Otherwise only public results are searched (filter access=public).
- When the engine raises SearchUnavailable, a plain database search answers and `degraded=True`.
"""

from __future__ import annotations

import functools
import logging
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal import clock
from portal.procedures.models import Procedure
from portal.records import access_log
from portal.records.documents import load_by_source_ids
from portal.records.models import Access, Record
from portal.records.queries import RecordHit, ResultList, apply_filters, row_options
from portal.search import identifiers
from portal.search.highlighting import highlight_fields, query_words
from portal.search.port import FACETS, FILTER_FIELDS, MAX_HITS, SORTS, SearchQuery, SearchUnavailable
from portal.text import fold
from portal.units.models import AdminUnit, UnitSystem


@dataclass(frozen=True)
class ResultsPage(ResultList):
    """A page of search results: a list of results, plus what the search page shows about it."""

    query: str
    #: The engine was unavailable; results come from a plain database search and may be incomplete.
    degraded: bool = False
    #: "Did you mean" results one slip away from a typed identifier (identifiers.Suggestion).
    suggestions: list = field(default_factory=list)
    #: facet → [(value, count)] over the engine's hits, most frequent first (empty when degraded).
    facets: dict = field(default_factory=dict)
    sort: str = "relevance"

    @property
    def last_page(self) -> int:
        """The last page one can open: no engine pages past MAX_HITS hits."""
        return max(1, min(self.pages, MAX_HITS // self.per_page))

    @property
    def capped(self) -> bool:
        """More hits than can be paged through: the page asks to narrow the search."""
        return self.pages > self.last_page


# -- implementation ------------------------------------------------------------------------------

_log = logging.getLogger(__name__)
#: Filters a page may pass; "access" is not one of them: the service decides what is public.
FILTERS = tuple(name for name in FILTER_FIELDS if name != "access")
#: The database fallback looks only at this many of the newest public results that pass the filters:
#: a LIKE over every record took ~20 s at a million (docs/benchmarks.md). The page already says that
#: results may be incomplete; identifier lookups are indexed and search every record.
FALLBACK_SCAN = 20_000
_VI = "àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ"
_VI_FOLDED = "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd"
#: Told the seconds each `search_records` took and whether it was degraded (the metrics listen:
#: portal/operations/metrics.py, which sits above this area and may not be imported from here).
OBSERVERS: list[Callable[[float, bool], None]] = []


def _timed(search):
    @functools.wraps(search)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        results = search(*args, **kwargs)
        for observe in OBSERVERS:
            observe(time.perf_counter() - started, results.degraded)
        return results
    return timed


@_timed
def search_records(session: Session, text: str, *, filters: Mapping[str, str] | None = None, page: int = 1,
                   per_page: int = 20, today: date | None = None, sort: str = "relevance",
                   facets: tuple[str, ...] = (), actor: object | None = None,
                   channel: str = "web", exact: list[RecordHit] | None = None) -> ResultsPage:
    """Identifier matches first (personal ones restricted), then public results from the engine.

    ``sort``: "relevance", "newest" or "oldest"; ``facets``: names from port.FACETS to count.
    A personal result among the hits is written to its subject's access log (``actor``, ``channel``);
    the caller commits. ``exact``: `identifiers.exact_hits` of this text and filters, when the
    caller already has them.
    Never raises because the engine is down: the database answers instead (``degraded=True``).
    Raises ValueError for a page below 1, an unknown filter, sort or facet.
    """
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
    if set(facets) - set(FACETS):
        raise ValueError(f"unknown facets: {sorted(set(facets) - set(FACETS))}")
    filters = {k: str(v) for k, v in (filters or {}).items() if v not in (None, "")}
    unknown = set(filters) - set(FILTERS)
    if unknown:
        raise ValueError(f"unknown search filters: {sorted(unknown)}")
    text = unicodedata.normalize("NFC", text or "").strip()
    if not text:
        return ResultsPage(query=text, total=0, hits=[], page=page, per_page=per_page, sort=sort)
    today = today or clock.today()
    if identifiers.is_private(identifiers.classify(text)):  # a personal id never reaches the engine
        return ResultsPage(query="", total=0, hits=[], page=page, per_page=per_page)
    if exact is None:
        exact = identifiers.exact_hits(session, text, filters, today)
    suggestions = identifiers.suggest(session, text) if not exact and page == 1 else []
    start = (page - 1) * per_page
    end = start + per_page
    # Identifier hits fill the first places; the engine's ranked hits follow, without repeats.
    own = exact[start:end]
    want_from_engine = end - max(start, len(exact))
    engine_start = max(0, start - len(exact))
    degraded = False
    facet_counts: dict = {}
    try:
        engine_hits, engine_total, facet_counts = _engine_hits(
            session, text, filters, engine_start, want_from_engine,
            exclude=tuple(h.record.source_id for h in exact), sort=sort, facets=tuple(facets))
    except Exception as error:  # never a 500 because the engine is down: see module docstring
        if not isinstance(error, SearchUnavailable):
            _log.exception("search engine failed; answering from the database")
        else:
            _log.warning("search unavailable (%s); answering from the database", error)
        degraded = True
        engine_hits, engine_total = _database_hits(session, text, filters, today, engine_start,
                                                   want_from_engine, skip={h.record.id for h in exact},
                                                   sort=sort)
    hits = own + engine_hits if want_from_engine > 0 else own
    for hit in hits[:per_page]:  # only identifier hits can be personal: the engine searches public ones
        access_log.record_access(session, actor, hit.record, "record.search_hit", channel=channel,
                                 details={"restricted": hit.restricted})
    for suggestion in suggestions:  # "did you mean" names a personal result's number, type and status
        access_log.record_access(session, actor, suggestion.record, "record.search_hit", channel=channel,
                                 details={"restricted": suggestion.restricted, "suggestion": True})
    return ResultsPage(query=text, total=len(exact) + engine_total, hits=hits[:per_page], page=page,
                       per_page=per_page, degraded=degraded, suggestions=suggestions, facets=facet_counts,
                       sort=sort)




@dataclass(frozen=True)
class SearchAnswer:
    """What the search page does with a query: send the person elsewhere, or show results."""

    #: A 12-digit personal id was typed: never searched, and the page must not keep it in its URL.
    personal_id: bool = False
    #: A procedure code was typed: the page shows the search of that procedure instead.
    procedure: Procedure | None = None
    #: An identifier with exactly one match the person may open (public): the page opens it.
    match: Record | None = None
    #: The results (None when nothing was typed).
    results: ResultsPage | None = None
    #: facet → code → name, for the procedure and unit codes among the facets.
    facet_labels: dict[str, dict[str, str]] = field(default_factory=dict)


def answer_search(session: Session, text: str, *, filters: Mapping[str, str], page: int, per_page: int,
                  sort: str, today: date, actor: object | None, follow_identifiers: bool) -> SearchAnswer:
    """The search page's answer to ``text``: `search_records` with every facet, named, unless
    ``follow_identifiers`` (page 1) and an identifier leads straight to a procedure or a result.

    A page past the last shows the first. The caller commits (access log of personal hits).
    Raises ValueError as `search_records` does.
    """
    if identifiers.is_private(identifiers.classify(text)):
        return SearchAnswer(personal_id=True)
    if not text:
        return SearchAnswer()
    # Looked up once for the whole answer: a number as printed matches hundreds of results.
    exact = identifiers.exact_hits(session, text, filters, today)
    if follow_identifiers:
        procedure = identifiers.find_procedure(session, text)
        if procedure is not None:
            return SearchAnswer(procedure=procedure)
        match = identifiers.single_match(exact)
        if match is not None:
            return SearchAnswer(match=match)
    common = dict(filters=filters, per_page=per_page, today=today, sort=sort, facets=FACETS, actor=actor,
                  exact=exact)
    results = search_records(session, text, page=page, **common)
    if page > 1 and not results.hits:  # past the last page: show the first one instead
        results = search_records(session, text, page=1, **common)
    return SearchAnswer(results=results, facet_labels=_facet_labels(session, results.facets))


def _facet_labels(session: Session, facets: Mapping[str, list[tuple[str, int]]]) -> dict[str, dict[str, str]]:
    """facet → code → name, for procedure and unit codes (one lookup each)."""
    procedures = {code for code, _ in facets.get("procedure_code", [])}
    units = {code for name in ("unit", "current_unit") for code, _ in facets.get(name, [])}
    labels: dict[str, dict[str, str]] = {"procedure_code": {}, "unit": {}, "current_unit": {}}
    if procedures:
        labels["procedure_code"] = dict(session.execute(
            select(Procedure.code, Procedure.name).where(Procedure.code.in_(procedures))).all())
    if units:
        # An issuing unit's code may be an old unit's or a current one's: the old name is kept
        # unless only a current unit has it; current_unit codes are always current units.
        for code, name, system in session.execute(
                select(AdminUnit.code, AdminUnit.name, AdminUnit.system).where(AdminUnit.code.in_(units))
                .order_by(AdminUnit.system.desc())):
            if system == UnitSystem.CURRENT:
                labels["current_unit"][code] = name
            labels["unit"].setdefault(code, name)
    return labels


def _engine_hits(session: Session, text: str, filters: Mapping[str, str], start: int, count: int,
                 exclude: tuple[str, ...], sort: str,
                 facets: tuple[str, ...]) -> tuple[list[RecordHit], int, dict]:
    """The engine's hits ``start``…``start + count`` (identifier hits excluded), its total and facets.

    Only this window is fetched, whatever the page: the engine skips ``start`` hits itself.
    """
    from portal.search import get_search

    backend = get_search()
    engine_filters = {**filters, "access": Access.PUBLIC.value}
    common = dict(filters=engine_filters, sort=sort, facets=facets, exclude=exclude)
    if count <= 0:  # this page is all identifier hits: ask only for the total (and facets)
        result = backend.search(SearchQuery(text, page=1, per_page=1, **common))
        return [], result.total, dict(result.facets)
    if start % count == 0:
        query = SearchQuery(text, page=start // count + 1, per_page=count, **common)
    else:  # identifier hits shifted the engine's window off its page boundaries
        query = SearchQuery(text, page=1, per_page=count, offset=start, **common)
    result = backend.search(query)
    records = load_by_source_ids(session, [h.id for h in result.hits])
    hits = []
    for hit in result.hits:
        record = records.get(hit.id)
        if record is None or record.access != Access.PUBLIC:  # stale index entry: never show it
            continue
        hits.append(RecordHit(record=record, highlights=dict(hit.highlights)))
    return hits, result.total, dict(result.facets)


def _folded(session: Session, column):
    """Lower-case, unaccented column for a best-effort LIKE (the fallback path only)."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's lower() leaves non-ASCII capitals alone: use the very fold() the index uses.
        raw = session.connection().connection.driver_connection
        raw.create_function("portal_fold", 1, lambda value: fold(value) if value else value,
                            deterministic=True)
        return func.portal_fold(column)
    return func.translate(func.lower(column), _VI + _VI.upper(), _VI_FOLDED * 2)


def _database_hits(session: Session, text: str, filters: Mapping[str, str], today: date, start: int,
                   count: int, skip: set[int], sort: str = "relevance") -> tuple[list[RecordHit], int]:
    """Plain database search over the newest FALLBACK_SCAN public results: every word in a main column."""
    words = query_words(text)[:8]
    if not words:
        return [], 0
    columns = [Record.doc_type_name, Record.summary, Record.doc_number, Record.doc_notation,
               Record.issuer_name, Record.dossier_code]
    folded = [_folded(session, c) for c in columns]
    conditions = [or_(*(col.like(f"%{_escape_like(word)}%", escape="\\") for col in folded))
                  for word in words]
    newest = apply_filters(select(Record.id).where(Record.access == Access.PUBLIC), filters, today)
    newest = newest.order_by(Record.issued_date.desc(), Record.id.desc()).limit(FALLBACK_SCAN)
    query = select(Record).where(Record.id.in_(newest.scalar_subquery()), *conditions)
    if skip:
        query = query.where(Record.id.not_in(skip))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if count <= 0:
        return [], total
    order = Record.issued_date.asc() if sort == "oldest" else Record.issued_date.desc()
    rows = session.scalars(query.options(*row_options()).order_by(order, Record.id)
                           .offset(start).limit(count)).unique()
    hits = []
    for record in rows:
        doc = {"title": record.doc_type_name, "number": [record.number_display], "summary": record.summary,
               "issuer": record.issuer_name}
        hits.append(RecordHit(record=record, highlights=highlight_fields(doc, words)))
    return hits, total


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
