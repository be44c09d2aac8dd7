"""Requests to digitize a result the portal does not hold ("Không tìm thấy? Đề nghị số hóa kết quả
của bạn", offered by every search without a hit).

Anyone may send one; it becomes a case of the unit that handles the issuing unit's results now
(`units.services.handling_unit`: an old unit's first successor), with a reference ("SH-…") and a
tracking code shown once and e-mailed, followed without logging in like a petition
(`portal.tracking`). The unit's clerks (`casework.WORKING_ROLES`) claim it and answer: found and
digitized (linked to the result by its source id), not found in the archive, or not issued by
this unit. The requester is told by e-mail through the outbox.

Module functions with an explicit session and actor; they flush, never commit, and raise
portal.errors exceptions. The requester's name and contacts are personal data: seen by the
handling unit's staff only, each look audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from portal import audit, casework, outbox, tracking
from portal.casework import AlreadyProcessed  # noqa: F401  (the views catch it from here)
from portal.coverage.models import OPEN_STATES, DigitizationRequest, DigitizationRequestEvent, RequestState
from portal.coverage.services import find_procedure
from portal.db import utcnow
from portal.errors import InvalidInput, NotFound
from portal.feedback.petitions import clean_line, clean_phone, clean_text
from portal.identity.models import Citizen, StaffUser
from portal.paging import Paged, page_count
from portal.records.services import find_record
from portal.tracking import TrackingFailed, valid_email  # noqa: F401  (TrackingFailed: for the views)
from portal.units.models import AdminUnit, UnitLevel
from portal.units.services import handling_unit

#: "SH-2026-000123": SH for số hóa; the year of receipt (Hanoi time); the request's id.
REFERENCE_PREFIX = "SH"
REFERENCE_PATTERN = tracking.reference_pattern(REFERENCE_PREFIX)
MAX_NUMBER = 60
MAX_NAME = 200
MAX_NOTE = 2000
MAX_ANSWER = 5000
FIRST_YEAR = 1945
#: E-mails to the requester (topic registered by `portal.coverage.init_app`).
MAIL_TOPIC = "email.coverage"
#: The outcomes a clerk may answer with.
OUTCOMES = (RequestState.DIGITIZED, RequestState.NOT_FOUND, RequestState.NOT_OURS)


class RequestInvalid(InvalidInput):
    """The form has errors: ``errors`` maps a field to a code ("required", "invalid"…)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}:{v}" for k, v in errors.items()))
        self.errors = errors


# -- sending --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestData:
    doc_number: str = ""
    issued_date: date | None = None
    issuing_unit_id: int | None = None
    procedure_code: str = ""
    requester_name: str = ""
    requester_email: str = ""
    requester_phone: str = ""
    note: str = ""

    @classmethod
    def of(cls, data: RequestData | Mapping) -> RequestData:
        if isinstance(data, RequestData):
            return data
        unit = data.get("issuing_unit_id")
        if isinstance(unit, str):
            unit = int(unit) if unit.isdecimal() and len(unit) < 10 else None
        issued = data.get("issued_date")
        if isinstance(issued, str):
            issued = _read_date(issued)
        return cls(
            **{
                name: str(data.get(name) or "")
                for name in (
                    "doc_number",
                    "procedure_code",
                    "requester_name",
                    "requester_email",
                    "requester_phone",
                    "note",
                )
            },
            issued_date=issued if isinstance(issued, date) else None,
            issuing_unit_id=unit if isinstance(unit, int) else None,
        )


def _read_date(value: str) -> date | None:
    """ "2019-05-14" (a date input) or "14/05/2019" (typed as printed); None otherwise."""
    value = value.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


