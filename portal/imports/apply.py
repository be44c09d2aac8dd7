"""Write one checked manifest line into the database: the record, its subject, files and history.

Functions take the session and an actor string, flush when they need ids, and never commit:
the import service commits a chunk of lines together with their ImportLine rows.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, func, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased

from portal.db import utcnow
from portal.files.store import FileStore
from portal.identity.models import Subject
from portal.imports.validation import CheckedLine
from portal.outbox import OutboxItem
from portal.records import index_queue
from portal.records.models import Document, Record, RecordFile, ResultStatus, StatusChange
from portal.text import ident_key

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
    wanted = {line.source_id for line in lines} | {
        line.data["replaces"] for line in lines if line.data.get("replaces")
    }
    return _load_state(session, lines, wanted)


def _load_state(session: Session, lines: list[CheckedLine], record_ids: set[str]) -> ChunkState:
    """What applying ``lines`` needs from the database, in one query each: the records
    ``record_ids`` (full rows, for the ORM), who replaces each line's result, the subjects and the
    documents already stored."""
    state = ChunkState()
    if record_ids:
        merged: dict[str, int] = {}
        for record in session.scalars(select(Record).where(Record.source_id.in_(record_ids))).unique():
            if record.merged_into_id is None:
                state.records[record.source_id] = record
            else:
                merged[record.source_id] = record.merged_into_id
        if merged:
            # A merged result's source_id is an alias: its lines update the result kept instead.
            kept = {r.id: r for r in session.scalars(
                select(Record).where(Record.id.in_(set(merged.values())))).unique()}
            for alias, kept_id in merged.items():
                state.records[alias] = kept[kept_id]
    ids = {line.source_id for line in lines}
    if ids:
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
        _update(record, fields, status, replaced_by, actor)
        outcome = UPDATED
    _sync_files(record, line)
    index_queue.enqueue_upsert(session, record)

    target_id = data.get("replaces")
    if target_id:
        state.replaced_by.setdefault(target_id, line.source_id)
        target = state.records.get(target_id)
        if target is not None and target.status != ResultStatus.REPLACED:
            _change_status(target, ResultStatus.REPLACED.value, actor, f"replaced by {line.source_id}")
            index_queue.enqueue_upsert(session, target)
    return outcome


def _update(record: Record, fields: dict[str, Any], status: str, replaced_by: str | None, actor: str) -> None:
    """Set the fields that differ; a new status is a change of status, with its history row."""
    for name, value in fields.items():
        if getattr(record, name) != value:
            setattr(record, name, value)
    if record.status != status:
        reason = f"replaced by {replaced_by}" if replaced_by else "status sent in the batch"
        _change_status(record, status, actor, reason)


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
        "number_key": number_key(data),
        "dossier_key": _ident_key(data["dossier_code"]) if data.get("dossier_code") else None,
        "content_hash": digest,
    }


_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def number_key(data: dict[str, Any]) -> str:
    """The line's folded number and notation, as stored in `Record.number_key`."""
    return _ident_key(data["doc_number"] + (data.get("doc_notation") or ""))


def _ident_key(text: str) -> str:
    """text.ident_key, without its Unicode folding for plain ASCII (what identifiers are)."""
    if text.isascii():
        return _NON_ALNUM.sub("", text.lower())
    return ident_key(text)


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


# --- Fast path: a whole chunk, new rows written with multi-row INSERTs ----------------------------
#
# ``apply_lines`` gives exactly the database state that ``apply_line`` on each line in turn gives,
# at a fraction of the cost: records, subjects, documents, files, status changes and outbox rows
# that a chunk *creates* are gathered as plain rows and written with one multi-row INSERT per
# table (``insertmanyvalues``, RETURNING the new ids), instead of one ORM object each. Records that
# already exist (updates, replaced targets) keep the ORM path. Unchanged lines are recognised from
# (source_id, content_hash) alone, without loading their records. Any database error propagates:
# the service then redoes the chunk line by line with ``apply_line`` and savepoints.


@dataclass
class _NewSubject:
    row: dict[str, Any]
    #: The ORM object, when a record updated through the ORM needs this subject before it exists.
    orm: Subject | None = None

    def update(self, name: str, birth_date) -> None:
        target = self.orm
        if target is not None:
            if target.name != name:
                target.name = name
            if birth_date is not None and target.birth_date != birth_date:
                target.birth_date = birth_date
        else:
            self.row["name"] = name
            if birth_date is not None:
                self.row["birth_date"] = birth_date


@dataclass
class _NewRecord:
    source_id: str
    status: str
    content_hash: str
    row: dict[str, Any]
    subject: Subject | _NewSubject
    files: list[dict[str, Any]]
    history: list[dict[str, Any]] = field(default_factory=list)


