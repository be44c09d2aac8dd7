"""Queries on units: lookups by code, and successors across the 1 July 2025 merger."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, joinedload

from portal.errors import NotFound
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
