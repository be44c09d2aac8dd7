"""Lists of results: the row every list shows, what a row loads, the page filters, one page of a list.

Shared by the lists of `records.services` (a person's own results, a unit's results) and by search
(`search.service`, `search.identifiers`), so that every list of results loads and filters them
one way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session, joinedload, lazyload

from portal.paging import Paged, page_count
from portal.records.models import Access, Record
from portal.text import fold
from portal.units import services as unit_services
from portal.units.models import AdminUnit, UnitSystem

#: A matched word in a highlighted snippet (portal/search/highlighting.py writes <mark>…</mark>).
_MARKED = re.compile(r"<mark>(.*?)</mark>")


@dataclass(frozen=True)
class RecordHit:
    """One result in a list."""

    record: Record
    #: field → HTML snippet with <mark> in original diacritics (already escaped, safe to render).
    highlights: dict[str, str] = field(default_factory=dict)
    #: A personal result found by its exact identifier: show type, unit and status only.
    restricted: bool = False

    @property
    def found_in_scan(self) -> bool:
        """Some word the hit was found by is marked only in the text read off its scan, in none of
        its fields: the hit says so ("tìm thấy trong bản quét"), or a person would not see why."""
        scan = self.highlights.get("scan")
        if not scan:
            return False
        elsewhere = {fold(w) for name, text in self.highlights.items() if name != "scan"
                     for w in _MARKED.findall(text)}
        return any(fold(word) not in elsewhere for word in _MARKED.findall(scan))


@dataclass(frozen=True)
class ResultList(Paged):
    """One page of a list of results."""

    total: int
    hits: list[RecordHit]
    page: int
    per_page: int


def row_options() -> tuple:
    """Loader options of a list row: its unit, the unit's district and successors in the same
    round, no files (a row names its unit "Phường X, quận Y, now part of Z")."""
    return (joinedload(Record.issuing_unit).selectinload(AdminUnit.successor_links),
            joinedload(Record.issuing_unit).joinedload(AdminUnit.parent), lazyload(Record.files))


def findable_by_number():
    """SQL: results a number finds. A personal result is found only by its number *with notation*:
    a bare number would let anyone enumerate who holds which civil-status record."""
    return or_(Record.access == Access.PUBLIC, func.coalesce(Record.doc_notation, "") != "")


def apply_filters(query: Select, filters: Mapping[str, str], today: date) -> Select:
    """``query`` (over Record) narrowed by the page filters ``status`` (effective as of ``today``),
    ``procedure_code``, ``unit`` (issuing unit code), ``current_unit`` (a current unit code: its
    results and those of the old units merged into it) and ``year``; others are ignored."""
    if "procedure_code" in filters:
        query = query.where(Record.procedure_code == filters["procedure_code"])
    if "year" in filters:
        try:
            year = int(filters["year"])
        except ValueError:
            return query.where(false())
        query = query.where(Record.issued_date >= date(year, 1, 1), Record.issued_date < date(year + 1, 1, 1))
    if "status" in filters:
        query = query.where(Record.effective_status_is(filters["status"], today))
    if "unit" in filters:
        units = select(AdminUnit.id).where(AdminUnit.code == filters["unit"])
        query = query.where(Record.issuing_unit_id.in_(units))
    if "current_unit" in filters:
        current = select(AdminUnit.id).where(AdminUnit.code == filters["current_unit"],
                                             AdminUnit.system == UnitSystem.CURRENT)
        query = query.where(unit_services.within(Record.issuing_unit_id, current))
    return query


def list_page(session: Session, query: Select, order_by: tuple, page: int, per_page: int, *,
              first_if_past_end: bool = False, total: int | None = None) -> ResultList:
    """Page ``page`` of the results ``query`` selects, in ``order_by``, with its total (counted,
    unless the caller knows it); a page past the last is empty, or with ``first_if_past_end`` the
    first one."""
    if total is None:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if first_if_past_end and not 1 <= page <= page_count(total, per_page):
        page = 1
    records = session.scalars(query.options(*row_options()).order_by(*order_by)
                              .offset((page - 1) * per_page).limit(per_page)).unique().all()
    return ResultList(total=total, hits=[RecordHit(record=r) for r in records], page=page, per_page=per_page)
