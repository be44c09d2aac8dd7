"""Which units a staff member serves: the current units of their account and every old unit
merged into them (partial merges included). Who may read a result is `portal.records.access`."""

from __future__ import annotations

from portal.identity.models import StaffRole, StaffUser
from portal.units.models import AdminUnit, UnitSystem
from portal.units.services import ids_within


def unit_ids_served(staff: StaffUser) -> set[int]:
    """Ids of the current units a staff member serves and of every old unit merged into them."""
    return ids_within(staff.units)


def serves_unit(staff: StaffUser, unit: AdminUnit) -> bool:
    if not staff.active or staff.role not in (StaffRole.CLERK, StaffRole.SUPERVISOR, StaffRole.ADMIN):
        return False
    if unit.system == UnitSystem.CURRENT:
        return unit.id in {u.id for u in staff.units}
    return unit.id in unit_ids_served(staff)
