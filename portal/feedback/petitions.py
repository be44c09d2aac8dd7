"""Petitions (phản ánh, kiến nghị, Decree 20/2008/NĐ-CP): feedback and proposals on administrative
rules and on how they were applied. Anyone may send one; staff classify it (which sets its
deadline), forward it to the competent unit, answer it and may publish the answer.

Complaints (khiếu nại, Law on Complaints 2011) and denunciations (tố cáo, Law on Denunciations
2018) are not petitions: staff *decline* such a message and the sender reads where to take it.

Who handles a petition: the clerks and supervisors of its unit (``Petition.unit_id``, a current
commune or ward). A petition addressed to the city (no unit) waits for a supervisor, any one:
supervisors sort the city's mail and forward it to the unit that should answer. Forwarding moves
the petition whole: the new unit's staff see it, the old unit's no longer do. The deadline keeps
counting from receipt (Decree 20/2008 counts from when the administration received it), so a
forward never buys time.

Module functions with an explicit session and actor; they flush, never commit, and raise
portal.errors exceptions. The sender's name, address, phone and e-mail are personal data: never on
the public list of answers, and every staff look at them is on the audit chain.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from portal import audit, casework, clock, mail, tracking
from portal.casework import AlreadyProcessed as AlreadyProcessed  # raised by the staff's actions
from portal.clock import Calendar, load_calendar
from portal.db import utcnow
from portal.errors import Forbidden, InvalidInput, NotFound, PortalError
from portal.feedback import mails
from portal.feedback.models import Petition, PetitionAbout, PetitionEvent, PetitionState
from portal.identity.models import Citizen, StaffRole, StaffUser
from portal.paging import Paged
from portal.tracking import TrackingFailed, valid_email
from portal.units.models import AdminUnit, UnitLevel, UnitSystem

DEFAULT_CATEGORIES_FILE = Path(__file__).parent / "data" / "petition_categories.json"

MAX_NAME = 200
MAX_ADDRESS = 300
MAX_EMAIL = 200
MAX_TITLE = 200
MIN_CONTENT = 20
MAX_CONTENT = 5000
MAX_ANSWER = 10000
MAX_NOTE = 2000
#: "PA-2026-000123": PA for phản ánh; the year of receipt (Hanoi time); the petition's id.
REFERENCE_PREFIX = "PA"
REFERENCE_PATTERN = tracking.reference_pattern(REFERENCE_PREFIX)
#: 0912 345 678, 024 3825 1234, +84 912 345 678 (spaces, dots and dashes allowed between digits).
PHONE_PATTERN = re.compile(r"(?:0|\+84)\d{9,10}")

OPEN_STATES = frozenset({PetitionState.RECEIVED.value, PetitionState.IN_PROGRESS.value})
#: Queue tabs; "overdue" cuts across the open states.
QUEUE_TABS = ("received", "in_progress", "answered", "declined", "overdue")

#: Why a message is not a petition. The code is the note of the "decline" event; the guidance the
#: sender reads is the template's (petition_guidance in the views), the clerk's explanation
#: ``Petition.answer``.
DECLINE_REASONS = ("complaint", "denunciation", "no_content", "duplicate")


class PetitionInvalid(InvalidInput):
    """The petition form has errors: ``errors`` maps a field to a code ("required", "too_long"…)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}:{v}" for k, v in errors.items()))
        self.errors = errors


class NotNow(PortalError):
    """The action does not apply to the petition as it stands (``str()``: "state", "published")."""

    status = 409


# -- categories -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    id: str
    vi: str
    en: str
    working_days: int


@dataclass(frozen=True)
class Categories:
    default: str
    items: tuple[Category, ...]

    def get(self, category_id: str) -> Category | None:
        return next((c for c in self.items if c.id == category_id), None)

    @property
    def default_category(self) -> Category:
        category = self.get(self.default)
        assert category is not None  # checked by parse_categories
        return category

    def days_for(self, category_id: str) -> int:
        return (self.get(category_id) or self.default_category).working_days


