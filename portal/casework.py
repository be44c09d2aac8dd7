"""Casework: who works on the cases of a unit, what is overdue, and how two clerks never act twice.

Copy requests, petitions and problem reports are cases: each belongs to a unit (``unit_id``, the
current commune or ward handling it), has a ``state``, and copy requests and petitions a
deadline (``due_at``). Every area keeps its own states and actions; this module keeps what they
share, so that "who may work on it" and "what is overdue" mean the same on every queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from portal.errors import PortalError
from portal.identity.access import unit_ids_served
from portal.identity.models import StaffRole, StaffUser

#: Roles that work on cases (admins manage accounts, not cases).
WORKING_ROLES = frozenset({StaffRole.CLERK, StaffRole.SUPERVISOR})


class AlreadyProcessed(PortalError):
    """A colleague changed the case between reading it and acting on it."""

    status = 409


def works_on_cases(staff: StaffUser) -> bool:
    """An active clerk or supervisor."""
    return staff.active and staff.role in WORKING_ROLES


def unit_ids(staff: StaffUser) -> set[int]:
    """The units whose cases ``staff`` works on: those they serve and the old units merged into
    them; none for an admin or a disabled account."""
    if not works_on_cases(staff):
        return set()
    return unit_ids_served(staff)


def claim(session: Session, case: Any, now: datetime, *as_read: str) -> None:
    """Compare-and-set before a change: touch the case's row only if its ``state`` and the columns
    named in ``as_read`` still hold the values this transaction read. Two clerks pressing the same
    button at once, or an action on a page that a colleague's change made stale: the second claim
    matches no row (on PostgreSQL it first waits for the other transaction's row lock, then reads
    the committed values) and raises AlreadyProcessed before anything else is done."""
    model = type(case)
    conditions = [model.id == case.id]
    for name in ("state", *as_read):
        column, value = getattr(model, name), getattr(case, name)
        conditions.append(column.is_(None) if value is None else column == value)
    claimed = session.execute(update(model).where(*conditions).values(updated_at=now)
                              .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise AlreadyProcessed(case.reference)


def is_overdue(case: Any, open_states: Iterable[str], now: datetime) -> bool:
    """Still open (one of ``open_states``) past its deadline."""
    return case.state in set(open_states) and case.due_at < now


def overdue_clause(model: Any, open_states: Iterable[str], now: datetime):
    """The SQL twin of `is_overdue`, for a queue's filter and counts."""
    return model.state.in_(sorted(map(str, open_states))) & (model.due_at < now)
