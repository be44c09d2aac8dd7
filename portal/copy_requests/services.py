"""The requester's side of copy requests: who may ask, submitting, cancelling, following one.

Module functions with an explicit session and actor; they flush, never commit. Who may request
a copy: the subject of a result (or a representative of its organization) for any of their
results, and anyone logged in for a public result. Tracking without logging in takes the
reference and the code sent by e-mail; failed attempts are written to the audit chain and counted
there per client and reference, so guessing stops after a few tries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from portal import audit, clock, tracking
from portal.copy_requests import due_dates, events, fees, workflow
from portal.copy_requests.models import CopyKind, CopyRequest
from portal.db import utcnow
from portal.errors import Forbidden, InvalidInput, NotFound, PortalError
from portal.identity.models import Citizen
from portal.paging import Paged, page_count
from portal.records.access import is_subject
from portal.records.models import Access, Record, ResultStatus
from portal.records.services import get_record
from portal.tracking import TrackingFailed, valid_email
from portal.units.services import handling_unit

MAX_COPIES = 10
MAX_PURPOSE = 300
MAX_ADDRESS = 500
#: "BS-2026-000123": BS for bản sao; the year of submission (Hanoi time); the request's id.
REFERENCE_PREFIX = "BS"
REFERENCE_PATTERN = tracking.reference_pattern(REFERENCE_PREFIX)
#: Results whose copy would certify nothing: refused at once rather than by a clerk days later.
UNCOPYABLE_STATUSES = frozenset({ResultStatus.REVOKED, ResultStatus.ANNULLED})


class CopyRefused(Forbidden):
    """This person may not request a copy of this result; ``reason`` says why (a code)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooManyAttempts(PortalError):
    status = 429


@dataclass(frozen=True)
class Rules:
    """Fee rules and working-day calendar in force (from data files; see rules_from_config)."""

    fees: tuple[fees.FeeRule, ...]
    calendar: clock.Calendar


def rules_from_config(config: Mapping) -> Rules:
    return Rules(fees=fees.load_rules(config.get("COPY_FEES_FILE") or None),
                 calendar=clock.calendar_from_config(config))


def default_rules() -> Rules:
    return Rules(fees=fees.load_rules(), calendar=clock.load_calendar())


@dataclass(frozen=True)
class RequestData:
    kind: str
    copies: int
    purpose: str
    delivery_address: str = ""
    email: str = ""

    @classmethod
    def of(cls, data: RequestData | Mapping) -> RequestData:
        if isinstance(data, RequestData):
            return data
        copies = data.get("copies", 1)
        return cls(kind=str(data.get("kind", "")), copies=copies if isinstance(copies, int) else -1,
                   purpose=str(data.get("purpose") or ""),
                   delivery_address=str(data.get("delivery_address") or ""),
                   email=str(data.get("email") or ""))

    def cleaned(self) -> RequestData:
        """Stripped values; raises InvalidInput (a Vietnamese-ready message id) on bad ones."""
        if self.kind not in {kind.value for kind in CopyKind}:
            raise InvalidInput("kind")
        if not 1 <= self.copies <= MAX_COPIES:
            raise InvalidInput("copies")
        purpose = " ".join(self.purpose.split())
        if not purpose or len(purpose) > MAX_PURPOSE:
            raise InvalidInput("purpose")
        address = self.delivery_address.strip() if self.kind == CopyKind.PAPER_POST else ""
        if self.kind == CopyKind.PAPER_POST and not address or len(address) > MAX_ADDRESS:
            raise InvalidInput("delivery_address")
        email = self.email.strip()
        if email and not valid_email(email):
            raise InvalidInput("email")
        return RequestData(self.kind, self.copies, purpose, address, email)


# -- who may request ------------------------------------------------------------------------------

def check_may_request(citizen: Citizen, record: Record, today=None) -> None:
    """Raises CopyRefused with a reason code: "not_yours", "no_pages" or "not_valid"."""
    if not (is_subject(citizen, record) or record.access == Access.PUBLIC):
        raise CopyRefused("not_yours")
    if not record.files:
        raise CopyRefused("no_pages")
    if record.effective_status(today or clock.today()) in UNCOPYABLE_STATUSES:
        raise CopyRefused("not_valid")


