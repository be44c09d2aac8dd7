"""Record → search document: the only module that knows both the model and the search document.

Both adapters index exactly these documents. Text fields keep their original diacritics (the
adapters fold them for matching and highlight in the original); filter fields are plain codes.
Personal data never enters the index: the holder's name only for public results, never an id number.
The text read off the scans (`scan`, portal/ocr) follows the same rule: only a public result's,
with every run of nine or more digits (an id number as printed) blanked.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, Select, and_, or_, outerjoin, select
from sqlalchemy.orm import Session, joinedload, lazyload, selectinload

from portal.identity.models import Subject
from portal.procedures.models import Procedure
from portal.records.models import Access, Document, DocumentText, Record, RecordFile, TextStatus
from portal.units.models import AdminUnit, UnitSuccession, UnitSystem
from portal.units.services import successors, unit_names

#: Searchable text fields, strongest first (the adapters boost them in this order). "scan", the text
#: read off the result's files, comes last: a word found only there ranks below every other hit.
TEXT_FIELDS = ("number", "holder", "title", "issuer", "summary", "units", "scan")
#: The scan text of one result is cut here: enough for the words of a long permit's pages, and a
#: bound on what one result adds to the index (a 30-page file reads to ~60,000 characters).
SCAN_MAX_CHARS = 20_000
#: Nine or more digits, spaces or dots between them allowed: an id number (CMND 9, CCCD 12), a tax
#: code or a phone number as printed or as OCR spaced it. Blanked: the index holds no id number.
_LONG_NUMBER = re.compile(r"\d(?:[ .]?\d){8,}")
#: Filterable fields; every value is a string or a list of strings (year too, for one filter syntax).
FILTER_FIELDS = ("access", "status", "procedure_code", "unit", "current_unit", "year")


def current_unit_codes(unit: AdminUnit) -> list[str]:
    """The current units a result now belongs to: the unit itself if current, else its successors."""
    if unit.system == UnitSystem.CURRENT:
        return [unit.code]
    return [link.new_unit.code for link in successors(unit)]


@dataclass(frozen=True)
class UnitTerms:
    """What a result's document takes from its issuing unit: the same for every result of the unit."""

    code: str
    names: list[str]
    current_codes: list[str]

    @classmethod
    def of(cls, unit: AdminUnit) -> UnitTerms:
        """``unit`` with its parent and successor links (with their new units) loaded."""
        return cls(unit.code, _unique(unit_names(unit)), _unique(current_unit_codes(unit)))


def scan_text(texts: Iterable[str | None]) -> str:
    """What the index keeps of the texts read off a public result's files, in file order: spaces
    collapsed, id-like numbers blanked, cut at SCAN_MAX_CHARS."""
    joined = " ".join(" ".join((text or "").split()) for text in texts).strip()
    return _LONG_NUMBER.sub("…", joined)[:SCAN_MAX_CHARS]


def to_document(record: Record, today: date) -> dict[str, Any]:
    """The search document of one record; `status` is the effective status as of ``today``."""
    procedure_name = record.procedure.name if record.procedure is not None else ""
    public = record.access == Access.PUBLIC
    holder = record.subject.name if public and record.subject is not None else ""
    # A personal result's scan shows its holder's name and id number: its text never leaves the DB.
    scan = scan_text(f.document.reading.text for f in record.files
                     if f.document.reading is not None and f.document.reading.status == TextStatus.DONE
                     ) if public else ""
    return build_document(record, procedure_name, holder, UnitTerms.of(record.issuing_unit), today, scan)


def build_document(fields: Any, procedure_name: str | None, holder: str | None, unit: UnitTerms,
                   today: date, scan: str = "") -> dict[str, Any]:
    """The one builder of a search document, for a `Record` (`to_document`) and for a plain row of
    its columns (`iter_documents`), so both give the same bytes and `search check` compares them.

    ``fields`` has the record's own columns as attributes; ``holder`` and ``scan`` (`scan_text`)
    must already be "" for a personal result. The number and the effective status come from `Record`'s own rules, applied
    to whichever of the two ``fields`` is.
    """
    number = [Record.number_display.fget(fields)]
    number += [code for code in (fields.dossier_code, fields.result_type_code) if code]
    doc: dict[str, Any] = {
        "id": fields.source_id,
        "title": " · ".join(part for part in (fields.doc_type_name, procedure_name) if part),
        "number": number,
        "holder": holder or "",
        "summary": fields.summary or "",
        "issuer": fields.issuer_name or "",
        "units": list(unit.names),
        "scan": scan,
        "access": fields.access,
        "status": str(Record.effective_status(fields, today)),
        "procedure_code": fields.procedure_code,
        "unit": unit.code,
        "current_unit": list(unit.current_codes),
        "year": str(fields.issued_date.year),
        "issued_date": fields.issued_date.isoformat(),
    }
    doc["digest"] = _fingerprint(doc)
    return doc


def digest(doc: dict[str, Any]) -> str:
    """A short fingerprint of a document's content: `search check` uses it to find stale entries."""
    return _fingerprint({k: v for k, v in doc.items() if k != "digest"})