def parse_categories(data: Mapping) -> Categories:
    """Categories from the JSON shape of data/petition_categories.json. Raises ValueError saying
    what is wrong: a bad file must stop the app at boot, not the first clerk who classifies."""
    if not isinstance(data, Mapping) or not isinstance(data.get("categories"), list) \
            or not data["categories"]:
        raise ValueError("petition categories: a non-empty 'categories' list is required")
    items, seen = [], set()
    for raw in data["categories"]:
        if not isinstance(raw, Mapping):
            raise ValueError("petition categories: each category is an object")
        cid, days = raw.get("id"), raw.get("working_days")
        if not isinstance(cid, str) or not re.fullmatch(r"[a-z0-9_]{1,30}", cid):
            raise ValueError(f"petition categories: bad id {cid!r} (a-z, 0-9, _; at most 30)")
        if cid in seen:
            raise ValueError(f"petition categories: duplicate id {cid!r}")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            raise ValueError(f"petition categories: {cid}: working_days must be a whole number 1..365")
        for lang in ("vi", "en"):
            if not isinstance(raw.get(lang), str) or not raw[lang].strip():
                raise ValueError(f"petition categories: {cid}: a {lang!r} name is required")
        seen.add(cid)
        items.append(Category(cid, raw["vi"], raw["en"], days))
    default = data.get("default")
    if default not in seen:
        raise ValueError(f"petition categories: default {default!r} is not one of the categories")
    return Categories(default=default, items=tuple(items))


@lru_cache(maxsize=8)
def load_categories(path: str | Path | None = None) -> Categories:
    """The categories of ``path`` (default: the packaged file), read and validated once per process."""
    with open(path or DEFAULT_CATEGORIES_FILE, encoding="utf-8") as f:
        return parse_categories(json.load(f))


def categories_from_config(config: Mapping) -> Categories:
    return load_categories(config.get("FEEDBACK_PETITION_CATEGORIES_FILE") or None)


# -- submitting -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    # NFC: a title typed on a phone (decomposed tone marks) is stored, searched and shown as the
    # same characters as one typed on a desktop.
    return unicodedata.normalize("NFC", str(value or ""))


def _line(value: Any) -> str:
    return " ".join(_text(value).split())


def clean_phone(value: str) -> str:
    """"0912 345 678" → "0912345678"; "" when it is not a Vietnamese phone number."""
    phone = re.sub(r"[\s.\-()]", "", value or "")
    return phone if PHONE_PATTERN.fullmatch(phone) else ""


@dataclass(frozen=True)
class PetitionData:
    sender_name: str = ""
    sender_address: str = ""
    sender_phone: str = ""
    sender_email: str = ""
    about: str = ""
    title: str = ""
    content: str = ""
    #: A current commune or ward; None: the city.
    unit_id: int | None = None

    @classmethod
    def of(cls, data: PetitionData | Mapping) -> PetitionData:
        if isinstance(data, PetitionData):
            return data
        unit = data.get("unit_id")
        if isinstance(unit, str):
            unit = int(unit) if unit.isdecimal() and len(unit) < 10 else (None if not unit else -1)
        return cls(**{name: str(data.get(name) or "") for name in (
            "sender_name", "sender_address", "sender_phone", "sender_email", "about", "title", "content")},
            unit_id=unit if isinstance(unit, int) else None)


