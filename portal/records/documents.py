"""Record → search document: the only module that knows both the model and the search document.

Both adapters index exactly these documents. Text fields keep their original diacritics (the
adapters fold them for matching and highlight in the original); filter fields are plain codes.
Personal data never enters the index: the holder's name only for public results, never an id number.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, lazyload

from portal.records.models import Access, Record
from portal.units.models import AdminUnit, UnitSuccession, UnitSystem
from portal.units.services import successors, unit_names

#: Searchable text fields, strongest first (the adapters boost them in this order).
TEXT_FIELDS = ("number", "holder", "title", "issuer", "summary", "units")
#: Filterable fields; every value is a string or a list of strings (year too, for one filter syntax).
FILTER_FIELDS = ("access", "status", "procedure_code", "unit", "current_unit", "year")


def current_unit_codes(unit: AdminUnit) -> list[str]:
    """The current units a result now belongs to: the unit itself if current, else its successors."""
    if unit.system == UnitSystem.CURRENT:
        return [unit.code]
    return [link.new_unit.code for link in successors(unit)]


def to_document(record: Record, today: date) -> dict[str, Any]:
    """The search document of one record; `status` is the effective status as of ``today``."""
    unit = record.issuing_unit
    public = record.access == Access.PUBLIC
    number = [record.number_display]
    number += [code for code in (record.dossier_code, record.result_type_code) if code]
    procedure_name = record.procedure.name if record.procedure is not None else ""
    doc: dict[str, Any] = {
        "id": record.source_id,
        "title": " · ".join(part for part in (record.doc_type_name, procedure_name) if part),
        "number": number,
        "holder": record.subject.name if public and record.subject is not None else "",
        "summary": record.summary or "",
        "issuer": record.issuer_name or "",
        "units": _unique(unit_names(unit)),
        "access": record.access,
        "status": str(record.effective_status(today)),
        "procedure_code": record.procedure_code,
        "unit": unit.code,
        "current_unit": _unique(current_unit_codes(unit)),
        "year": str(record.issued_date.year),
        "issued_date": record.issued_date.isoformat(),
    }
    doc["digest"] = digest(doc)
    return doc


def digest(doc: dict[str, Any]) -> str:
    """A short fingerprint of a document's content: `search check` uses it to find stale entries."""
    body = {k: v for k, v in doc.items() if k != "digest"}
    return hashlib.sha1(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _options():
    # Record already joins procedure, issuing_unit and subject; the unit's district and its
    # successors are loaded here too, so a batch costs a fixed number of queries (no N+1).
    return (
        joinedload(Record.issuing_unit).joinedload(AdminUnit.parent),
        joinedload(Record.issuing_unit).selectinload(AdminUnit.successor_links)
        .joinedload(UnitSuccession.new_unit),
        lazyload(Record.files),
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
    query = select(Record).where(Record.source_id.in_(ids)).options(*_options())
    return {r.source_id: r for r in session.scalars(query).unique()}


def iter_documents(session: Session, today: date, batch_size: int = 1000) -> Iterator[dict[str, Any]]:
    """Every record's document, by keyset pages of ``batch_size``.

    Memory stays flat on a full rebuild without expunging anything: the session's identity map
    holds unmodified objects weakly, so a finished batch is freed once nothing refers to it.
    """
    last_id = 0
    while True:
        batch = list(session.scalars(
            select(Record).where(Record.id > last_id).order_by(Record.id).limit(batch_size)
            .options(*_options())
        ).unique())
        if not batch:
            return
        for record in batch:
            yield to_document(record, today)
        last_id = batch[-1].id
        del batch
