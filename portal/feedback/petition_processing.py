"""The staff's side of petitions: the queue of a clerk's units (supervisors also get the city's),
one petition with its sender's contacts, and the actions that classify, forward, answer, decline
and publish it.

Who handles a petition: the clerks and supervisors of its unit (``Petition.unit_id``, a current
commune or ward; `portal.casework` says who works for which units). A petition addressed to the
city (no unit) waits for a supervisor, any one: supervisors sort the city's mail and forward it to
the unit that should answer. Forwarding moves the petition whole: the new unit's staff see it, the
old unit's no longer do; its deadline does not move (`petition_categories`).

Complaints (khiếu nại, Law on Complaints 2011) and denunciations (tố cáo, Law on Denunciations
2018) are not petitions: staff *decline* such a message and the sender reads where to take it.

Module functions with an explicit session and staff member; they flush, never commit, and raise
portal.errors exceptions. Each action first claims the petition (`casework.claim`): two clerks
acting at once, or a forward between a page and a click, do not both go through. Every staff look
at the sender's contacts is on the audit chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from portal import audit, casework
from portal.casework import AlreadyProcessed as AlreadyProcessed  # raised by the actions below
from portal.clock import Calendar
from portal.db import utcnow
from portal.errors import Forbidden, InvalidInput, NotFound, PortalError
from portal.feedback import mails
from portal.feedback.models import Petition, PetitionAbout, PetitionEvent, PetitionState
from portal.feedback.petition_categories import (
    OPEN_STATES,
    Categories,
    answered_late,
    days_left,
    due_at,
    is_overdue,
    load_categories,
    overdue_clause,
)
from portal.feedback.petitions import clean_text
from portal.identity.models import StaffRole, StaffUser
from portal.paging import Paged, page_count
from portal.units.models import AdminUnit, UnitLevel, UnitSystem

MAX_ANSWER = 10000
MAX_NOTE = 2000
#: Queue tabs; "overdue" cuts across the open states.
QUEUE_TABS = ("received", "in_progress", "answered", "declined", "overdue")

#: Why a message is not a petition. The code is the note of the "decline" event; the guidance the
#: sender reads is the template's (petition_guidance in the views), the clerk's explanation
#: ``Petition.answer``.
DECLINE_REASONS = ("complaint", "denunciation", "no_content", "duplicate")


class NotNow(PortalError):
    """The action does not apply to the petition as it stands (``str()``: "state", "published")."""

    status = 409


# -- scope ----------------------------------------------------------------------------------------


def handles_city(staff: StaffUser) -> bool:
    """Petitions addressed to the city (no unit) are sorted by supervisors."""
    return staff.active and staff.role == StaffRole.SUPERVISOR


def serves_petition(staff: StaffUser, petition: Petition) -> bool:
    if petition.unit_id is None:
        return handles_city(staff)
    return petition.unit_id in casework.unit_ids(staff)


def _scope(staff: StaffUser):
    clauses = []
    units = casework.unit_ids(staff)
    if units:
        clauses.append(Petition.unit_id.in_(units))
    if handles_city(staff):
        clauses.append(Petition.unit_id.is_(None))
    return or_(*clauses) if clauses else None


@dataclass(frozen=True)
class QueueRow:
    petition: Petition
    overdue: bool
    late: bool
    days_left: int


@dataclass(frozen=True)
class PetitionQueue(Paged):
    rows: list[QueueRow]
    total: int
    page: int
    per_page: int
    tab: str
    #: Petitions per tab of QUEUE_TABS.
    counts: dict[str, int] = field(default_factory=dict)



def list_petitions(session: Session, staff: StaffUser, tab: str = "received", page: int = 1, *,
                   now: datetime | None = None, per_page: int = 25) -> PetitionQueue:
    """The petitions ``staff`` handles, by tab: open ones earliest deadline first, closed ones
    latest first. An unknown tab or page gives the first (a bad query string is never an error)."""
    now = now or utcnow()
    tab = tab if tab in QUEUE_TABS else "received"
    scope = _scope(staff)
    if scope is None:
        return PetitionQueue([], 0, 1, per_page, tab, dict.fromkeys(QUEUE_TABS, 0))
    by_state = dict(session.execute(select(Petition.state, func.count()).where(scope)
                                    .group_by(Petition.state)).all())
    counts = {s.value: by_state.get(s.value, 0) for s in PetitionState}
    counts["overdue"] = session.scalar(select(func.count()).select_from(Petition).where(
        scope, overdue_clause(now))) or 0
    where = [scope, overdue_clause(now) if tab == "overdue" else Petition.state == tab]
    total = counts[tab]
    last = page_count(total, per_page)
    page = page if isinstance(page, int) and 1 <= page <= last else 1
    order = (Petition.due_at, Petition.id) if tab in ("received", "in_progress", "overdue") \
        else (Petition.updated_at.desc(), Petition.id.desc())
    petitions = session.scalars(select(Petition).where(*where).options(selectinload(Petition.unit))
                                .order_by(*order).offset((page - 1) * per_page).limit(per_page)).all()
    rows = [QueueRow(p, is_overdue(p, now), answered_late(p), days_left(p, now)) for p in petitions]
    return PetitionQueue(rows, total, page, per_page, tab, counts)


def count_overdue(session: Session, staff: StaffUser, *, now: datetime | None = None) -> int:
    scope = _scope(staff)
    if scope is None:
        return 0
    return session.scalar(select(func.count()).select_from(Petition).where(
        scope, overdue_clause(now or utcnow()))) or 0


def get_for_staff(session: Session, staff: StaffUser, reference: str) -> Petition:
    """The petition if ``staff`` handles it, read fresh. Raises NotFound for an unknown reference
    and for another unit's petition alike (a 403 would confirm that it exists)."""
    petition = session.scalar(select(Petition).where(Petition.reference == (reference or "").strip().upper())
                              .options(selectinload(Petition.events))
                              .execution_options(populate_existing=True))
    if petition is None or not serves_petition(staff, petition):
        raise NotFound()
    return petition


