"""Queries on units: lookups by code, and successors across the 1 July 2025 merger."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal.errors import NotFound
from portal.units.models import AdminUnit, UnitLevel, UnitSuccession, UnitSystem


def normalize_code(code: str, level: str) -> str:
    """Leading zeros are optional in batches: "167" and "00167" are the same commune."""
    width = {"province": 2, "district": 3, "commune": 5}[level]
    return str(int(code)).zfill(width)


def find_unit(session: Session, system: str, level: str, code: str) -> AdminUnit | None:
    return session.scalar(select(AdminUnit).where(
        AdminUnit.system == system, AdminUnit.level == level,
        AdminUnit.code == normalize_code(code, level)))


def get_unit_by_slug(session: Session, system: str, slug: str) -> AdminUnit:
    unit = session.scalar(select(AdminUnit).where(AdminUnit.system == system, AdminUnit.slug == slug))
    if unit is None:
        raise NotFound(slug)
    return unit


def successors(unit: AdminUnit) -> list[UnitSuccession]:
    """The current units a unit lives on in (itself for a current unit), first-listed first."""
    if unit.system == UnitSystem.CURRENT:
        return []
    return sorted(unit.successor_links, key=lambda link: link.position)


def list_predecessors(session: Session, unit: AdminUnit) -> list[UnitSuccession]:
    return list(session.scalars(
        select(UnitSuccession).where(UnitSuccession.new_unit_id == unit.id)
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
    from portal.text import fold

    units = session.scalars(select(AdminUnit).where(AdminUnit.system == UnitSystem.CURRENT,
                                                    AdminUnit.level == UnitLevel.COMMUNE))
    return sorted(units, key=lambda unit: (fold(unit.division_type), fold(unit.name), unit.code))


def count_public_results(session: Session) -> dict[int, int]:
    """Public results per current unit id, results of old units counted in each of their successors.

    One grouped query; the spreading over successors happens here, with the same rule as the
    search filter `current_unit` (a split old unit's results belong to every new unit it went into).
    """
    from portal.records.models import Access, Record

    per_unit = dict(session.execute(select(Record.issuing_unit_id, func.count()).where(
        Record.access == Access.PUBLIC).group_by(Record.issuing_unit_id)).all())
    counts: dict[int, int] = {}
    links = session.execute(select(UnitSuccession.old_unit_id, UnitSuccession.new_unit_id)).all()
    for old_id, new_id in links:
        if old_id in per_unit:
            counts[new_id] = counts.get(new_id, 0) + per_unit[old_id]
    current_ids = set(session.scalars(select(AdminUnit.id).where(AdminUnit.system == UnitSystem.CURRENT)))
    for unit_id, count in per_unit.items():
        if unit_id in current_ids:
            counts[unit_id] = counts.get(unit_id, 0) + count
    return counts


def list_unit_results(session: Session, unit: AdminUnit, *, page: int = 1, per_page: int = 20):
    """Public results issued by a unit, newest first, as a `ResultsPage`.

    A current unit: its own results and those of every old unit merged into it, partly or wholly
    (the same rule as the search filter `current_unit`). An old unit: its own results and, for an
    old district, those of its communes.
    """
    from portal.records.models import Access, Record
    from portal.search.service import RecordHit, ResultsPage, _load_options

    if unit.system == UnitSystem.CURRENT:
        olds = select(UnitSuccession.old_unit_id).where(UnitSuccession.new_unit_id == unit.id)
        where = or_(Record.issuing_unit_id == unit.id, Record.issuing_unit_id.in_(olds))
    else:
        children = select(AdminUnit.id).where(AdminUnit.parent_id == unit.id)
        where = or_(Record.issuing_unit_id == unit.id, Record.issuing_unit_id.in_(children))
    query = select(Record).where(where, Record.access == Access.PUBLIC)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    records = session.scalars(query.options(*_load_options()).order_by(Record.issued_date.desc(), Record.id)
                              .offset((page - 1) * per_page).limit(per_page)).unique().all()
    return ResultsPage(query="", total=total, hits=[RecordHit(record=r) for r in records], page=page,
                       per_page=per_page)