def get_requestable(session: Session, citizen: Citizen, source_id: str) -> Record:
    """The result ``citizen`` may request a copy of. Raises NotFound, CopyRefused."""
    record = get_record(session, source_id)
    check_may_request(citizen, record)
    return record


def quote_for(record: Record, kind: str, copies: int, rules: Rules | None = None) -> fees.Quote:
    return fees.quote(record, kind, copies, record.procedure_code, rules=(rules or default_rules()).fees)


# -- submitting -----------------------------------------------------------------------------------

def submit(session: Session, citizen: Citizen, source_id: str, data: RequestData | Mapping,
           now: datetime | None = None, rules: Rules | None = None) -> tuple[CopyRequest, str]:
    """Open a copy request; returns it and its tracking code (shown once, e-mailed, stored hashed).

    Raises NotFound (unknown result), CopyRefused (see check_may_request), InvalidInput (the
    field name as message). Flushes, never commits.
    """
    rules = rules or default_rules()
    now = now or utcnow()
    data = RequestData.of(data).cleaned()
    record = get_requestable(session, citizen, source_id)
    quote = quote_for(record, data.kind, data.copies, rules)
    request = CopyRequest(
        reference=tracking.temporary_reference(), record=record, requester=citizen,
        unit=handling_unit(record.issuing_unit), kind=data.kind, copies=data.copies, purpose=data.purpose,
        delivery_address=data.delivery_address, email=data.email, pages=quote.pages,
        fee_vnd=quote.total_vnd, state=workflow.State.SUBMITTED.value, submitted_at=now,
        due_at=rules.calendar.due_at(now, data.kind))
    session.add(request)
    session.flush()  # the id makes the reference: unique and sequential without a counter to lock
    request.reference = tracking.final_reference(REFERENCE_PREFIX, now, request.id)
    code, request.tracking_code_hash = tracking.new_code(request.reference)
    session.flush()
    events.record_submitted(session, request, citizen.audit_name, tracking_code=code)
    return request, code


# -- the requester's own requests -----------------------------------------------------------------

def _load():
    return (selectinload(CopyRequest.events), selectinload(CopyRequest.unit),
            selectinload(CopyRequest.record))


def get_own(session: Session, citizen: Citizen, reference: str) -> CopyRequest:
    """The citizen's own request. Raises NotFound for anyone else's (no hint that it exists)."""
    request = session.scalar(select(CopyRequest).where(CopyRequest.reference == reference)
                             .options(*_load()))
    if request is None or request.requester_id != citizen.id:
        raise NotFound()
    return request


@dataclass(frozen=True)
class RequestsPage(Paged):
    items: list[CopyRequest]
    total: int
    page: int
    per_page: int



def list_own(session: Session, citizen: Citizen, page: int = 1, per_page: int = 20) -> RequestsPage:
    """The citizen's requests, newest first (a page past the last gives the first)."""
    where = CopyRequest.requester_id == citizen.id
    total = session.scalar(select(func.count()).select_from(CopyRequest).where(where)) or 0
    last = page_count(total, per_page)
    page = page if 1 <= page <= last else 1
    items = list(session.scalars(select(CopyRequest).where(where).options(
        selectinload(CopyRequest.record), selectinload(CopyRequest.unit))
        .order_by(CopyRequest.id.desc()).offset((page - 1) * per_page).limit(per_page)))
    return RequestsPage(items=items, total=total, page=page, per_page=per_page)


def find_last_email(session: Session, citizen: Citizen) -> str:
    """The e-mail address of the citizen's latest request that had one (to prefill the form)."""
    return session.scalar(select(CopyRequest.email).where(
        CopyRequest.requester_id == citizen.id, CopyRequest.email != "")
        .order_by(CopyRequest.id.desc()).limit(1)) or ""


def may_cancel(request: CopyRequest) -> bool:
    return workflow.Action.CANCEL in workflow.allowed_actions(request.state)