def open_petition(session: Session, staff: StaffUser, reference: str) -> Petition:
    """`get_for_staff`, with the look at the sender's contact details on the audit chain."""
    petition = get_for_staff(session, staff, reference)
    audit.record(session, staff.audit_name, "petition.view_contacts", f"petition:{petition.reference}",
                 purpose=f"giải quyết phản ánh, kiến nghị {petition.reference}")
    return petition


# -- actions --------------------------------------------------------------------------------------


def _require(staff: StaffUser, petition: Petition, states: set[str]) -> None:
    if not serves_petition(staff, petition):
        raise Forbidden("unit")
    if petition.state not in states:
        raise NotNow("state")


def _claim(session: Session, petition: Petition, now: datetime) -> None:
    """Compare-and-set on the state and unit as read: two clerks acting at once, or a forward
    between a page and a click, must not both go through."""
    casework.claim(session, petition, now, "unit_id")


def _event(session: Session, petition: Petition, staff: StaffUser, action: str, now: datetime, *,
           note: str = "", from_unit_id: int | None = None, to_unit_id: int | None = None) -> PetitionEvent:
    event = PetitionEvent(petition=petition, at=now, action=action, actor=staff.audit_name, note=note,
                          from_unit_id=from_unit_id, to_unit_id=to_unit_id)
    session.add(event)
    audit.record(session, staff.audit_name, f"petition.{action}", f"petition:{petition.reference}",
                 details={k: v for k, v in (("from_unit", from_unit_id), ("to_unit", to_unit_id),
                                            ("category", petition.category if action == "classify" else None))
                          if v is not None})
    session.flush()
    return event


def _note(note: str) -> str:
    note = clean_text(note).strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput("note")
    return note


def classify(session: Session, staff: StaffUser, petition: Petition, category: str, about: str,
             note: str = "", *, now: datetime | None = None, categories: Categories | None = None,
             calendar: Calendar | None = None) -> PetitionEvent:
    """Set the category (and what it is about): the petition is in progress, due the category's
    working days after receipt. Raises Forbidden, NotNow, InvalidInput ("category", "about",
    "note"), AlreadyProcessed."""
    categories = categories or load_categories()
    now = now or utcnow()
    _require(staff, petition, set(OPEN_STATES))
    if categories.get(category) is None or category == categories.default:
        raise InvalidInput("category")
    if about not in {a.value for a in PetitionAbout}:
        raise InvalidInput("about")
    note = _note(note)
    _claim(session, petition, now)
    petition.category, petition.about = category, about
    petition.state = PetitionState.IN_PROGRESS.value
    petition.due_at = due_at(petition.received_at, category, categories, calendar)
    return _event(session, petition, staff, "classify", now, note=note)


def forward(session: Session, staff: StaffUser, petition: Petition, to_unit: AdminUnit, note: str = "", *,
            now: datetime | None = None) -> PetitionEvent:
    """Hand the petition to another current commune or ward; its deadline does not move.

    Raises Forbidden, NotNow, InvalidInput ("unit", "note"), AlreadyProcessed."""
    now = now or utcnow()
    _require(staff, petition, set(OPEN_STATES))
    if to_unit is None or to_unit.system != UnitSystem.CURRENT or to_unit.level != UnitLevel.COMMUNE \
            or to_unit.id == petition.unit_id:
        raise InvalidInput("unit")
    note = _note(note)
    _claim(session, petition, now)
    from_unit_id = petition.unit_id
    petition.unit = to_unit
    petition.unit_id = to_unit.id
    return _event(session, petition, staff, "forward", now, note=note, from_unit_id=from_unit_id,
                  to_unit_id=to_unit.id)