def _validated(session: Session, data: RequestData, today: date) -> tuple[dict, AdminUnit]:
    errors: dict[str, str] = {}
    values = {
        "doc_number": clean_line(data.doc_number),
        "requester_name": clean_line(data.requester_name),
        "note": clean_text(data.note).replace("\r\n", "\n").strip(),
    }
    for name, limit in (("doc_number", MAX_NUMBER), ("requester_name", MAX_NAME)):
        if not values[name]:
            errors[name] = "required"
        elif len(values[name]) > limit:
            errors[name] = "too_long"
    if len(values["note"]) > MAX_NOTE:
        errors["note"] = "too_long"
    if data.issued_date is None:
        errors["issued_date"] = "required"  # empty, or not a date
    elif not date(FIRST_YEAR, 1, 1) <= data.issued_date <= today:
        errors["issued_date"] = "invalid"
    unit = session.get(AdminUnit, data.issuing_unit_id) if data.issuing_unit_id else None
    if unit is None or unit.level != UnitLevel.COMMUNE:
        errors["issuing_unit_id"] = "required"
    procedure_code = clean_line(data.procedure_code)
    if procedure_code and find_procedure(session, procedure_code) is None:
        errors["procedure_code"] = "invalid"
    raw_phone, email = clean_line(data.requester_phone), clean_line(data.requester_email)
    phone = clean_phone(raw_phone)
    if raw_phone and not phone:
        errors["requester_phone"] = "invalid"
    if email and not valid_email(email):
        errors["requester_email"] = "invalid"
    if not raw_phone and not email:
        errors["contact"] = "required"
    if errors:
        raise RequestInvalid(errors)
    values.update(
        issued_date=data.issued_date,
        procedure_code=procedure_code or None,
        requester_phone=phone,
        requester_email=email,
    )
    return values, unit


def submit(
    session: Session, actor: Citizen | None, data: RequestData | Mapping, now: datetime | None = None
) -> tuple[DigitizationRequest, str]:
    """Receive a request: (the request, its tracking code as shown once). Raises RequestInvalid."""
    from portal import clock

    now = now or utcnow()
    values, unit = _validated(session, RequestData.of(data), clock.in_hanoi(now).date())
    request = DigitizationRequest(
        reference=tracking.temporary_reference(),
        issuing_unit=unit,
        unit=handling_unit(unit),
        citizen_id=actor.id if isinstance(actor, Citizen) else None,
        received_at=now,
        state=RequestState.RECEIVED.value,
        **values,
    )
    session.add(request)
    session.flush()  # the id makes the reference
    request.reference = tracking.final_reference(REFERENCE_PREFIX, now, request.id)
    code, request.tracking_code_hash = tracking.new_code(request.reference)
    who = actor.audit_name if isinstance(actor, Citizen) else "anonymous"
    session.add(DigitizationRequestEvent(request=request, at=now, action="receive", actor=who))
    session.flush()
    _mail(session, request, "received", {"tracking_code": code})
    return request, code


def _mail(session: Session, request: DigitizationRequest, what: str, payload: dict | None = None) -> None:
    if request.requester_email:
        outbox.add(session, MAIL_TOPIC, f"{what}:{request.id}", payload)


def track(session: Session, reference: str, code: str) -> DigitizationRequest:
    """The request with this reference, if ``code`` is its tracking code. Raises TrackingFailed
    (one answer for an unknown reference and a wrong code). Guessing is stopped by the view's
    limit per address (COVERAGE_TRACK_RATE_LIMIT) and the code's 31^10 possibilities; there is
    no lockout per reference, which a stranger could trigger to lock the requester out."""
    return tracking.find_tracked(session, DigitizationRequest, REFERENCE_PATTERN, reference, code,
                                 selectinload(DigitizationRequest.events))


# -- the handling unit's staff --------------------------------------------------------------------


@dataclass(frozen=True)
class RequestQueue(Paged):
    rows: list[DigitizationRequest]
    total: int
    page: int
    per_page: int
    tab: str
    counts: dict[str, int]


QUEUE_TABS = ("open", "closed")