def cancel(session: Session, citizen: Citizen, reference: str, now: datetime | None = None):
    """Cancel one's own request while it is still only submitted.

    Raises NotFound (not theirs), workflow.InvalidTransition (already being processed or closed).
    """
    request = get_own(session, citizen, reference)
    return events.transition(session, request, workflow.Action.CANCEL, citizen.audit_name,
                             at=now or utcnow())


# -- tracking without logging in ------------------------------------------------------------------

TRACK_FAILED = "copy.track_failed"


def track(session: Session, reference: str, code: str, client: str, now: datetime | None = None, *,
          max_failures: int = 5, window_minutes: int = 15) -> CopyRequest:
    """The request with this reference, if ``code`` is its tracking code.

    ``client``: who asks, as `tracking.client_tag` of their address (the audit chain keeps no
    address). After ``max_failures`` failed tries from this client on
    this reference within the window, its tries on it are refused. Failures are counted per
    client and reference only: a count per reference from anyone would let a stranger, who can
    guess references (they are sequential), lock the owner out of their own request. Guessing
    a code is hopeless anyway (31^10 codes, `tracking.CODE_LENGTH`) with every address also
    capped across references (COPY_TRACK_RATE_LIMIT, checked before this is called). Raises
    TrackingFailed (one answer for an unknown reference and a wrong code), TooManyAttempts.
    A failure is written to the audit chain: the caller commits it.
    """
    now = now or utcnow()
    reference, code = tracking.read_attempt(REFERENCE_PATTERN, reference, code)
    tag = client
    since = now - timedelta(minutes=window_minutes)
    failures = session.scalars(select(audit.AuditEntry.details).where(
        audit.AuditEntry.action == TRACK_FAILED, audit.AuditEntry.object_ref == f"copy_request:{reference}",
        audit.AuditEntry.at >= since))
    if sum(1 for details in failures if (details or {}).get("client") == tag) >= max_failures:
        raise TooManyAttempts()
    request = session.scalar(select(CopyRequest).where(CopyRequest.reference == reference)
                             .options(*_load()))
    stored = request.tracking_code_hash if request is not None else None
    if not tracking.code_matches(stored, reference, code):
        audit.record(session, "anonymous", TRACK_FAILED, f"copy_request:{reference}",
                     details={"client": tag})
        raise TrackingFailed()
    return request


@dataclass(frozen=True)
class Step:
    """One step of a request as its requester follows it (the tracking page, the API)."""

    at: datetime
    action: str
    #: The state it led to.
    state: str
    #: Which side took it: "citizen", "staff" or "system", never who.
    by: str
    #: The desk's note (a refusal's reason); the requester's own words are not repeated back.
    note: str


def timeline(request: CopyRequest) -> list[Step]:
    """The request's steps, oldest first."""
    steps = []
    for event in request.events:
        by = event.actor.split(":")[0]
        steps.append(Step(at=event.at, action=event.action, state=event.to_state, by=by,
                          note=event.note if by != "citizen" else ""))
    return steps


@dataclass(frozen=True)
class TrackedStatus:
    """What the holder of a reference and its tracking code learns of the request: what the tracking
    page shows them, no more (not the requester, their e-mail, address or purpose, nor the result's
    number: the code may have been passed on)."""

    reference: str
    state: str
    kind: str
    document_type: str
    #: The unit handling it, by name.
    unit: str
    received_at: datetime
    #: The last step's time.
    updated_at: datetime
    due_at: datetime
    overdue: bool
    #: Issued (or already delivered): the signed copy exists.
    copy_ready: bool
    postal_tracking_number: str
    steps: list[Step]


def tracked_status(request: CopyRequest, now: datetime | None = None) -> TrackedStatus:
    """The status of a request found by `track`."""
    steps = timeline(request)
    return TrackedStatus(
        reference=request.reference, state=request.state, kind=request.kind,
        document_type=request.record.doc_type_name, unit=request.unit.name, received_at=request.submitted_at,
        updated_at=max((step.at for step in steps), default=request.submitted_at), due_at=request.due_at,
        overdue=due_dates.is_overdue(request, now or utcnow()),
        copy_ready=request.state in (workflow.State.ISSUED, workflow.State.DELIVERED),
        postal_tracking_number=request.tracking_number, steps=steps)
