"""Rights requests: a person asks for a correction, objects to or asks to restrict one processing
of their data, or downloads it (recorded, answered at once); staff answer or refuse the others.

Processing that the law requires for administrative procedures (keeping and showing results to
those entitled, the access log, the audit chain, copy requests and petitions in progress) cannot
be objected to: only the optional processing in SCOPES can. Services flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import audit, clock, outbox, tracking
from portal.db import utcnow
from portal.errors import InvalidInput, NotFound
from portal.feedback import reports
from portal.identity.models import Citizen, StaffUser
from portal.paging import Paged, page_count
from portal.privacy import deadlines, mails
from portal.privacy.models import OPEN_STATES, DataRightsRequest, RightsKind, RightsState
from portal.records.access import is_subject
from portal.records.models import Record
from portal.records.services import get_record
from portal.tracking import valid_email

#: "DL-2026-000123": DL for dữ liệu cá nhân.
REFERENCE_PREFIX = "DL"

MAX_REASON = 3000
MIN_NOTE = 10
#: A request due within this is shown as "due soon" to staff.
SOON = timedelta(days=2)

#: Processing a person may object to or ask to restrict: none of it is required by law for an
#: administrative procedure. Key → (label, what the portal does).
SCOPES = {
    "email_reminders": _l("E-mail reminders about results I follow"),
    "public_search": _l("Showing my public results in the portal's search and suggestions"),
    "usage_statistics": _l("Counting my visits and requests in usage statistics"),
    "rating_statistics": _l("Using my ratings in the published service-quality scorecard"),
}

KIND_LABELS = {
    RightsKind.EXPORT: _l("Download of my data"),
    RightsKind.CORRECTION: _l("Correction"),
    RightsKind.OBJECTION: _l("Objection to processing"),
    RightsKind.RESTRICTION: _l("Restriction of processing"),
}

STATE_LABELS = {
    RightsState.RECEIVED: _l("Received"),
    RightsState.IN_PROGRESS: _l("In progress"),
    RightsState.ANSWERED: _l("Answered"),
    RightsState.REFUSED: _l("Refused"),
}


def deadline_table() -> dict[str, deadlines.Deadline]:
    return deadlines.load(current_app.config.get("PRIVACY_DEADLINES_FILE") or None)


def _new_request(session: Session, citizen: Citizen, kind: str, now: datetime, **fields) -> DataRightsRequest:
    deadline = deadline_table()[kind]
    calendar = clock.calendar_from_config(current_app.config)
    request = DataRightsRequest(reference=tracking.temporary_reference(), citizen_id=citizen.id,
                                subject_id=citizen.subject_id, kind=kind, received_at=now,
                                acknowledge_by=deadline.acknowledge_by(now, calendar),
                                due_at=deadline.due_at(now, calendar), **fields)
    session.add(request)
    session.flush()
    request.reference = tracking.final_reference(REFERENCE_PREFIX, now, request.id)
    session.flush()
    return request


def _clean_email(email: str | None) -> str:
    email = (email or "").strip()
    if email and (len(email) > 200 or not valid_email(email)):
        raise InvalidInput(_l("Enter an e-mail address such as ten@example.vn."))
    return email


def record_export(session: Session, citizen: Citizen, fmt: str, counts: dict[str, int],
                  now: datetime | None = None) -> DataRightsRequest:
    """A download of one's data: a request answered at once, and its audit entry."""
    now = now or utcnow()
    request = _new_request(session, citizen, RightsKind.EXPORT.value, now, scope=fmt,
                           state=RightsState.ANSWERED.value, answered_at=now,
                           answer=f"Đã cung cấp tự động ({fmt.upper()}) / provided at once ({fmt.upper()})")
    audit.record(session, citizen.audit_name, "privacy.export", f"data_rights_request:{request.reference}",
                 purpose="chủ thể dữ liệu tải dữ liệu của mình",
                 details={"format": fmt, "sections": counts})
    return request


def own_results(session: Session, citizen: Citizen) -> list[Record]:
    """The results a correction may be asked for: the person's and their organization's."""
    subjects = citizen.subject_ids
    if not subjects:
        return []
    return list(session.scalars(select(Record).where(Record.subject_id.in_(subjects),
                                                     Record.merged_into_id.is_(None))
                                .order_by(Record.issued_date.desc(), Record.id).limit(200)))


def request_correction(session: Session, citizen: Citizen, source_id: str, problem: str, description: str,
                       email: str = "", now: datetime | None = None) -> DataRightsRequest:
    """A correction of one of one's results: a problem-report case for the result's clerks, and
    a rights request pointing to it, so that its deadline applies. Raises NotFound (not one's
    result), reports.InvalidReport, InvalidInput (the address)."""
    now = now or utcnow()
    email = _clean_email(email)
    record = get_record(session, source_id)
    if not is_subject(citizen, record):
        raise NotFound()
    case = reports.submit_report(session, citizen, source_id, problem, description,
                                 reporter_name=citizen.name, reporter_email=email, now=now)
    request = _new_request(session, citizen, RightsKind.CORRECTION.value, now, scope="",
                           reason=case.description, email=email, case_reference=case.reference,
                           state=RightsState.IN_PROGRESS.value)
    audit.record(session, citizen.audit_name, "privacy.request", f"data_rights_request:{request.reference}",
                 details={"kind": request.kind, "case": case.reference})
    return request


