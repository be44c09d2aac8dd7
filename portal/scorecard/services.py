"""Which scorecard a code in the URL means: a current commune/ward, an old unit that lives on in
current ones, or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.errors import NotFound
from portal.scorecard import metrics, snapshots
from portal.units.models import AdminUnit, UnitLevel, UnitSystem
from portal.units.services import normalize_code, successors

#: Codes are digits: 2 (province), 3 (old district) or 5 (commune/ward).
MAX_CODE_LENGTH = 5


@dataclass(frozen=True)
class Scope:
    """A code resolved: ``unit`` is a current commune/ward; ``legacy`` an old unit with ``moved_to``."""

    unit: AdminUnit | None = None
    city: bool = False
    legacy: AdminUnit | None = None
    moved_to: list[AdminUnit] = field(default_factory=list)


def resolve(session: Session, code: str) -> Scope:
    """The unit a scorecard code names. Raises NotFound for anything else (not digits, unknown)."""
    if not code.isdecimal() or len(code) > MAX_CODE_LENGTH:
        raise NotFound(code)
    # By length, as the statistics office writes them; leading zeros of a commune code are optional.
    level = {2: UnitLevel.PROVINCE, 3: UnitLevel.DISTRICT}.get(len(code), UnitLevel.COMMUNE)
    padded = normalize_code(code) if level == UnitLevel.COMMUNE else code
    current = session.scalar(select(AdminUnit).where(
        AdminUnit.system == UnitSystem.CURRENT, AdminUnit.level == level, AdminUnit.code == padded))
    if current is not None:
        return Scope(city=True) if level == UnitLevel.PROVINCE else Scope(unit=current)
    old = session.scalar(select(AdminUnit).where(
        AdminUnit.system == UnitSystem.LEGACY, AdminUnit.level == level, AdminUnit.code == padded))
    if old is None or level == UnitLevel.PROVINCE:
        raise NotFound(code)
    return Scope(legacy=old, moved_to=_current_units_of(session, old))


def _current_units_of(session: Session, old: AdminUnit) -> list[AdminUnit]:
    """Where an old unit went: its successors; for an old district, those of its communes."""
    if old.level == UnitLevel.DISTRICT:
        communes = session.scalars(select(AdminUnit).where(AdminUnit.parent_id == old.id)).all()
        seen: dict[int, AdminUnit] = {}
        for commune in communes:
            for link in successors(commune):
                seen.setdefault(link.new_unit.id, link.new_unit)
        return sorted(seen.values(), key=lambda unit: unit.code)
    return [link.new_unit for link in successors(old)]


def scorecard(session: Session, unit: AdminUnit | None, period: metrics.Period,
              now: datetime) -> snapshots.Snapshot:
    """The public scorecard of a current unit (None: the city, with the unit ranking), as last
    counted (`snapshots`): counted now and stored if it never was. The caller commits.

    Public aggregates only: no personal data is read, so nothing is written to the access log.
    """
    return snapshots.load(session, unit, period, now)
