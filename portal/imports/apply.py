"""Write one checked manifest line into the database: the record, its subject, files and history.

Functions take the session and an actor string, flush when they need ids, and never commit:
the import service commits a chunk of lines together with their ImportLine rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import outbox
from portal.db import utcnow
from portal.files.store import FileStore
from portal.imports.validation import CheckedLine
from portal.records.models import Document, Record, RecordFile, ResultStatus, StatusChange, Subject
from portal.search.text import ident_key

CREATED, UPDATED, UNCHANGED, REFUSED = "created", "updated", "unchanged", "refused"


def content_hash(data: dict[str, Any]) -> str:
    """Hash of the line's meaning, not its spelling: key order and spacing don't count."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class ChunkState:
    """What a chunk of lines needs from the database, loaded with a few queries for the whole chunk."""

    #: source_id → Record, for the chunk's records, the records they replace, and new ones.
    records: dict[str, Record] = field(default_factory=dict)
    #: replaced source_id → source_id of a record (stored) that replaces it.
    replaced_by: dict[str, str] = field(default_factory=dict)
    subjects: dict[tuple[str, str], Subject] = field(default_factory=dict)
    documents: set[str] = field(default_factory=set)


def load_chunk_state(session: Session, lines: Iterable[CheckedLine]) -> ChunkState:
    lines = list(lines)
    state = ChunkState()
    wanted = {line.source_id for line in lines} | {
        line.data["replaces"] for line in lines if line.data.get("replaces")
    }
    if wanted:
        for record in session.scalars(select(Record).where(Record.source_id.in_(wanted))).unique():
            state.records[record.source_id] = record
        ids = {line.source_id for line in lines}
        for source_id, target in session.execute(
            select(Record.source_id, Record.replaces_source_id).where(Record.replaces_source_id.in_(ids))
        ):
            state.replaced_by.setdefault(target, source_id)
    numbers = {line.data["subject"]["id_number"] for line in lines}
    if numbers:
        for subject in session.scalars(select(Subject).where(Subject.id_number.in_(numbers))):
            state.subjects[(subject.kind, subject.id_number)] = subject
    hashes = {f.sha256 for line in lines for f in line.files}
    if hashes:
        state.documents = set(session.scalars(select(Document.sha256).where(Document.sha256.in_(hashes))))
    return state


def apply_line(
    session: Session,
    state: ChunkState,
    line: CheckedLine,
    actor: str,
    *,
    batch_id: int | None,
    store: FileStore,
) -> str:
    """Create or update the line's record; returns created, updated or unchanged.

    Raises SQLAlchemyError (the caller refuses the line) and store.HashMismatch when a file
    changed on disk after it was checked.
    """
    data = line.data
    digest = content_hash(data)
    record = state.records.get(line.source_id)
    if record is not None and record.content_hash == digest:
        return UNCHANGED

    subject = _upsert_subject(session, state, line)
    for checked in line.files:
        if checked.sha256 not in state.documents:
            store.put_file(checked.local, checked.sha256)
            info = checked.info
            session.add(
                Document(
                    sha256=checked.sha256,
                    size=checked.size,
                    media_type=info.media_type,
                    pages=info.pages,
                    dpi=info.dpi,
                )
            )
            state.documents.add(checked.sha256)

    replaced_by = state.replaced_by.get(line.source_id)
    status = ResultStatus.REPLACED.value if replaced_by else data["status"]
    fields = _record_fields(line, digest)
    fields["subject"] = subject
    fields["import_batch_id"] = batch_id

    if record is None:
        record = Record(source_id=line.source_id, status=status, **fields)
        session.add(record)
        state.records[line.source_id] = record
        if replaced_by:
            # Stored with another status than the batch sent: say why. A record created with the
            # status it was sent with needs no history row (created_at and import_batch_id tell it),
            # which keeps a million-line import at one ORM object less per line.
            record.status_history.append(
                StatusChange(
                    old_status=None,
                    new_status=status,
                    actor=actor,
                    reason=f"sent as {data['status']}; replaced by {replaced_by} (imported earlier)"[:500],
                )
            )
        outcome = CREATED
    else:
        for name, value in fields.items():
            if getattr(record, name) != value:
                setattr(record, name, value)
        if record.status != status:
            reason = f"replaced by {replaced_by}" if replaced_by else "status sent in the batch"
            _change_status(record, status, actor, reason)
        outcome = UPDATED
    _sync_files(record, line)
    outbox.add(session, "search.upsert", record.source_id)

    target_id = data.get("replaces")
    if target_id:
        state.replaced_by.setdefault(target_id, line.source_id)
        target = state.records.get(target_id)
        if target is not None and target.status != ResultStatus.REPLACED:
            _change_status(target, ResultStatus.REPLACED.value, actor, f"replaced by {line.source_id}")
            outbox.add(session, "search.upsert", target.source_id)
    return outcome