def request_objection(session: Session, citizen: Citizen, kind: str, scope: str, reason: str,
                      email: str = "", now: datetime | None = None) -> DataRightsRequest:
    """An objection to, or a restriction of, one processing of SCOPES. Raises InvalidInput."""
    now = now or utcnow()
    if kind not in (RightsKind.OBJECTION.value, RightsKind.RESTRICTION.value):
        raise InvalidInput(_l("Choose whether you object to the processing or ask to restrict it."))
    if scope not in SCOPES:
        raise InvalidInput(_l("Choose the processing your request is about."))
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise InvalidInput(_l("The reason is too long (3,000 characters at most)."))
    request = _new_request(session, citizen, kind, now, scope=scope, reason=reason,
                           email=_clean_email(email), state=RightsState.RECEIVED.value)
    audit.record(session, citizen.audit_name, "privacy.request", f"data_rights_request:{request.reference}",
                 details={"kind": kind, "scope": scope})
    return request


@dataclass(frozen=True)
class RequestPage(Paged):
    items: list[DataRightsRequest]
    total: int
    page: int
    per_page: int
    #: Open requests, and how many of them are overdue (staff list only).
    open: int = 0
    overdue: int = 0


def _page(session: Session, where, page: int, per_page: int, order) -> RequestPage:
    total = session.scalar(select(func.count()).select_from(DataRightsRequest).where(*where)) or 0
    if not 1 <= page <= page_count(total, per_page):
        page = 1
    items = session.scalars(select(DataRightsRequest).where(*where).order_by(*order)
                            .offset((page - 1) * per_page).limit(per_page)).unique().all()
    return RequestPage(items=list(items), total=total, page=page, per_page=per_page)


def list_own(session: Session, citizen: Citizen, page: int = 1, per_page: int = 20) -> RequestPage:
    return _page(session, (DataRightsRequest.citizen_id == citizen.id,), page, per_page,
                 (DataRightsRequest.id.desc(),))


#: Staff list tabs: waiting requests (soonest due first), or those answered or refused.
TABS = ("open", "closed")


def list_for_staff(session: Session, tab: str = "open", page: int = 1, per_page: int = 25,
                   now: datetime | None = None) -> RequestPage:
    now = now or utcnow()
    is_open = DataRightsRequest.state.in_(OPEN_STATES)
    if tab == "closed":
        found = _page(session, (~is_open,), page, per_page, (DataRightsRequest.answered_at.desc(),
                                                              DataRightsRequest.id.desc()))
    else:
        found = _page(session, (is_open,), page, per_page, (DataRightsRequest.due_at, DataRightsRequest.id))
    counts = session.execute(select(func.count(), func.count().filter(DataRightsRequest.due_at < now))
                             .where(is_open)).one()
    return RequestPage(items=found.items, total=found.total, page=found.page, per_page=per_page,
                       open=counts[0], overdue=counts[1])


def urgency(request: DataRightsRequest, now: datetime) -> str:
    """"overdue", "soon" (due within SOON) or "" for an open request; "" once closed."""
    if request.state not in OPEN_STATES:
        return ""
    if request.due_at < now:
        return "overdue"
    return "soon" if request.due_at - now <= SOON else ""


def get_for_staff(session: Session, staff: StaffUser, reference: str) -> DataRightsRequest:
    """One request, its opening audited (it names a person). Raises NotFound."""
    found = session.scalar(select(DataRightsRequest).where(DataRightsRequest.reference == reference[:20]))
    if found is None:
        raise NotFound()
    audit.record(session, staff.audit_name, "privacy.request_view", f"data_rights_request:{found.reference}",
                 purpose="giải quyết yêu cầu về dữ liệu cá nhân", subject_id=None)
    return found


def answer(session: Session, staff: StaffUser, request: DataRightsRequest, note: str, *, refuse: bool,
           now: datetime | None = None) -> DataRightsRequest:
    """Answer (done as asked) or refuse (with why) an open request; mail the person when they left
    an address. Raises InvalidInput (note too short, request already closed)."""
    now = now or utcnow()
    note = (note or "").strip()
    if request.state not in OPEN_STATES:
        raise InvalidInput(_l("This request has already been answered."))
    if not MIN_NOTE <= len(note) <= MAX_REASON:
        raise InvalidInput(_l("Write the answer to the person (10 to 3,000 characters)."))
    request.state = (RightsState.REFUSED if refuse else RightsState.ANSWERED).value
    request.answer, request.answered_at, request.staff_id = note, now, staff.id
    session.flush()
    audit.record(session, staff.audit_name, "privacy.refuse" if refuse else "privacy.answer",
                 f"data_rights_request:{request.reference}", details={"kind": request.kind})
    if request.email:
        outbox.add(session, mails.TOPIC, request.id, {"what": "answered"})
    return request