def _validated(session: Session, data: PetitionData) -> tuple[PetitionData, AdminUnit | None]:
    errors: dict[str, str] = {}
    name, address = _line(data.sender_name), _line(data.sender_address)
    for key, value, limit in (("sender_name", name, MAX_NAME), ("sender_address", address, MAX_ADDRESS)):
        if not value:
            errors[key] = "required"
        elif len(value) > limit:
            errors[key] = "too_long"
    raw_phone, email = _line(data.sender_phone), _line(data.sender_email)
    phone = clean_phone(raw_phone)
    if raw_phone and not phone:
        errors["sender_phone"] = "invalid"
    if email and (len(email) > MAX_EMAIL or not valid_email(email)):
        errors["sender_email"] = "invalid"
    if not raw_phone and not email:
        errors["contact"] = "required"
    if data.about not in {a.value for a in PetitionAbout}:
        errors["about"] = "required"
    title = _line(data.title)
    if not title:
        errors["title"] = "required"
    elif len(title) > MAX_TITLE:
        errors["title"] = "too_long"
    content = _text(data.content).replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(content) < MIN_CONTENT:
        errors["content"] = "too_short" if content else "required"
    elif len(content) > MAX_CONTENT:
        errors["content"] = "too_long"
    unit = None
    if data.unit_id is not None:
        unit = session.get(AdminUnit, data.unit_id) if data.unit_id > 0 else None
        if unit is None or unit.system != UnitSystem.CURRENT or unit.level != UnitLevel.COMMUNE:
            errors["unit_id"] = "invalid"
            unit = None
    if errors:
        raise PetitionInvalid(errors)
    return PetitionData(name, address, phone, email, data.about, title, content,
                        unit.id if unit else None), unit


def submit_petition(session: Session, actor: Citizen | None, data: PetitionData | Mapping,
                    now: datetime | None = None, *, categories: Categories | None = None,
                    calendar: Calendar | None = None) -> tuple[Petition, str]:
    """Receive a petition from anyone (``actor``: the logged-in citizen, or None); returns it and
    its tracking code (shown once, e-mailed, stored hashed). Raises PetitionInvalid."""
    now = now or utcnow()
    categories = categories or load_categories()
    calendar = calendar or load_calendar()
    clean, unit = _validated(session, PetitionData.of(data))
    petition = Petition(
        reference=tracking.temporary_reference(), about=clean.about, title=clean.title, content=clean.content,
        sender_name=clean.sender_name, sender_address=clean.sender_address, sender_phone=clean.sender_phone,
        sender_email=clean.sender_email, citizen_id=actor.id if isinstance(actor, Citizen) else None,
        unit=unit, category="", state=PetitionState.RECEIVED.value, received_at=now,
        due_at=calendar.after_working_days(now, categories.default_category.working_days))
    session.add(petition)
    session.flush()  # the id makes the reference: unique and sequential without a counter to lock
    petition.reference = tracking.final_reference(REFERENCE_PREFIX, now, petition.id)
    code, petition.tracking_code_hash = tracking.new_code(petition.reference)
    who = actor.audit_name if isinstance(actor, Citizen) else "anonymous"
    session.add(PetitionEvent(petition=petition, at=now, action="receive", actor=who,
                              to_unit_id=petition.unit_id))
    session.flush()
    if petition.sender_email:
        mails.queue(session, "petition", "received", petition.id, {"tracking_code": code})
    return petition, code


# -- deadlines ------------------------------------------------------------------------------------


def is_open(petition: Petition) -> bool:
    return petition.state in OPEN_STATES


def is_overdue(petition: Petition, now: datetime | None = None) -> bool:
    """Still open (received or in progress) past its deadline."""
    return casework.is_overdue(petition, OPEN_STATES, now or utcnow())


def answered_late(petition: Petition) -> bool:
    """Answered after its deadline."""
    return petition.answered_at is not None and petition.answered_at > petition.due_at


def days_left(petition: Petition, now: datetime | None = None) -> int:
    """Calendar days from today (Hanoi) to the deadline's day: negative when overdue by that many."""
    now = now or utcnow()
    return (clock.in_hanoi(petition.due_at).date() - clock.in_hanoi(now).date()).days


def _overdue_clause(now: datetime):
    return casework.overdue_clause(Petition, OPEN_STATES, now)