def _change_status(record: Record, status: str, actor: str, reason: str) -> None:
    record.status_history.append(
        StatusChange(old_status=record.status, new_status=status, actor=actor, reason=reason[:500])
    )
    record.status = status
    record.status_changed_at = utcnow()


def _upsert_subject(session: Session, state: ChunkState, line: CheckedLine) -> Subject:
    given = line.data["subject"]
    key = (given["type"], given["id_number"])
    subject = state.subjects.get(key)
    if subject is None:
        subject = Subject(kind=key[0], id_number=key[1], name=given["name"], birth_date=line.birth_date)
        session.add(subject)
        state.subjects[key] = subject
    else:
        # The latest line speaks for the subject: names get corrected, birth dates filled in.
        if subject.name != given["name"]:
            subject.name = given["name"]
        if line.birth_date is not None and subject.birth_date != line.birth_date:
            subject.birth_date = line.birth_date
    return subject


def _record_fields(line: CheckedLine, digest: str) -> dict[str, Any]:
    data = line.data
    signer = data.get("signer") or {}
    archive = data.get("archive") or {}
    digitization = data.get("digitization") or {}
    keywords = archive.get("keywords")
    if isinstance(keywords, list):
        keywords = "; ".join(keywords)
    notation = data.get("doc_notation") or None
    return {
        "procedure_code": data["procedure_code"],
        "result_type_code": data.get("result_type_code") or None,
        "dossier_code": data.get("dossier_code") or None,
        "doc_type_name": data["doc_type_name"],
        "doc_number": data["doc_number"],
        "doc_notation": notation,
        "issued_date": line.issued_date,
        "issuer_name": data["issuer_name"],
        "issuing_unit_id": line.unit_id,
        "signer_name": signer.get("name") or None,
        "signer_title": signer.get("title") or None,
        "summary": data["summary"],
        "valid_from": line.valid_from,
        "valid_to": line.valid_to,
        "scope": data.get("scope") or None,
        "replaces_source_id": data.get("replaces") or None,
        "access": data["access"],
        "archive_fonds_code": archive.get("fonds_code"),
        "archive_file_code": archive.get("file_code"),
        "archive_doc_seq": archive.get("doc_seq"),
        "archive_language": archive.get("language"),
        "archive_pages": archive.get("pages"),
        "archive_physical_condition": archive.get("physical_condition"),
        "archive_keywords": keywords,
        "digitized_at": line.digitized_at,
        "digitization_operator": digitization.get("operator"),
        "digitization_source_form": digitization.get("source_form"),
        "digitization_dpi": digitization.get("dpi"),
        "number_key": ident_key(data["doc_number"] + (notation or "")),
        "dossier_key": ident_key(data["dossier_code"]) if data.get("dossier_code") else None,
        "content_hash": digest,
    }


def _sync_files(record: Record, line: CheckedLine) -> None:
    """Make the record's files those of the line, updating rows in place.

    In place because (record_id, position) is unique and the ORM inserts before it deletes:
    removing position 0 and adding a new position 0 in one flush would collide.
    """
    current = list(record.files) if record.id is not None else []
    for position, checked in enumerate(line.files):
        if position < len(current):
            row = current[position]
            if (row.document_sha256, row.role, row.original_path) != (
                checked.sha256,
                checked.role,
                checked.path,
            ):
                row.document_sha256, row.role, row.original_path = checked.sha256, checked.role, checked.path
        else:
            record.files.append(
                RecordFile(
                    document_sha256=checked.sha256,
                    position=position,
                    role=checked.role,
                    original_path=checked.path,
                )
            )
    for row in current[len(line.files) :]:
        record.files.remove(row)