#: json.dumps(sort_keys=True, ensure_ascii=False) without building an encoder for each document.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def _fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha1(_ENCODER.encode(body).encode()).hexdigest()[:16]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _options():
    # Record already joins procedure, issuing_unit and subject; the unit's district and its
    # successors are loaded here too, so a batch costs a fixed number of queries (no N+1).
    return (
        joinedload(Record.issuing_unit).joinedload(AdminUnit.parent),
        joinedload(Record.issuing_unit).selectinload(AdminUnit.successor_links)
        .joinedload(UnitSuccession.new_unit),
        # The scan text: files, their documents (joined) and what was read off them, one query more.
        selectinload(Record.files).joinedload(RecordFile.document).joinedload(Document.reading),
        lazyload(Record.status_history),
    )


def load_records(session: Session, record_ids: Iterable[int]) -> list[Record]:
    """Records by primary key with everything `to_document` reads, in one round of queries."""
    ids = list(record_ids)
    if not ids:
        return []
    return list(session.scalars(select(Record).where(Record.id.in_(ids)).options(*_options())).unique())


def load_by_source_ids(session: Session, source_ids: Iterable[str]) -> dict[str, Record]:
    ids = list(source_ids)
    if not ids:
        return {}
    # A merged result is not searched (its kept result is): absent here, so the drain removes it.
    query = select(Record).where(Record.source_id.in_(ids), Record.merged_into_id.is_(None)).options(*_options())
    return {r.source_id: r for r in session.scalars(query).unique()}


def changed_since(session: Session, moment: datetime) -> list[str]:
    """The source ids of the results whose documents may have changed since ``moment``: the result
    was updated, or its holder was (a corrected name is stamped on the Subject and on the one
    result corrected, not on the holder's other results, which show the name too)."""
    renamed = select(Subject.id).where(Subject.updated_at >= moment)
    return list(session.scalars(select(Record.source_id).where(
        or_(Record.updated_at >= moment, Record.subject_id.in_(renamed)))))


#: The record's own columns a document reads (`build_document`), selected as a plain row.
_ROW_COLUMNS = (
    Record.id, Record.source_id, Record.doc_type_name, Record.doc_number, Record.doc_notation,
    Record.dossier_code, Record.result_type_code, Record.summary, Record.issuer_name, Record.access,
    Record.status, Record.valid_to, Record.procedure_code, Record.issued_date, Record.issuing_unit_id,
)


def _document_rows() -> Select:
    # The holder's name is joined for public results only: a personal result's never leaves the DB.
    holder = outerjoin(Record, Subject, and_(Subject.id == Record.subject_id, Record.access == Access.PUBLIC))
    return (select(*_ROW_COLUMNS, Subject.name.label("holder")).select_from(holder)
            .where(Record.merged_into_id.is_(None)).order_by(Record.id))


def iter_documents(session: Session, today: date, batch_size: int = 1000) -> Iterator[dict[str, Any]]:
    """Every record's document, built from plain rows (no ORM objects): the full-rebuild path.

    One query streams the rows (a server-side cursor on PostgreSQL: one snapshot, flat memory);
    on SQLite keyset pages of ``batch_size``, each its own short read, so writers are never held
    up behind one long read for the whole build. Procedure names and what a document takes from
    its unit (`UnitTerms`) are looked up once, before the first row, not per record. Each document
    is the one `to_document` gives for the same record (tests/search/test_documents.py).
    """
    procedures = dict(session.execute(select(Procedure.code, Procedure.name)).all())
    units = {unit.id: unit for unit in session.scalars(
        select(AdminUnit).options(joinedload(AdminUnit.parent),
                                  selectinload(AdminUnit.successor_links).joinedload(UnitSuccession.new_unit)))}
    terms: dict[int, UnitTerms] = {}
    for batch in _row_batches(session, batch_size):
        scans = _scan_texts(session, [row.id for row in batch if row.access == Access.PUBLIC])
        for row in batch:
            unit = terms.get(row.issuing_unit_id)
            if unit is None:
                unit = terms[row.issuing_unit_id] = UnitTerms.of(units[row.issuing_unit_id])
            yield build_document(row, procedures.get(row.procedure_code), row.holder, unit, today,
                                 scan_text(scans.get(row.id, ())))


def _scan_texts(session: Session, record_ids: list[int]) -> dict[int, list[str]]:
    """record id → the texts read off its files, in file order (public results only: see callers)."""
    if not record_ids:
        return {}
    out: dict[int, list[str]] = {}
    for record_id, text in session.execute(
            select(RecordFile.record_id, DocumentText.text)
            .join(DocumentText, DocumentText.document_sha256 == RecordFile.document_sha256)
            .where(RecordFile.record_id.in_(record_ids), DocumentText.status == TextStatus.DONE)
            .order_by(RecordFile.record_id, RecordFile.position)):
        out.setdefault(record_id, []).append(text or "")
    return out


def _row_batches(session: Session, batch_size: int) -> Iterator[list[Row]]:
    if session.get_bind().dialect.name == "postgresql":
        result = session.execute(_document_rows().execution_options(yield_per=batch_size))
        try:
            yield from result.partitions()
        finally:
            result.close()  # an abandoned generator closes the server-side cursor too
        return
    last_id = 0
    while True:
        batch = session.execute(_document_rows().where(Record.id > last_id).limit(batch_size)).all()
        if not batch:
            return
        yield batch
        last_id = batch[-1].id
