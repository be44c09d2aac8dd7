""""Report a problem with this result": the reporter's side, the clerks' cases, and their mails.

Anyone who can see a result may report a problem with it: anyone for a public result, only those
`may_read_personal` allows for a personal one (anyone else gets NotFound, as for a result that
does not exist). A report goes to the clerks of the result's handling unit (the issuing unit or
its successor); it ends *corrected* (by `portal.feedback.corrections.correct`) or *dismissed* with
the clerk's explanation, and the reporter hears of either by e-mail when they left an address.

Module functions with an explicit session and actor; they flush, never commit.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from portal import audit, casework, clock, mail, tracking
from portal.db import utcnow
from portal.errors import Forbidden, InvalidInput, NotFound, PortalError
from portal.feedback import mails
from portal.feedback.correction_fields import field_label_vi
from portal.feedback.models import ProblemKind, ProblemReport, RecordCorrection, ReportState
from portal.files.inspect import Budgets, UnreadableFile, sniff
from portal.files.isolated import inspect_upload, refusal_text
from portal.files.store import FileStore
from portal.identity.models import Citizen, StaffUser
from portal.paging import Paged, page_count
from portal.records import access_log
from portal.records.access import may_read_personal
from portal.records.models import Access, Record
from portal.records.services import get_record
from portal.tracking import valid_email
from portal.units.services import handling_unit

#: "PB-2026-000123": PB for phản ánh sai sót; the year of the report (Hanoi time); its id.
REFERENCE_PREFIX = "PB"
MIN_DESCRIPTION = 10
MAX_DESCRIPTION = 3000
MAX_NAME = 200
MAX_NOTE = 2000
#: What a reporter may attach: evidence (a photo of the paper original, a scan), judged by content.
ATTACHMENT_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})

KIND_LABELS = {
    ProblemKind.WRONG_NAME: _l("The holder's name is wrong"),
    ProblemKind.WRONG_DATE: _l("A date is wrong"),
    ProblemKind.MISSING_PAGE: _l("A page is missing"),
    ProblemKind.UNREADABLE_SCAN: _l("The scan cannot be read"),
    ProblemKind.WRONG_STATUS: _l("The validity status is wrong"),
    ProblemKind.OTHER: _l("Something else"),
}

STATE_LABELS = {
    ReportState.OPEN: _l("Open"),
    ReportState.CORRECTED: _l("Corrected"),
    ReportState.DISMISSED: _l("Dismissed"),
}

#: Refusal code → what the person reads next to the field (InvalidReport.code).
MESSAGES = {
    "kind": _l("Choose what is wrong with this result."),
    "description": _l("Describe the problem in 10 to 3,000 characters."),
    "reporter_name": _l("Enter your name."),
    "reporter_email": _l("Enter an e-mail address such as ten@example.vn."),
    "attachment_type": _l("The attachment must be a PDF, JPEG or PNG file. This file is not one, "
                          "whatever its name says."),
    "attachment_size": _l("The attachment is larger than %(size)s MB. Send a smaller file."),
    "attachment_corrupt": _l("The attachment could not be read: it may be damaged. Send it again or "
                             "choose another file."),
    "note": _l("Explain to the reporter why nothing needs to be corrected (at least 10 characters)."),
    "closed": _l("This case is already closed."),
}


class InvalidReport(InvalidInput):
    """A field of the report (or of a clerk's answer) is not acceptable: ``field`` and ``code``
    (a key of MESSAGES, or "attachment_budget" with the ``problem`` that says which budget)."""

    def __init__(self, field_name: str, code: str | None = None,
                 problem: UnreadableFile | None = None) -> None:
        super().__init__(code or field_name)
        self.field = field_name
        self.code = code or field_name
        self.problem = problem

    def message(self) -> str:
        return message(self.code, self.problem)


class CaseClosed(PortalError):
    """The case was corrected or dismissed already (a colleague, or a second click)."""

    status = 409


@dataclass(frozen=True)
class Attachment:
    """An uploaded file as the view read it: at most max bytes + 1, so "too large" is known."""

    filename: str
    data: bytes


def message(code: str, problem: UnreadableFile | None = None) -> str:
    """The text of refusal ``code`` in the current language (an over-budget attachment: which
    budget, with its numbers, as portal.files says it)."""
    if problem is not None:
        return refusal_text(problem)
    if code == "attachment_size":
        size = int(current_app.config["FEEDBACK_ATTACHMENT_MAX_BYTES"]) / (1024 * 1024)
        return str(MESSAGES[code]) % {"size": f"{size:g}"}
    return str(MESSAGES.get(code, MESSAGES["description"]))


# -- validated uploads (shared with corrections) -----------------------------------------------


@dataclass(frozen=True)
class CheckedFile:
    sha256: str
    size: int
    media_type: str
    pages: int
    dpi: int | None
    filename: str


def file_store() -> FileStore:
    return FileStore.from_config(current_app.config)


def check_upload(upload: Attachment, *, field_name: str, max_bytes: int | None = None,
                 types: frozenset[str] = ATTACHMENT_TYPES) -> tuple[CheckedFile, Path]:
    """What ``upload`` really is, from its bytes (never its name), written to a temporary file.

    Returns the facts and the temporary file (the caller stores it, then deletes it). Raises
    InvalidReport(field_name, "attachment_size" | "attachment_type" | "attachment_corrupt" |
    "attachment_budget"). The file is parsed (and decoded) in a child process with the upload
    budgets (portal.files.isolated), never in this one.
    """
    limit = int(max_bytes if max_bytes is not None else current_app.config["FEEDBACK_ATTACHMENT_MAX_BYTES"])
    if len(upload.data) > limit:
        raise InvalidReport(field_name, "attachment_size")
    if sniff(upload.data[:1024]) not in types:  # also a polyglot (web-page markup in the head)
        raise InvalidReport(field_name, "attachment_type")
    handle = tempfile.NamedTemporaryFile(prefix="upload-", delete=False)
    path = Path(handle.name)
    try:
        with handle:
            handle.write(upload.data)
        info = inspect_upload(path, Budgets.from_config(current_app.config), max_bytes=limit, types=types)
    except UnreadableFile as error:
        path.unlink(missing_ok=True)
        if error.over_budget:
            raise InvalidReport(field_name, "attachment_budget", error) from error
        raise InvalidReport(field_name, "attachment_corrupt") from error
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    checked = CheckedFile(sha256=hashlib.sha256(upload.data).hexdigest(), size=len(upload.data),
                          media_type=info.media_type, pages=info.pages, dpi=info.dpi,
                          filename=_safe_name(upload.filename))
    return checked, path


def _safe_name(filename: str) -> str:
    # Shown to staff and sent back as a download name: no path, no control characters.
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:200] or "tep-dinh-kem"


def store_checked(checked: CheckedFile, path: Path) -> None:
    try:
        file_store().put_file(path, checked.sha256)
    finally:
        path.unlink(missing_ok=True)


# -- reporting ------------------------------------------------------------------------------------


def get_reportable(session: Session, actor: object | None, source_id: str) -> Record:
    """The result ``actor`` may report a problem with. Raises NotFound (also for a personal
    result the actor may not read: its existence is not confirmed)."""
    record = get_record(session, source_id)
    if record.access != Access.PUBLIC and not may_read_personal(actor, record):
        raise NotFound()
    return record


def open_form(session: Session, actor: object | None, source_id: str) -> Record:
    """`get_reportable` for the form page, which names a personal result's number: logged like
    the result page for anyone but its subject. Raises NotFound."""
    record = get_reportable(session, actor, source_id)
    access_log.record_access(session, actor, record, "record.view", details={"page": "problem_report"})
    return record


def _clean_text(value: str | None) -> str:
    return " ".join((value or "").split()) if value else ""


def submit_report(session: Session, actor: object | None, source_id: str, kind: str, description: str, *,
                  reporter_name: str, reporter_email: str, attachment: Attachment | None = None,
                  now: datetime | None = None) -> ProblemReport:
    """Open a case for the clerks of the result's unit; queue the "received" mail.

    ``actor``: the reader as the result page treats them (a citizen, staff, or None). A citizen's
    e-mail is optional (no mail without it); anyone else leaves a name and an e-mail. Raises
    NotFound, InvalidReport (nothing is stored then, the attachment neither).
    """
    now = now or utcnow()
    record = get_reportable(session, actor, source_id)
    if kind not in {k.value for k in ProblemKind}:
        raise InvalidReport("kind")
    description = (description or "").strip()
    if not MIN_DESCRIPTION <= len(description) <= MAX_DESCRIPTION:
        raise InvalidReport("description")
    citizen = actor if isinstance(actor, Citizen) else None
    reporter_name = _clean_text(reporter_name)[:MAX_NAME] or (citizen.name if citizen else "")
    reporter_email = (reporter_email or "").strip()
    if not reporter_name and citizen is None:
        raise InvalidReport("reporter_name")
    if reporter_email and not valid_email(reporter_email) or not reporter_email and citizen is None:
        raise InvalidReport("reporter_email")
    checked = path = None
    if attachment is not None and (attachment.data or attachment.filename):
        checked, path = check_upload(attachment, field_name="attachment")
    try:
        report = ProblemReport(
            reference=tracking.temporary_reference(), record=record,
            unit=handling_unit(record.issuing_unit), kind=kind, description=description,
            reporter=citizen, reporter_name=reporter_name, reporter_email=reporter_email,
            state=ReportState.OPEN.value, created_at=now, updated_at=now)
        if checked is not None:
            report.attachment_sha256 = checked.sha256
            report.attachment_name = checked.filename
            report.attachment_media_type = checked.media_type
        session.add(report)
        session.flush()  # the id makes the reference, as for copy requests
        report.reference = tracking.final_reference(REFERENCE_PREFIX, now, report.id)
        session.flush()
        if checked is not None:
            store_checked(checked, path)  # last: a failed insert leaves no orphan file behind
            path = None
    finally:
        if path is not None:
            path.unlink(missing_ok=True)
    audit.record(session, access_log.actor_name(actor), "problem_report.submit",
                 f"problem_report:{report.reference}", details={"record": record.source_id, "kind": kind})
    if reporter_email:
        mails.queue(session, "report", "received", report.id)
    return report


# -- the clerks' side -----------------------------------------------------------------------------

QUEUE_TABS = tuple(state.value for state in ReportState)


@dataclass(frozen=True)
class CasesPage(Paged):
    items: list[ProblemReport]
    total: int
    page: int
    per_page: int
    state: str
    #: Cases per tab (QUEUE_TABS) in the staff member's units.
    counts: dict[str, int] = field(default_factory=dict)



def serves_case(staff: StaffUser, report: ProblemReport) -> bool:
    return report.unit_id in casework.unit_ids(staff)


def list_cases(session: Session, staff: StaffUser, state: str = ReportState.OPEN.value, page: int = 1,
               per_page: int = 25) -> CasesPage:
    """The cases of the units ``staff`` serves in one state: open ones oldest first, closed ones
    most recently closed first. An unknown state or page reads as the first."""
    state = state if state in QUEUE_TABS else ReportState.OPEN.value
    units = casework.unit_ids(staff)
    if not units:
        return CasesPage([], 0, 1, per_page, state, dict.fromkeys(QUEUE_TABS, 0))
    scope = ProblemReport.unit_id.in_(units)
    by_state = dict(session.execute(select(ProblemReport.state, func.count()).where(scope)
                                    .group_by(ProblemReport.state)).all())
    counts = {tab: by_state.get(tab, 0) for tab in QUEUE_TABS}
    total = counts[state]
    page = page if isinstance(page, int) and 1 <= page <= page_count(total, per_page) else 1
    order = (ProblemReport.created_at, ProblemReport.id) if state == ReportState.OPEN else \
        (ProblemReport.resolved_at.desc(), ProblemReport.id.desc())
    items = list(session.scalars(
        select(ProblemReport).where(scope, ProblemReport.state == state)
        .options(selectinload(ProblemReport.record), selectinload(ProblemReport.resolved_by))
        .order_by(*order).offset((page - 1) * per_page).limit(per_page)))
    return CasesPage(items, total, page, per_page, state, counts)


def get_case(session: Session, staff: StaffUser, reference: str, *, log: bool = True) -> ProblemReport:
    """The case ``reference`` if ``staff`` serves its unit; NotFound otherwise (another unit's
    reference is not confirmed). Opening the case of a personal result shows its personal data:
    logged for its subject's access log unless ``log`` is False (an action on an open page)."""
    reference = (reference or "").strip().upper()
    report = session.scalar(select(ProblemReport).where(ProblemReport.reference == reference)
                            .execution_options(populate_existing=True))
    if report is None or not serves_case(staff, report):
        raise NotFound()
    if log:
        access_log.record_access(session, staff, report.record, "record.view",
                                 purpose=f"xử lý phản ánh sai sót {report.reference}",
                                 details={"problem_report": report.reference})
    return report


def attachment_path(report: ProblemReport) -> Path:
    """Where the attachment is stored. Raises NotFound when there is none."""
    if not report.attachment_sha256:
        raise NotFound()
    path = file_store().path_for(report.attachment_sha256)
    if not path.is_file():
        raise NotFound()
    return path


def _require_open(staff: StaffUser, report: ProblemReport) -> None:
    if not serves_case(staff, report):
        raise Forbidden("unit")
    if report.state != ReportState.OPEN:
        raise CaseClosed()


def dismiss(session: Session, staff: StaffUser, report: ProblemReport, note: str,
            now: datetime | None = None) -> ProblemReport:
    """Close the case with nothing to correct; the reporter is told why. Raises Forbidden (not
    this clerk's unit), CaseClosed, InvalidReport("note")."""
    _require_open(staff, report)
    note = (note or "").strip()
    if not MIN_DESCRIPTION <= len(note) <= MAX_NOTE:
        raise InvalidReport("note")
    now = now or utcnow()
    report.state = ReportState.DISMISSED.value
    report.resolution_note = note
    report.resolved_by = staff
    report.resolved_at = now
    session.flush()
    audit.record(session, staff.audit_name, "problem_report.dismiss", f"problem_report:{report.reference}",
                 details={"record": report.record.source_id})
    if report.reporter_email:
        mails.queue(session, "report", "dismissed", report.id)
    return report


def mark_corrected(session: Session, staff: StaffUser, report: ProblemReport, correction: RecordCorrection,
                   now: datetime) -> None:
    """Called by `corrections.correct` in its transaction: closes the case, queues the mail."""
    _require_open(staff, report)
    report.state = ReportState.CORRECTED.value
    report.resolution_note = correction.reason
    report.resolved_by = staff
    report.resolved_at = now
    session.flush()
    if report.reporter_email:
        mails.queue(session, "report", "corrected", report.id, {"correction": correction.id})


# -- mails ----------------------------------------------------------------------------------------

SUBJECTS = {
    "received": "Đã nhận phản ánh sai sót {reference}",
    "corrected": "Kết quả đã được đính chính theo phản ánh {reference}",
    "dismissed": "Trả lời phản ánh sai sót {reference}",
}
KIND_LABELS_VI = {
    ProblemKind.WRONG_NAME: "Sai tên người được cấp",
    ProblemKind.WRONG_DATE: "Sai ngày tháng",
    ProblemKind.MISSING_PAGE: "Thiếu trang",
    ProblemKind.UNREADABLE_SCAN: "Bản quét không đọc được",
    ProblemKind.WRONG_STATUS: "Sai tình trạng hiệu lực",
    ProblemKind.OTHER: "Vấn đề khác",
}


def render_mail(session: Session, what: str, object_id: int, payload: dict,
                now: datetime) -> EmailMessage | None:
    """The mail ``what`` ("received", "corrected", "dismissed") about report ``object_id``, or
    None (unknown report or kind, no address). E-mail is not a secure channel: it names the
    result's type and the unit, and which fields were corrected, never their values."""
    report = session.get(ProblemReport, object_id)
    if report is None or what not in SUBJECTS or not report.reporter_email:
        return None
    fields: list[str] = []
    correction = None
    if what == "corrected":
        correction_id = (payload or {}).get("correction")
        correction = session.get(RecordCorrection, correction_id) if correction_id else None
        correction = correction or (report.corrections[-1] if report.corrections else None)
        if correction is not None:
            fields = [field_label_vi(name) for name in correction.after]
    base = mail.public_base_url(current_app.config)
    context = {
        "report": report,
        "greeting_name": report.reporter_name or "ông/bà",
        "document": report.record.doc_type_name,
        "unit_name": report.unit.name,
        "kind_label": KIND_LABELS_VI.get(report.kind, report.kind),
        "received_at": clock.spoken(report.created_at),
        "resolved_at": clock.spoken(report.resolved_at),
        "fields": fields,
        "reason": correction.reason if correction is not None else report.resolution_note,
        "note": report.resolution_note,
        "result_url": f"{base}/results/{report.record.source_id}",
    }
    subject = SUBJECTS[what].format(reference=report.reference)
    return mails.compose(report.reporter_email, f"problem_report_{what}", subject, context,
                         message_id_key=f"problem-report-{what}.{report.reference}", now=now)
