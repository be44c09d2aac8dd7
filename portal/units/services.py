"""Queries on units: lookups by code, and successors across the 1 July 2025 merger."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.errors import NotFound
from portal.units.models import AdminUnit, UnitSuccession, UnitSystem


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
