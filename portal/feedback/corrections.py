"""Corrections of a result by a clerk of its unit: the fields before and after, why, and who.

A correction edits the result in place and keeps the previous values in a `RecordCorrection`
row; the rows of a result are its version history, shown on the result page. The holder's name
lives on the Subject, which may hold several results: all of them are reindexed. A status change
also appends a `StatusChange` row, as an import does. A new scan (for a missing page or an
unreadable scan) is appended as a new file; the old one stays, and is named in ``before``.

``content_hash`` is left alone: the same import line sent again stays "unchanged" and does not
undo the correction; a corrected line from the sender does update the result.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal import audit
from portal.db import utcnow
from portal.errors import Forbidden, InvalidInput, NotFound
from portal.feedback import reports
from portal.feedback.correction_fields import EDITABLE_FIELDS
from portal.feedback.models import ProblemReport, RecordCorrection, ReportState
from portal.identity.access import serves_unit
from portal.identity.models import StaffRole, StaffUser
from portal.records import access_log
from portal.records.index_queue import enqueue_upsert
from portal.records.models import Document, Record, RecordFile, ResultStatus, StatusChange
from portal.records.services import get_record
from portal.text import ident_key
from portal.units.services import handling_unit

MAX_REASON = 1000


#: Model attribute of each field (holder_name is the Subject's name; scan adds a file).
ATTRIBUTES = {name: name for name in EDITABLE_FIELDS if name not in ("holder_name", "scan")}

MESSAGES = {
    "required": _l("This field cannot be empty."),
    "too_long": _l("Too long: at most %(max)s characters."),
    "date": _l("Enter a date as dd/mm/yyyy."),
    "date_order": _l("The end of validity cannot be before its start."),
    "status": _l("Choose a status from the list."),
    "reason": _l("Explain the reason for the correction: it is shown in the result's history."),
    "no_change": _l("Nothing was changed: edit at least one field, or go back."),
    "scan_dpi": _l("The scan's resolution is %(dpi)s dpi; at least %(min)s dpi is required."),
}


class InvalidCorrection(InvalidInput):
    """A value of the correction is not acceptable: ``field`` (a key of EDITABLE_FIELDS, "reason"
    or "" for the whole form), ``code`` (a key of MESSAGES, or of reports.MESSAGES for the scan)
    and ``params`` for the message."""

    def __init__(self, field_name: str, code: str, **params: Any) -> None:
        super().__init__(code)
        self.field, self.code, self.params = field_name, code, params

    def message(self) -> str:
        if self.code in MESSAGES:
            return str(MESSAGES[self.code]) % self.params if self.params else str(MESSAGES[self.code])
        return reports.message(self.code)


# -- who may correct ------------------------------------------------------------------------------


def may_correct(staff: StaffUser, record: Record) -> bool:
    """A clerk or supervisor serving the unit that handles the result now."""
    return staff.role in (StaffRole.CLERK, StaffRole.SUPERVISOR) \
        and serves_unit(staff, handling_unit(record.issuing_unit))


def get_correctable(session: Session, staff: StaffUser, source_id: str, *, log: bool = True) -> Record:
    """The result ``staff`` may correct, for the correction form (which shows its current values:
    logged as a look at a personal result). Raises NotFound, for another unit's result too."""
    record = get_record(session, source_id)
    if not may_correct(staff, record):
        raise NotFound()
    if log:
        access_log.record_access(session, staff, record, "record.view", purpose="đính chính kết quả",
                                 details={"page": "correction"})
    return record


def current_values(record: Record) -> dict[str, Any]:
    """The editable fields as they are now (what the form is prefilled with)."""
    values = {name: getattr(record, attr) for name, attr in ATTRIBUTES.items()}
    values["holder_name"] = record.subject.name
    return values


