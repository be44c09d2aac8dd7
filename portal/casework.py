"""Casework: who works on the cases of a unit, what is overdue, and how two clerks never act twice.

Copy requests, petitions and problem reports are cases: each belongs to a unit (``unit_id``, the
current commune or ward handling it), has a ``state``, and copy requests and petitions a
deadline (``due_at``). Every area keeps its own states and actions; this module keeps what they
share, so that "who may work on it" and "what is overdue" mean the same on every queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
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


@dataclass(frozen=True)
class TimelineRow:
    event: Any
    #: Who acted, as staff read it: a colleague's name, the person who sent the case, or "".
    who: str
    #: "staff", "system", or the area's word for that person ("requester", "sender").
    who_kind: str


def timeline(session: Session, events: Iterable[Any],
             other: Callable[[str], tuple[str, str]]) -> list[TimelineRow]:
    """A case's events in the order given, each with who acted: a ``"staff:<id>"`` actor by the
    colleague's full name (the actor itself for an id not found), all resolved in one query; any
    other actor as ``other(kind)`` says, ``kind`` being what stands before the colon ("citizen",
    "anonymous", "system"…), as ``(who, who_kind)``."""
    events = list(events)
    ids = {event.actor: int(raw) for event in events
           for kind, _, raw in [event.actor.partition(":")] if kind == "staff" and raw.isdecimal()}
    names = dict(session.execute(select(StaffUser.id, StaffUser.full_name)
                                 .where(StaffUser.id.in_(set(ids.values())))).all()) if ids else {}
    rows = []
    for event in events:
        if event.actor in ids:
            rows.append(TimelineRow(event, names.get(ids[event.actor], event.actor), "staff"))
        else:
            rows.append(TimelineRow(event, *other(event.actor.partition(":")[0])))
    return rows


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
