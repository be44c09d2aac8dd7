"""Queries on units: lookups by code, and successors across the 1 July 2025 merger."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from portal.errors import NotFound
from portal.paging import Paged
from portal.text import fold
from portal.units.models import AdminUnit, UnitLevel, UnitSuccession, UnitSystem

#: Digits of a statistics-office code per level: "01" Hà Nội, "001" Ba Đình, "00167" a commune.
CODE_WIDTH = {"province": 2, "district": 3, "commune": 5}


def normalize_code(code: str | int, level: str = "commune") -> str:
    """A unit code as stored: leading zeros are optional in batches, commands and URLs, so "167"
    and "00167" are the same commune. Raises ValueError for a code that is not a number."""
    return str(int(code)).zfill(CODE_WIDTH[level])


def is_normal_code(code: str, level: str) -> bool:
    """Whether ``code`` is written the way `normalize_code` writes it."""
    return code.isdecimal() and level in CODE_WIDTH and code == normalize_code(code, level)


def find_unit(session: Session, system: str, level: str, code: str) -> AdminUnit | None:
    return session.scalar(select(AdminUnit).where(
        AdminUnit.system == system, AdminUnit.level == level,
        AdminUnit.code == normalize_code(code, level)))


def get_unit_by_slug(session: Session, system: str, slug: str) -> AdminUnit:
    unit = session.scalar(select(AdminUnit).where(AdminUnit.system == system, AdminUnit.slug == slug))
    if unit is None:
        raise NotFound(slug)
    return unit


# -- the successor rule: a current unit stands for the old units merged into it ------------------
# On 1 July 2025 districts were abolished and communes merged; 198 of Hanoi's old communes were
# split across several new units. A result of an old unit belongs to every current unit the old
# one went into, wholly or partly: its clerks serve it, its page and its search filter list it,
# its scorecard counts it. These two functions are that rule, in SQL and in Python.


def within(unit_column, unit_ids) -> ColumnElement[bool]:
    """SQL: ``unit_column`` (a unit id) is one of ``unit_ids`` (current units: ids, or a select of
    ids) or an old unit merged into one of them."""
    olds = select(UnitSuccession.old_unit_id).where(UnitSuccession.new_unit_id.in_(unit_ids))
    return or_(unit_column.in_(unit_ids), unit_column.in_(olds))


def ids_within(units: Iterable[AdminUnit]) -> set[int]:
    """The ids of ``units`` and of every old unit merged into them (their links loaded)."""
    ids = set()
    for unit in units:
        ids.add(unit.id)
        ids.update(link.old_unit_id for link in unit.predecessor_links)
    return ids


def totals_by_current_unit(session: Session, per_unit: dict[int, int]) -> dict[int, int]:
    """Counts per unit id → counts per current unit id, an old unit's count added to each of the
    current units it went into (the rule of `within`, for numbers already grouped by unit)."""
    totals: dict[int, int] = {}
    for old_id, new_id in session.execute(select(UnitSuccession.old_unit_id, UnitSuccession.new_unit_id)):
        if old_id in per_unit:
            totals[new_id] = totals.get(new_id, 0) + per_unit[old_id]
    current_ids = set(session.scalars(select(AdminUnit.id).where(AdminUnit.system == UnitSystem.CURRENT)))
    for unit_id, count in per_unit.items():
        if unit_id in current_ids:
            totals[unit_id] = totals.get(unit_id, 0) + count
    return totals


def successors(unit: AdminUnit) -> list[UnitSuccession]:
    """The current units a unit lives on in (itself for a current unit), first-listed first."""
    if unit.system == UnitSystem.CURRENT:
        return []
    return sorted(unit.successor_links, key=lambda link: link.position)


def handling_unit(unit: AdminUnit) -> AdminUnit:
    """The one current unit that handles, now, a case about a result of ``unit`` (a copy request,
    a problem report, a correction): ``unit`` itself when current, else the first current unit it
    went into (itself when it went into none). Pass a record's issuing unit."""
    if unit.system == UnitSystem.CURRENT:
        return unit
    links = successors(unit)
    return links[0].new_unit if links else unit


def list_predecessors(session: Session, unit: AdminUnit) -> list[UnitSuccession]:
    return list(session.scalars(
        select(UnitSuccession).where(UnitSuccession.new_unit_id == unit.id)
        .options(joinedload(UnitSuccession.old_unit).joinedload(AdminUnit.parent))
        .order_by(UnitSuccession.old_unit_id)))