# -- staff: scope ---------------------------------------------------------------------------------


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
        scope, _overdue_clause(now))) or 0
    where = [scope, _overdue_clause(now) if tab == "overdue" else Petition.state == tab]
    total = counts[tab]
    last = max(1, -(-total // per_page))
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
        scope, _overdue_clause(now or utcnow()))) or 0


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


# -- staff: actions -------------------------------------------------------------------------------


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
    note = _text(note).strip()
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
    petition.due_at = (calendar or load_calendar()).after_working_days(
        petition.received_at, categories.days_for(category))
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
    text = _text(text).replace("\r\n", "\n").strip()
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


@dataclass(frozen=True)
class TimelineRow:
    event: PetitionEvent
    #: Who acted, as staff read it: a colleague's name, "sender", or "".
    who: str
    who_kind: str


def timeline(session: Session, petition: Petition) -> list[TimelineRow]:
    """The petition's events, oldest first, with staff names resolved in one query."""
    ids = {int(raw) for kind, _, raw in (e.actor.partition(":") for e in petition.events)
           if kind == "staff" and raw.isdecimal()}
    names = dict(session.execute(select(StaffUser.id, StaffUser.full_name)
                                 .where(StaffUser.id.in_(ids))).all()) if ids else {}
    rows = []
    for event in petition.events:
        kind, _, raw = event.actor.partition(":")
        if kind == "staff" and raw.isdecimal():
            rows.append(TimelineRow(event, names.get(int(raw), event.actor), "staff"))
        elif kind in ("citizen", "anonymous"):
            rows.append(TimelineRow(event, "", "sender"))
        else:
            rows.append(TimelineRow(event, "", "system"))
    return rows


# -- the sender: tracking -------------------------------------------------------------------------


def track(session: Session, reference: str, code: str) -> Petition:
    """The petition with this reference, if ``code`` is its tracking code. Raises TrackingFailed
    (one answer for an unknown reference and a wrong code). Guessing is stopped by the view's
    rate limit (FEEDBACK_TRACK_RATE_LIMIT) and the code's 31^10 possibilities."""
    reference, code = tracking.read_attempt(REFERENCE_PATTERN, reference, code)
    petition = session.scalar(select(Petition).where(Petition.reference == reference)
                              .options(selectinload(Petition.events), selectinload(Petition.unit)))
    if not tracking.code_matches(petition.tracking_code_hash if petition is not None else None,
                                 reference, code):
        raise TrackingFailed()
    return petition


# -- the public list of answers -------------------------------------------------------------------


@dataclass(frozen=True)
class AnswersPage(Paged):
    items: list[Petition]
    total: int
    page: int
    per_page: int
    query: str



def _published():
    return (Petition.published.is_(True)) & (Petition.state == PetitionState.ANSWERED.value)