def apply_lines(
    session: Session,
    lines: list[CheckedLine],
    actor: str,
    *,
    batch_id: int | None,
    store: FileStore,
) -> dict[int, str]:
    """line_no → created, updated or unchanged, for a chunk of checked lines, applied in order.

    Same result as ``apply_line`` on each line; raises SQLAlchemyError (nothing is kept: the
    caller rolls back) and store.HashMismatch.
    """
    now = utcnow()
    digests = {line.line_no: content_hash(line.data) for line in lines}
    wanted = {line.source_id for line in lines} | {
        line.data["replaces"] for line in lines if line.data.get("replaces")
    }
    known: dict[str, str] = {}
    if wanted:
        # A merged result's source_id stands for the kept result: its content hash is the kept one's.
        kept = aliased(Record)
        query = (select(Record.source_id, func.coalesce(kept.content_hash, Record.content_hash))
                 .outerjoin(kept, kept.id == Record.merged_into_id).where(Record.source_id.in_(wanted)))
        known = dict(session.execute(query).all())
    outcomes: dict[int, str] = {}
    changed = []
    for line in lines:
        if known.get(line.source_id) == digests[line.line_no]:
            outcomes[line.line_no] = UNCHANGED
        else:
            changed.append(line)
    if not changed:
        return outcomes

    # Full records only for those the ORM will change: updated ones and replaced targets.
    orm_ids = {line.source_id for line in changed if line.source_id in known} | {
        line.data["replaces"] for line in changed if line.data.get("replaces") in known
    }
    state = _load_state(session, changed, orm_ids)

    new_subjects: list[_NewSubject] = []
    new_documents: list[dict[str, Any]] = []
    new_records: list[_NewRecord] = []
    outbox_keys: list[str] = []

    # No autoflush: lazy loads (a record's status history) and the INSERTs must not flush ORM
    # changes that point at documents not written yet; _write_new_rows flushes when it is time.
    with session.no_autoflush:
        _apply_in_order(session, changed, state, digests, actor, batch_id, store, now, outcomes,
                        new_subjects, new_documents, new_records, outbox_keys)
        _write_new_rows(session, new_subjects, new_documents, new_records, outbox_keys, now)
    return outcomes


def _apply_in_order(session, changed, state, digests, actor, batch_id, store, now, outcomes,
                    new_subjects, new_documents, new_records, outbox_keys) -> None:
    for line in changed:
        data = line.data
        digest = digests[line.line_no]
        record = state.records.get(line.source_id)

        given = data["subject"]
        key = (given["type"], given["id_number"])
        subject = state.subjects.get(key)
        if subject is None:
            subject = _NewSubject(row={"kind": key[0], "id_number": key[1], "name": given["name"],
                                       "birth_date": line.birth_date, "created_at": now, "updated_at": now})
            new_subjects.append(subject)
            state.subjects[key] = subject
        elif isinstance(subject, _NewSubject):
            subject.update(given["name"], line.birth_date)
        else:
            if subject.name != given["name"]:
                subject.name = given["name"]
            if line.birth_date is not None and subject.birth_date != line.birth_date:
                subject.birth_date = line.birth_date

        for checked in line.files:
            if checked.sha256 not in state.documents:
                store.put_file(checked.local, checked.sha256)
                info = checked.info
                new_documents.append({"sha256": checked.sha256, "size": checked.size,
                                      "media_type": info.media_type, "pages": info.pages,
                                      "dpi": info.dpi, "created_at": now})
                state.documents.add(checked.sha256)

        replaced_by = state.replaced_by.get(line.source_id)
        status = ResultStatus.REPLACED.value if replaced_by else data["status"]
        fields = _record_fields(line, digest)
        fields["import_batch_id"] = batch_id

        if record is None:
            row = {"source_id": line.source_id, "status": status, **fields, "subject_id": None,
                   "status_changed_at": now, "created_at": now, "updated_at": now}
            files = [{"document_sha256": checked.sha256, "position": position, "role": checked.role,
                      "original_path": checked.path} for position, checked in enumerate(line.files)]
            new = _NewRecord(source_id=line.source_id, status=status, content_hash=digest, row=row,
                             subject=subject, files=files)
            if replaced_by:
                new.history.append(_history_row(
                    None, status, actor,
                    f"sent as {data['status']}; replaced by {replaced_by} (imported earlier)", now))
            new_records.append(new)
            state.records[line.source_id] = new
            outcomes[line.line_no] = CREATED
        else:
            if isinstance(subject, _NewSubject):
                if subject.orm is None:
                    subject.orm = Subject(**{k: v for k, v in subject.row.items()
                                             if k not in ("created_at", "updated_at")})
                    session.add(subject.orm)
                fields["subject"] = subject.orm
            else:
                fields["subject"] = subject
            _update(record, fields, status, replaced_by, actor)
            _sync_files(record, line)
            outcomes[line.line_no] = UPDATED
        outbox_keys.append(record.source_id if isinstance(record, Record) else line.source_id)

        target_id = data.get("replaces")
        if target_id:
            state.replaced_by.setdefault(target_id, line.source_id)
            target = state.records.get(target_id)
            if target is not None and target.status != ResultStatus.REPLACED:
                if isinstance(target, _NewRecord):
                    target.history.append(_history_row(target.status, ResultStatus.REPLACED.value, actor,
                                                       f"replaced by {line.source_id}", utcnow()))
                    target.status = target.row["status"] = ResultStatus.REPLACED.value
                    target.row["status_changed_at"] = utcnow()
                else:
                    _change_status(target, ResultStatus.REPLACED.value, actor,
                                   f"replaced by {line.source_id}")
                outbox_keys.append(target.source_id)