def unit_names(unit: AdminUnit) -> list[str]:
    """Every name a result of this unit should be found by: its own, its district's, its successors'."""
    names = [unit.name]
    if unit.parent is not None and unit.parent.level == "district":
        names.append(unit.parent.name)
    names.extend(link.new_unit.name for link in successors(unit))
    return names


# -- unit pages ----------------------------------------------------------------------------------


def find_current_unit(session: Session, slug: str) -> AdminUnit | None:
    """A unit as it is now, by slug (a current slug wins over a legacy one spelt the same)."""
    return session.scalar(select(AdminUnit).where(AdminUnit.system == UnitSystem.CURRENT,
                                                  AdminUnit.slug == slug))


def find_legacy_unit(session: Session, slug: str) -> AdminUnit | None:
    return session.scalar(select(AdminUnit).where(AdminUnit.system == UnitSystem.LEGACY,
                                                  AdminUnit.slug == slug))


def list_current_communes(session: Session) -> list[AdminUnit]:
    """Today's communes and wards, in Vietnamese alphabetical order (tone marks folded)."""
    units = session.scalars(select(AdminUnit).where(AdminUnit.system == UnitSystem.CURRENT,
                                                    AdminUnit.level == UnitLevel.COMMUNE))
    return sorted(units, key=lambda unit: (fold(unit.division_type), fold(unit.name), unit.code))


# -- lists for API clients (pickers): old and current units with their links, paged ---------------

#: Order of a list: today's units first, then the old ones; province, district, commune; by code.
_SYSTEM_RANK = {UnitSystem.CURRENT: 0, UnitSystem.LEGACY: 1}
_LEVEL_RANK = {UnitLevel.PROVINCE: 0, UnitLevel.DISTRICT: 1, UnitLevel.COMMUNE: 2}
_WORD = re.compile(r"[0-9a-z]+")


@dataclass(frozen=True)
class UnitRef:
    code: str
    name: str
    system: str
    level: str


@dataclass(frozen=True)
class UnitLink:
    """One side of a succession as seen from a unit: the unit across it, its parent, and whether
    only part of the old unit went into the new one."""

    unit: UnitRef
    parent: UnitRef | None
    partial: bool
    position: int


@dataclass(frozen=True)
class UnitView:
    unit: UnitRef
    division_type: str
    parent: UnitRef | None
    successors: list[UnitLink]
    predecessors: list[UnitLink]


@dataclass(frozen=True)
class UnitList(Paged):
    total: int
    page: int
    per_page: int
    items: list[UnitView]


def _ranked(query):
    return query.order_by(
        case(*((AdminUnit.system == s, r) for s, r in _SYSTEM_RANK.items()), else_=9),
        case(*((AdminUnit.level == lv, r) for lv, r in _LEVEL_RANK.items()), else_=9),
        AdminUnit.code)


def _ref(code, name, system, level) -> UnitRef | None:
    return None if code is None else UnitRef(code=code, name=name, system=system, level=level)


def _unit_rows(session: Session, query) -> list[tuple[int, UnitRef, str, UnitRef | None]]:
    parent = aliased(AdminUnit)
    query = query.add_columns(AdminUnit.id, AdminUnit.code, AdminUnit.name, AdminUnit.system, AdminUnit.level,
                              AdminUnit.division_type, parent.code, parent.name, parent.system, parent.level
                              ).outerjoin(parent, AdminUnit.parent_id == parent.id)
    return [(row[0], UnitRef(*row[1:5]), row[5], _ref(*row[6:10])) for row in session.execute(query)]