# -- correcting -----------------------------------------------------------------------------------


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _parse_date(name: str, value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d/%m/%Y").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    raise InvalidCorrection(name, "date")


def _clean(name: str, value: Any) -> Any:
    spec = EDITABLE_FIELDS[name]
    if spec.kind == "date":
        cleaned = _parse_date(name, value)
    elif spec.kind == "status":
        cleaned = str(value or "").strip()
        if cleaned not in {s.value for s in ResultStatus}:
            raise InvalidCorrection(name, "status")
    else:
        cleaned = " ".join(str(value or "").split()) or None
        if cleaned and len(cleaned) > spec.max_length:
            raise InvalidCorrection(name, "too_long", max=spec.max_length)
    if spec.required and cleaned is None:
        raise InvalidCorrection(name, "required")
    return cleaned


def _comparable(name: str, value: Any) -> Any:
    # A stored text with double spaces, sent back unchanged by the form, is not a change.
    if EDITABLE_FIELDS[name].kind == "text" and value is not None:
        return " ".join(str(value).split()) or None
    return value


def correct(session: Session, staff: StaffUser, record: Record, changes: dict[str, Any], reason: str,
            report: ProblemReport | None = None, now: datetime | None = None) -> RecordCorrection:
    """Apply ``changes`` (field → new value; unchanged fields and unknown keys are ignored; "scan":
    a `reports.Attachment` to append) to ``record``; keep the previous values, the reason and the
    clerk; reindex; close ``report`` and tell its reporter.

    Raises Forbidden (not a clerk of the result's unit), InvalidCorrection (nothing is changed
    then), reports.CaseClosed (the report was closed meanwhile).
    """
    if not may_correct(staff, record):
        raise Forbidden("unit")
    if report is not None:
        if report.record_id != record.id:
            raise NotFound()
        if report.state != ReportState.OPEN:
            raise reports.CaseClosed()
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidCorrection("reason", "reason")
    if len(reason) > MAX_REASON:
        raise InvalidCorrection("reason", "too_long", max=MAX_REASON)

    current = current_values(record)
    new: dict[str, Any] = {}
    for name, value in changes.items():
        if name in ATTRIBUTES or name == "holder_name":
            cleaned = _clean(name, value)
            if cleaned != _comparable(name, current[name]):
                new[name] = cleaned
    valid_from = new.get("valid_from", current["valid_from"])
    valid_to = new.get("valid_to", current["valid_to"])
    if valid_to is not None and valid_from is not None and valid_to < valid_from:
        raise InvalidCorrection("valid_to", "date_order")

    scan = changes.get("scan")
    checked = path = None
    if scan is not None and (scan.data or scan.filename):
        checked, path = reports.check_upload(scan, field_name="scan")
        minimum = int(current_app.config["MIN_SCAN_DPI"])
        if checked.dpi is not None and checked.dpi < minimum:
            path.unlink(missing_ok=True)
            raise InvalidCorrection("scan", "scan_dpi", dpi=checked.dpi, min=minimum)
    if not new and checked is None:
        raise InvalidCorrection("", "no_change")

    try:
        before = {name: _json(current[name]) for name in new}
        after = {name: _json(value) for name, value in new.items()}
        for name, value in new.items():
            if name == "holder_name":
                record.subject.name = value
            elif name == "status":
                record.status_history.append(StatusChange(
                    old_status=record.status, new_status=value, actor=staff.audit_name, changed_at=now,
                    reason=f"đính chính: {reason}"[:500]))
                record.status = value
                record.status_changed_at = now
            else:
                setattr(record, ATTRIBUTES[name], value)
        if "doc_number" in new or "doc_notation" in new:
            record.number_key = ident_key(record.number_display)
        if checked is not None:
            before["scan"] = [f.document_sha256 for f in record.files]
            _append_file(session, record, checked)
            after["scan"] = [f.document_sha256 for f in record.files]
        record.updated_at = now
        correction = RecordCorrection(record=record, report=report, staff=staff, reason=reason,
                                      before=before, after=after, at=now)
        session.add(correction)
        session.flush()
        if checked is not None:
            reports.store_checked(checked, path)  # last: a refused flush leaves no orphan file
            path = None
    finally:
        if path is not None:
            path.unlink(missing_ok=True)

    enqueue_upsert(session, record)
    if "holder_name" in new:  # the same holder's other results show the name too
        for other in session.scalars(select(Record).where(Record.subject_id == record.subject_id,
                                                          Record.id != record.id)):
            enqueue_upsert(session, other)
    if report is not None:
        reports.mark_corrected(session, staff, report, correction, now)
    audit.record(session, staff.audit_name, "record.correct", f"record:{record.source_id}",
                 details={"correction": correction.id, "fields": sorted(after),
                          "problem_report": report.reference if report is not None else None})
    return correction


def _append_file(session: Session, record: Record, checked) -> None:
    document = session.get(Document, checked.sha256)
    if document is None:
        document = Document(sha256=checked.sha256, size=checked.size, media_type=checked.media_type,
                            pages=checked.pages, dpi=checked.dpi)
        session.add(document)
    # record.files is loaded (selectin) and read by the caller already: no query for the last position.
    position = max((f.position for f in record.files), default=0) + 1
    record.files.append(RecordFile(document=document, position=position, role="result",
                                   original_path=f"correction/{checked.filename}"[:300]))
    session.flush()  # sets the new file's document_sha256, read for the correction's "after"


def list_history(session: Session, record: Record) -> list[RecordCorrection]:
    """The corrections of ``record``, oldest first, with their clerks."""
    return list(session.scalars(select(RecordCorrection).where(RecordCorrection.record_id == record.id)
                                .options(selectinload(RecordCorrection.staff))
                                .order_by(RecordCorrection.at, RecordCorrection.id)))