def _write_new_rows(session, new_subjects, new_documents, new_records, outbox_keys, now) -> None:
    # Parents before children: documents, then ORM changes (they may point at new documents),
    # then subjects, records, and what hangs off the records.
    bulk_insert(session, Document.__table__, new_documents)
    session.flush()
    pending = [s for s in new_subjects if s.orm is None]
    subject_ids: dict[tuple[str, str], int] = {}
    if pending:
        bulk_insert(session, Subject.__table__, [s.row for s in pending])
        numbers = {s.row["id_number"] for s in pending}
        for id_, kind, number in session.execute(
            select(Subject.id, Subject.kind, Subject.id_number).where(Subject.id_number.in_(numbers))
        ):
            subject_ids[(kind, number)] = id_
    if new_records:
        for new in new_records:
            subject = new.subject
            if isinstance(subject, _NewSubject):
                new.row["subject_id"] = (subject.orm.id if subject.orm is not None
                                         else subject_ids[(subject.row["kind"], subject.row["id_number"])])
            else:
                new.row["subject_id"] = subject.id
        bulk_insert(session, Record.__table__, [new.row for new in new_records])
        created = [new.source_id for new in new_records]
        record_ids = dict(session.execute(
            select(Record.source_id, Record.id).where(Record.source_id.in_(created))
        ).all())
        bulk_insert(session, RecordFile.__table__, [
            {"record_id": record_ids[new.source_id], **row} for new in new_records for row in new.files])
        bulk_insert(session, StatusChange.__table__, [
            {"record_id": record_ids[new.source_id], **row} for new in new_records for row in new.history])
    bulk_insert(session, OutboxItem.__table__, index_queue.upsert_rows(outbox_keys, now))


def bulk_insert(session: Session, table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows (all with the same keys, defaults filled in): one executemany, COPY with psycopg.

    The statement is compiled once and each value goes through its column type's bind processor,
    as SQLAlchemy would do, but without its per-row bookkeeping, which costs more than the
    database's own work for these narrow rows. Runs in the session's transaction.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys, for_executemany=True)
    names = list(compiled.positiontup) if compiled.positional else keys
    processors = [(name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names]
    if compiled.positional:
        params = [tuple(row[name] if process is None else process(row[name]) for name, process in processors)
                  for row in rows]
        connection.exec_driver_sql(compiled.string, params)
        return
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        # psycopg: COPY. A pipelined executemany still runs one INSERT per row on the server,
        # and one huge multi-row INSERT costs more to parse on the client than the rows to send.
        quote = dialect.identifier_preparer.quote
        copy_processors = [json.dumps if isinstance(table.c[name].type, JSON) else process
                           for name, process in processors]
        sql = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in keys)}) FROM STDIN"
        error_class = dialect.loaded_dbapi.Error
        try:
            with connection.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(tuple(row[name] if process is None else process(row[name])
                                         for name, process in zip(keys, copy_processors, strict=True)))
        except error_class as problem:  # as SQLAlchemy would raise it: the caller retries line by line
            raise DBAPIError.instance(sql, None, problem, error_class, dialect=dialect) from problem
        return
    params = [{name: row[name] if process is None else process(row[name]) for name, process in processors}
              for row in rows]
    connection.exec_driver_sql(compiled.string, params)


def _history_row(old: str | None, new: str, actor: str, reason: str, when) -> dict[str, Any]:
    return {"old_status": old, "new_status": new, "changed_at": when, "actor": actor, "reason": reason[:500]}