def _views(session: Session, rows) -> list[UnitView]:
    """The units of ``rows`` with their successors and predecessors: one statement for every link."""
    ids = [row[0] for row in rows]
    successors_of: dict[int, list[UnitLink]] = {unit_id: [] for unit_id in ids}
    predecessors_of: dict[int, list[UnitLink]] = {unit_id: [] for unit_id in ids}
    if ids:
        old, new, old_parent, new_parent = (aliased(AdminUnit) for _ in range(4))
        columns = [column for unit, parent in ((old, old_parent), (new, new_parent))
                   for column in (unit.code, unit.name, unit.system, unit.level,
                                  parent.code, parent.name, parent.system, parent.level)]
        query = (select(UnitSuccession.old_unit_id, UnitSuccession.new_unit_id, UnitSuccession.partial,
                        UnitSuccession.position, *columns)
                 .join(old, old.id == UnitSuccession.old_unit_id)
                 .join(new, new.id == UnitSuccession.new_unit_id)
                 .outerjoin(old_parent, old_parent.id == old.parent_id)
                 .outerjoin(new_parent, new_parent.id == new.parent_id)
                 .where(or_(UnitSuccession.old_unit_id.in_(ids), UnitSuccession.new_unit_id.in_(ids))))
        for old_id, new_id, partial, position, *sides_values in session.execute(query):
            old_values, new_values = sides_values[:8], sides_values[8:]
            if old_id in successors_of:
                successors_of[old_id].append(UnitLink(UnitRef(*new_values[:4]), _ref(*new_values[4:]),
                                                      bool(partial), position))
            if new_id in predecessors_of:
                predecessors_of[new_id].append(UnitLink(UnitRef(*old_values[:4]), _ref(*old_values[4:]),
                                                        bool(partial), position))

    def by_unit(link: UnitLink):
        return _LEVEL_RANK.get(link.unit.level, 9), link.unit.code

    def as_listed(link: UnitLink):  # the official table's order of an old unit's successors
        return link.position, by_unit(link)

    return [UnitView(unit=ref, division_type=division_type, parent=parent,
                     successors=sorted(successors_of[unit_id], key=as_listed),
                     predecessors=sorted(predecessors_of[unit_id], key=by_unit))
            for unit_id, ref, division_type, parent in rows]


def _matches(words: list[str], name: str, code: str) -> bool:
    # Every typed word starts a word of the name ("hoan kiem" → "Phường Hoàn Kiếm"), or the code.
    name_words = _WORD.findall(fold(name))
    return all(code.startswith(w) or any(n.startswith(w) for n in name_words) for w in words)


def list_units(session: Session, *, system: str | None = None, level: str | None = None,
               parent: str | None = None, q: str = "", page: int = 1, per_page: int = 50) -> UnitList:
    """Units, old and current, with their parents, successors and predecessors, a page at a time.

    ``parent`` is a parent's code in the unit's own system; ``q`` words match the names without tone
    marks (folded here: names have no folded column, and a province has under a thousand units).
    Three statements a page, whatever ``per_page``."""
    parent_unit = aliased(AdminUnit)
    query = select().select_from(AdminUnit)
    if system:
        query = query.where(AdminUnit.system == system)
    if level:
        query = query.where(AdminUnit.level == level)
    if parent:
        query = query.join(parent_unit, AdminUnit.parent_id == parent_unit.id)
        query = query.where(parent_unit.code == parent)
    start = (page - 1) * per_page
    words = _WORD.findall(fold(q))
    if words:
        candidates = session.execute(_ranked(query.add_columns(AdminUnit.id, AdminUnit.name, AdminUnit.code)))
        found = [unit_id for unit_id, name, code in candidates if _matches(words, name, code)]
        total, page_ids = len(found), found[start:start + per_page]
        order = {unit_id: i for i, unit_id in enumerate(page_ids)}
        rows = sorted(_unit_rows(session, select().select_from(AdminUnit).where(AdminUnit.id.in_(page_ids)))
                      if page_ids else [], key=lambda row: order[row[0]])
    else:
        total = session.scalar(query.add_columns(func.count())) or 0
        rows = _unit_rows(session, _ranked(query).offset(start).limit(per_page)) if start < total else []
    return UnitList(total=total, page=page, per_page=per_page, items=_views(session, rows))


def is_code_text(text: str) -> bool:
    """Whether ``text`` can be a stored code (ASCII digits, at most 5): anything else is looked up
    nowhere (PostgreSQL refuses a NUL byte in a string, for one)."""
    return text.isascii() and text.isdigit() and len(text) <= CODE_WIDTH["commune"]


def get_unit_view(session: Session, system: str, code: str) -> UnitView | None:
    """One unit by its code as stored ("00070", "002", "01"): codes are unique within a system only
    (a current ward often kept the code of one of the old communes it took in)."""
    if not is_code_text(code):
        return None
    rows = _unit_rows(session, select().select_from(AdminUnit).where(AdminUnit.system == system,
                                                                     AdminUnit.code == code))
    return _views(session, rows)[0] if rows else None


def systems_with_code(session: Session, code: str) -> list[str]:
    """The systems that have a unit with this code (for a 404 that says where to look)."""
    if not is_code_text(code):
        return []
    return sorted(session.scalars(select(AdminUnit.system).where(AdminUnit.code == code).distinct()))