def answer(session: Session, staff: StaffUser, petition: Petition, text: str, publish: bool = False, *,
           now: datetime | None = None) -> PetitionEvent:
    """Answer a classified petition (the sender is told by e-mail), published at once if asked.

    Raises Forbidden, NotNow (not classified yet, or closed), InvalidInput ("answer"), AlreadyProcessed."""
    now = now or utcnow()
    _require(staff, petition, {PetitionState.IN_PROGRESS.value})
    text = clean_text(text).replace("\r\n", "\n").strip()
    if not text or len(text) > MAX_ANSWER:
        raise InvalidInput("answer")
    _claim(session, petition, now)
    petition.answer = text
    petition.state = PetitionState.ANSWERED.value
    petition.answered_at, petition.answered_by = now, staff
    event = _event(session, petition, staff, "answer", now)
    if publish:
        _set_published(session, staff, petition, True, now)
    if petition.sender_email:
        mails.queue(session, "petition", "answered", petition.id)
    return event


def decline(session: Session, staff: StaffUser, petition: Petition, reason_code: str, note: str = "", *,
            now: datetime | None = None) -> PetitionEvent:
    """Close a message that is not a petition (a complaint, a denunciation, no content, a
    duplicate) with the guidance of ``reason_code`` and the clerk's explanation.

    Raises Forbidden, NotNow, InvalidInput ("reason", "note"), AlreadyProcessed."""
    now = now or utcnow()
    _require(staff, petition, set(OPEN_STATES))
    if reason_code not in DECLINE_REASONS:
        raise InvalidInput("reason")
    note = _note(note)
    _claim(session, petition, now)
    petition.state = PetitionState.DECLINED.value
    petition.answer = note
    petition.answered_at, petition.answered_by = now, staff
    # The event's note is the reason code: the guidance is rendered from it in the reader's language.
    event = _event(session, petition, staff, "decline", now, note=reason_code)
    if petition.sender_email:
        mails.queue(session, "petition", "declined", petition.id)
    return event


def decline_reason(petition: Petition) -> str:
    """The reason code of a declined petition ("" otherwise)."""
    if petition.state != PetitionState.DECLINED.value:
        return ""
    return next((e.note for e in reversed(petition.events) if e.action == "decline"), "")


def _set_published(session: Session, staff: StaffUser, petition: Petition, value: bool,
                   now: datetime) -> None:
    petition.published = value
    petition.published_at = now if value else None
    _event(session, petition, staff, "publish" if value else "unpublish", now)


def publish(session: Session, staff: StaffUser, petition: Petition, *, now: datetime | None = None) -> None:
    """Put the answer on the public list (without the sender's name or contacts).
    Raises Forbidden, NotNow ("state": not answered; "published": already)."""
    _require(staff, petition, {PetitionState.ANSWERED.value})
    if petition.published:
        raise NotNow("published")
    _set_published(session, staff, petition, True, now or utcnow())


def unpublish(session: Session, staff: StaffUser, petition: Petition, *, now: datetime | None = None) -> None:
    """Take the answer off the public list. Raises Forbidden, NotNow."""
    _require(staff, petition, {PetitionState.ANSWERED.value})
    if not petition.published:
        raise NotNow("published")
    _set_published(session, staff, petition, False, now or utcnow())


def list_forward_targets(session: Session, petition: Petition) -> list[AdminUnit]:
    """Current communes and wards a petition can be forwarded to (all but its own)."""
    from portal.units.services import list_current_communes

    return [u for u in list_current_communes(session) if u.id != petition.unit_id]


def find_forward_target(session: Session, unit_id: str | None) -> AdminUnit | None:
    """The unit a forward form names by id; None for an empty or malformed id (`forward` then
    refuses it like any unit that is not a current commune or ward)."""
    raw = unit_id or ""
    return session.get(AdminUnit, int(raw)) if raw.isdecimal() and len(raw) < 10 else None


def timeline(session: Session, petition: Petition) -> list[casework.TimelineRow]:
    """The petition's events, oldest first, with who acted: a colleague by name, the sender, or the
    system."""
    return casework.timeline(session, petition.events, lambda kind: (
        ("", "sender") if kind in ("citizen", "anonymous") else ("", "system")))
