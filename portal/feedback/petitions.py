"""Petitions (phản ánh, kiến nghị, Decree 20/2008/NĐ-CP): feedback and proposals on administrative
rules and on how they were applied. This module is the public side: anyone may send one and follow
it with its reference and tracking code (`portal.tracking`), and everyone may read the answers
staff chose to publish. Staff handle petitions in `petition_processing`; categories and deadlines
are `petition_categories`, the sender's e-mails `petition_mails`.

Module functions with an explicit session and actor; they flush, never commit, and raise
portal.errors exceptions. The sender's name, address, phone and e-mail are personal data: never on
the public list of answers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from portal import tracking
from portal.clock import Calendar
from portal.db import utcnow
from portal.errors import InvalidInput, NotFound
from portal.feedback import mails, petition_categories
from portal.feedback.models import Petition, PetitionAbout, PetitionEvent, PetitionState
from portal.feedback.petition_categories import Categories, load_categories
from portal.identity.models import Citizen
from portal.paging import Paged, page_count
from portal.tracking import TrackingFailed, valid_email  # noqa: F401  (TrackingFailed: for the views)
from portal.units.models import AdminUnit, UnitLevel, UnitSystem

MAX_NAME = 200
MAX_ADDRESS = 300
MAX_EMAIL = 200
MAX_TITLE = 200
MIN_CONTENT = 20
MAX_CONTENT = 5000
#: "PA-2026-000123": PA for phản ánh; the year of receipt (Hanoi time); the petition's id.
REFERENCE_PREFIX = "PA"
REFERENCE_PATTERN = tracking.reference_pattern(REFERENCE_PREFIX)
#: 0912 345 678, 024 3825 1234, +84 912 345 678 (spaces, dots and dashes allowed between digits).
PHONE_PATTERN = re.compile(r"(?:0|\+84)\d{9,10}")


class PetitionInvalid(InvalidInput):
    """The petition form has errors: ``errors`` maps a field to a code ("required", "too_long"…)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}:{v}" for k, v in errors.items()))
        self.errors = errors


# -- submitting -----------------------------------------------------------------------------------


def clean_text(value: Any) -> str:
    # NFC: a title typed on a phone (decomposed tone marks) is stored, searched and shown as the
    # same characters as one typed on a desktop.
    return unicodedata.normalize("NFC", str(value or ""))


def clean_line(value: Any) -> str:
    return " ".join(clean_text(value).split())


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
    name, address = clean_line(data.sender_name), clean_line(data.sender_address)
    for key, value, limit in (("sender_name", name, MAX_NAME), ("sender_address", address, MAX_ADDRESS)):
        if not value:
            errors[key] = "required"
        elif len(value) > limit:
            errors[key] = "too_long"
    raw_phone, email = clean_line(data.sender_phone), clean_line(data.sender_email)
    phone = clean_phone(raw_phone)
    if raw_phone and not phone:
        errors["sender_phone"] = "invalid"
    if email and (len(email) > MAX_EMAIL or not valid_email(email)):
        errors["sender_email"] = "invalid"
    if not raw_phone and not email:
        errors["contact"] = "required"
    if data.about not in {a.value for a in PetitionAbout}:
        errors["about"] = "required"
    title = clean_line(data.title)
    if not title:
        errors["title"] = "required"
    elif len(title) > MAX_TITLE:
        errors["title"] = "too_long"
    content = clean_text(data.content).replace("\r\n", "\n").replace("\r", "\n").strip()
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
    clean, unit = _validated(session, PetitionData.of(data))
    petition = Petition(
        reference=tracking.temporary_reference(), about=clean.about, title=clean.title, content=clean.content,
        sender_name=clean.sender_name, sender_address=clean.sender_address, sender_phone=clean.sender_phone,
        sender_email=clean.sender_email, citizen_id=actor.id if isinstance(actor, Citizen) else None,
        unit=unit, category="", state=PetitionState.RECEIVED.value, received_at=now,
        due_at=petition_categories.due_at(now, categories.default, categories, calendar))
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


# -- the sender: tracking -------------------------------------------------------------------------


def track(session: Session, reference: str, code: str) -> Petition:
    """The petition with this reference, if ``code`` is its tracking code. Raises TrackingFailed
    (one answer for an unknown reference and a wrong code). Guessing is stopped by the view's
    rate limit (FEEDBACK_TRACK_RATE_LIMIT) and the code's 31^10 possibilities."""
    return tracking.find_tracked(session, Petition, REFERENCE_PATTERN, reference, code,
                                 selectinload(Petition.events), selectinload(Petition.unit))


#: Staff's steps the sender's page does not list (whether the answer is on the public list is).
UNLISTED_STEPS = frozenset({"publish", "unpublish"})


@dataclass(frozen=True)
class PetitionStep:
    at: datetime
    action: str
    #: Where it was forwarded ("forward" only), by name.
    to_unit: str


@dataclass(frozen=True)
class PetitionStatus:
    """What the holder of a reference and its tracking code learns of the petition: its progress as
    the tracking page shows it (not the sender's name or contacts)."""

    reference: str
    state: str
    #: The unit handling it, by name; None: the city.
    unit: str | None
    received_at: datetime
    #: The last listed step's time.
    updated_at: datetime
    #: None once it is declined (the tracking page shows no deadline then).
    due_at: datetime | None
    overdue: bool
    answered_at: datetime | None
    answered_late: bool
    published: bool
    steps: list[PetitionStep]


def tracked_status(petition: Petition, now: datetime | None = None) -> PetitionStatus:
    """The status of a petition found by `track`."""
    steps = [PetitionStep(at=e.at, action=e.action,
                          to_unit=e.to_unit.name if e.action == "forward" and e.to_unit else "")
             for e in petition.events if e.action not in UNLISTED_STEPS]
    return PetitionStatus(
        reference=petition.reference, state=petition.state,
        unit=petition.unit.name if petition.unit else None, received_at=petition.received_at,
        updated_at=max((step.at for step in steps), default=petition.received_at),
        due_at=petition.due_at if petition.state != PetitionState.DECLINED.value else None,
        overdue=petition_categories.is_overdue(petition, now), answered_at=petition.answered_at,
        answered_late=petition_categories.answered_late(petition), published=petition.published,
        steps=steps)


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

    query = clean_line(q)[:200]
    order = (Petition.published_at.desc(), Petition.id.desc())
    if query:
        words = fold(query).split()
        rows = session.execute(select(Petition.id, Petition.title, Petition.content, Petition.answer)
                               .where(_published()).order_by(*order)).all()
        ids = [r.id for r in rows if all(w in fold(f"{r.title} {r.content} {r.answer}") for w in words)]
        total = len(ids)
    else:
        total = session.scalar(select(func.count()).select_from(Petition).where(_published())) or 0
    last = page_count(total, per_page)
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