def list_published(session: Session, page: int = 1, q: str = "", *, per_page: int = 20) -> AnswersPage:
    """Published answers, latest first; ``q``: every word must appear in the title, the petition
    or the answer, tone marks and case ignored. Matching is done here rather than in SQL
    (SQLite's LIKE folds ASCII only); the published answers of a city are a few thousand rows."""
    from portal.text import fold

    query = _line(q)[:200]
    order = (Petition.published_at.desc(), Petition.id.desc())
    if query:
        words = fold(query).split()
        rows = session.execute(select(Petition.id, Petition.title, Petition.content, Petition.answer)
                               .where(_published()).order_by(*order)).all()
        ids = [r.id for r in rows if all(w in fold(f"{r.title} {r.content} {r.answer}") for w in words)]
        total = len(ids)
    else:
        total = session.scalar(select(func.count()).select_from(Petition).where(_published())) or 0
    last = max(1, -(-total // per_page))
    page = page if isinstance(page, int) and 1 <= page <= last else 1
    if query:
        chosen = ids[(page - 1) * per_page:page * per_page]
        found = {p.id: p for p in session.scalars(select(Petition).where(Petition.id.in_(chosen))
                                                   .options(selectinload(Petition.unit)))}
        items = [found[i] for i in chosen]
    else:
        items = list(session.scalars(select(Petition).where(_published()).options(selectinload(Petition.unit))
                                     .order_by(*order).offset((page - 1) * per_page).limit(per_page)))
    return AnswersPage(items, total, page, per_page, query)


def get_published(session: Session, reference: str) -> Petition:
    """A published answer. Raises NotFound (unknown, unanswered or not published)."""
    petition = session.scalar(select(Petition).where(
        Petition.reference == (reference or "").strip().upper(), _published())
        .options(selectinload(Petition.unit)))
    if petition is None:
        raise NotFound()
    return petition


# -- e-mail ---------------------------------------------------------------------------------------

SUBJECTS = {
    "received": "Đã nhận phản ánh, kiến nghị {reference}",
    "answered": "Trả lời phản ánh, kiến nghị {reference}",
    "declined": "Về phản ánh, kiến nghị {reference}",
}
#: What the sender reads about a declined message, by reason code (Vietnamese: mail is Vietnamese).
DECLINE_GUIDANCE_VI = {
    "complaint": "Nội dung ông/bà gửi là khiếu nại, không phải phản ánh, kiến nghị về quy định hành chính. "
                 "Khiếu nại được giải quyết theo Luật Khiếu nại năm 2011: xin gửi đơn khiếu nại đến cơ quan, "
                 "người có thẩm quyền giải quyết (thường là thủ trưởng cơ quan đã ra quyết định "
                 "hoặc có hành vi bị khiếu nại).",
    "denunciation": "Nội dung ông/bà gửi là tố cáo, không phải phản ánh, kiến nghị về quy định hành chính. "
                    "Tố cáo được giải quyết theo Luật Tố cáo năm 2018: xin gửi đơn tố cáo đến cơ quan, "
                    "tổ chức, cá nhân có thẩm quyền giải quyết tố cáo.",
    "no_content": "Phản ánh, kiến nghị không nêu rõ nội dung về quy định hành chính hoặc việc thực hiện quy "
                  "định hành chính nên không thể xử lý. Ông/bà có thể gửi lại với nội dung cụ thể hơn.",
    "duplicate": "Nội dung này trùng với một phản ánh, kiến nghị đã được tiếp nhận và đang hoặc đã được "
                 "xử lý; cơ quan sẽ không xử lý lại.",
}


def render_mail(session: Session, what: str, object_id: int, payload: dict,
                now: datetime) -> EmailMessage | None:
    """The mail "received" (with the tracking code of ``payload``), "answered" or "declined" to the
    sender's e-mail address; None when there is nothing to send."""
    petition = session.get(Petition, object_id)
    if petition is None or not petition.sender_email or what not in SUBJECTS:
        return None
    base = mail.public_base_url(current_app.config)
    context = {
        "petition": petition,
        "greeting_name": petition.sender_name or "ông/bà",
        "unit_name": petition.unit.name if petition.unit else "Ủy ban nhân dân thành phố Hà Nội",
        "received_time": clock.spoken(petition.received_at),
        "due_date": clock.spoken(petition.due_at),
        "answered_time": clock.spoken(petition.answered_at),
        "tracking_code": (payload or {}).get("tracking_code", ""),
        "tracking_url": f"{base}/feedback/petitions/track",
        "answer_url": f"{base}/feedback/answers/{petition.reference}" if petition.published else "",
        "guidance": DECLINE_GUIDANCE_VI.get(decline_reason(petition), ""),
    }
    subject = SUBJECTS[what].format(reference=petition.reference)
    return mails.compose(petition.sender_email, f"petition_{what}", subject, context,
                         message_id_key=f"petition-{what}-{petition.id}.{petition.reference}", now=now)