def list_requests(
    session: Session, staff: StaffUser, tab: str = "open", page: int = 1, *, per_page: int = 25
) -> RequestQueue:
    """The requests of the units ``staff`` works for: open ones oldest first, closed ones latest
    first. An unknown tab or page gives the first."""
    tab = tab if tab in QUEUE_TABS else "open"
    units = casework.unit_ids(staff)
    if not units:
        return RequestQueue([], 0, 1, per_page, tab, dict.fromkeys(QUEUE_TABS, 0))
    scope = DigitizationRequest.unit_id.in_(units)
    is_open = DigitizationRequest.state.in_(sorted(OPEN_STATES))
    by_state = dict(
        session.execute(
            select(DigitizationRequest.state, func.count()).where(scope).group_by(DigitizationRequest.state)
        ).all()
    )
    counts = {"open": sum(n for s, n in by_state.items() if s in OPEN_STATES)}
    counts["closed"] = sum(by_state.values()) - counts["open"]
    total = counts[tab]
    page = page if isinstance(page, int) and 1 <= page <= page_count(total, per_page) else 1
    order = (
        (DigitizationRequest.received_at, DigitizationRequest.id)
        if tab == "open"
        else (DigitizationRequest.answered_at.desc(), DigitizationRequest.id.desc())
    )
    rows = list(
        session.scalars(
            select(DigitizationRequest)
            .where(scope, is_open if tab == "open" else ~is_open)
            .options(
                selectinload(DigitizationRequest.issuing_unit), selectinload(DigitizationRequest.claimed_by)
            )
            .order_by(*order)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return RequestQueue(rows, total, page, per_page, tab, counts)


def serves(staff: StaffUser, request: DigitizationRequest) -> bool:
    return request.unit_id in casework.unit_ids(staff)


def get_for_staff(session: Session, staff: StaffUser, reference: str) -> DigitizationRequest:
    """The request if ``staff`` works for its unit, read fresh. Raises NotFound for an unknown
    reference and another unit's request alike (a 403 would confirm that it exists)."""
    request = session.scalar(
        select(DigitizationRequest)
        .where(DigitizationRequest.reference == tracking.normalize_reference(reference))
        .options(selectinload(DigitizationRequest.events))
        .execution_options(populate_existing=True)
    )
    if request is None or not serves(staff, request):
        raise NotFound()
    return request


def open_request(session: Session, staff: StaffUser, reference: str) -> DigitizationRequest:
    """`get_for_staff`, with the look at the requester's contacts on the audit chain."""
    request = get_for_staff(session, staff, reference)
    audit.record(
        session,
        staff.audit_name,
        "digitization_request.view_contacts",
        f"digitization_request:{request.reference}",
        purpose=f"giải quyết đề nghị số hóa {request.reference}",
    )
    return request


def timeline(session: Session, request: DigitizationRequest) -> list[casework.TimelineRow]:
    return casework.timeline(
        session,
        request.events,
        lambda kind: ("", "requester" if kind in ("citizen", "anonymous") else "system"),
    )


def _open(session: Session, staff: StaffUser, request: DigitizationRequest, now: datetime) -> None:
    """Refuse unless ``staff`` works for the unit and the request is still open and not someone
    else's; then compare-and-set (`casework.claim`): two clerks pressing at once act once."""
    if not casework.works_on_cases(staff) or not serves(staff, request):
        raise NotFound()
    if request.state not in OPEN_STATES:
        raise InvalidInput("state")
    if request.claimed_by_id not in (None, staff.id):
        raise InvalidInput("claimed")
    casework.claim(session, request, now, "claimed_by_id")


def claim(
    session: Session, staff: StaffUser, request: DigitizationRequest, now: datetime | None = None
) -> None:
    """``staff`` takes the request: colleagues see who looks for it. Raises InvalidInput("state",
    "claimed"), AlreadyProcessed."""
    now = now or utcnow()
    _open(session, staff, request, now)
    if request.claimed_by_id == staff.id:
        raise InvalidInput("state")
    request.claimed_by_id, request.state = staff.id, RequestState.CLAIMED.value
    session.add(DigitizationRequestEvent(request=request, at=now, action="claim", actor=staff.audit_name))
    session.flush()


def answer(
    session: Session,
    staff: StaffUser,
    request: DigitizationRequest,
    outcome: str,
    text: str = "",
    source_id: str = "",
    now: datetime | None = None,
) -> None:
    """Close the request with ``outcome`` (digitized: ``source_id`` names the result; not found;
    not ours) and tell the requester. Taking it first is implied. Raises InvalidInput ("outcome",
    "source_id", "answer", "state", "claimed"), AlreadyProcessed."""
    now = now or utcnow()
    if outcome not in {o.value for o in OUTCOMES}:
        raise InvalidInput("outcome")
    text = clean_text(text).replace("\r\n", "\n").strip()
    if len(text) > MAX_ANSWER:
        raise InvalidInput("answer")
    record = None
    if outcome == RequestState.DIGITIZED:
        record = find_record(session, clean_line(source_id)) if clean_line(source_id) else None
        # One of the unit's own results only: a clerk must not hand a stranger's request the
        # source id of another unit's (perhaps personal) result.
        if record is None or record.issuing_unit_id not in casework.unit_ids(staff):
            raise InvalidInput("source_id")
    _open(session, staff, request, now)
    request.state, request.answer, request.answered_at = outcome, text, now
    request.claimed_by_id = staff.id
    request.record_id = record.id if record is not None else None
    session.add(
        DigitizationRequestEvent(request=request, at=now, action=outcome, actor=staff.audit_name, note=text)
    )
    session.flush()
    _mail(session, request, "answered")
