"""What an import reports about lines that went in: new procedures and possible duplicates.

Both are warnings, never refusals (spec v1.1): the line is stored, and the report says so once.
A warning is an entry of `ImportLine.errors` like a refusal, with ``severity: "warning"`` and
``ref`` naming what it refers to (the procedure code, the other result's source_id).

Both write in the chunk's transaction with INSERT … ON CONFLICT DO NOTHING on their unique key,
so two imports meeting the same new procedure, or flagging the same pair, at the same moment
neither fail nor write it twice (PostgreSQL makes the second insert wait for the first
transaction, then skips the row; SQLite runs one writer at a time).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, or_, select, tuple_, union_all
from sqlalchemy.orm import Session

from portal.imports.apply import CREATED, UPDATED, number_key
from portal.imports.validation import CheckedLine
from portal.procedures.models import Procedure
from portal.records.models import Document, DuplicateFlag, DuplicateState, Record, RecordFile

WARNING = "warning"
NEW_PROCEDURE, UNCATALOGUED_PROCEDURE, POSSIBLE_DUPLICATE = (
    "new_procedure", "uncatalogued_procedure", "possible_duplicate")
PROCEDURE_CODES = (NEW_PROCEDURE, UNCATALOGUED_PROCEDURE)
#: At most this many other results are named for one line: a line matching dozens is a pattern
#: (a shared number series), not a result digitized twice, and the list would drown the report.
MAX_MATCHES = 5
#: Bytes held by more than this many results (the line's own included) are shared material (a
#: standard form, a placeholder scan), not one result's scan: they raise no flag.
MAX_FILE_HOLDERS = 3
#: Per-file lookups sent in one statement (SQLite allows 500 terms in a compound SELECT).
UNION_TERMS = 200


def warning(field: str, code: str, vi: str, en: str, ref: str) -> dict[str, str]:
    return {"severity": WARNING, "field": field, "code": code, "vi": vi, "en": en, "ref": ref}


def insert_missing(session: Session, table: Table, rows: list[dict[str, Any]], keys: list[str],
                   returning: str | None = None) -> set:
    """INSERT rows, skipping those whose unique ``keys`` exist (committed or being inserted by a
    concurrent transaction); returns the ``returning`` column of the rows this call inserted."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(rows).on_conflict_do_nothing(index_elements=keys)
    if returning is None:
        session.execute(statement)
        return set()
    return set(session.scalars(statement.returning(table.c[returning])))


# --- Procedures ----------------------------------------------------------------------------------


def create_procedures(session: Session, lines: Iterable[CheckedLine]) -> set[str]:
    """Create, uncatalogued, the procedures of ``lines`` the portal did not know; returns the codes
    this call created (a concurrent import may have created the others a moment before).

    Named from the first line that gives ``procedure_name``, else from the first line's
    ``doc_type_name``; field and level stay empty ("") until a catalogue export completes them.
    """
    wanted: dict[str, dict[str, Any]] = {}
    for line in lines:
        if line.procedure_known:
            continue
        data = line.data
        code, given = data["procedure_code"], (data.get("procedure_name") or "").strip()
        row = wanted.get(code)
        if row is None:
            wanted[code] = {"code": code, "name": given or data["doc_type_name"], "named": bool(given),
                            "field": "", "level": "", "result_doc_type": data["doc_type_name"],
                            "notation": "", "access": data["access"], "catalogued": False}
        elif given and not row["named"]:
            row["name"], row["named"] = given, True
    rows = [{k: v for k, v in row.items() if k != "named"} for row in wanted.values()]
    return insert_missing(session, Procedure.__table__, rows, ["code"], returning="code")


def procedure_warning(code: str, name: str, created: bool) -> dict[str, str]:
    if created:
        return warning(
            "procedure_code", NEW_PROCEDURE,
            f"Mã thủ tục {code} chưa có trong danh mục của cổng: đã tạo thủ tục chưa biên mục «{name}»; "
            "cần nạp danh mục thủ tục quốc gia hoặc bổ sung thông tin thủ tục",
            f"procedure_code {code} is not in the portal's catalogue: created as an uncatalogued "
            f"procedure “{name}”; load the national catalogue or complete the procedure", code)
    return warning(
        "procedure_code", UNCATALOGUED_PROCEDURE,
        f"Thủ tục {code} («{name}») chưa được biên mục: đã được tạo từ một lô khác, chưa có trong danh mục",
        f"procedure {code} (“{name}”) is still uncatalogued: another batch created it, the catalogue "
        "does not have it yet", code)


def procedure_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    codes = set(codes)
    if not codes:
        return {}
    return dict(session.execute(select(Procedure.code, Procedure.name).where(Procedure.code.in_(codes))).all())


# --- Possible duplicates -------------------------------------------------------------------------


def stored_before(session: Session, lines: Iterable[CheckedLine]) -> set[str]:
    """The result files of ``lines`` the store already holds, before the chunk is applied: only
    those (and files repeated within the chunk) can be another result's too."""
    shas = {f.sha256 for line in lines for f in line.files if f.role == "result"}
    if not shas:
        return set()
    return set(session.scalars(select(Document.sha256).where(Document.sha256.in_(shas))))


def flag_duplicates(session: Session, lines: list[CheckedLine], outcomes: dict[int, str],
                    batch_id: int | None, stored: set[str] | None = None) -> dict[int, list[dict[str, str]]]:
    """Flag the created or updated ``lines`` that look like a result already held under another
    source_id; returns line_no → its warnings. Writes one `DuplicateFlag` per new pair.

    Two rules: the same issuing unit, number and notation (`number_key`) and issued date; or a
    result file with the same bytes as another result's result file (held by at most
    MAX_FILE_HOLDERS results). A result created by a later line of the same chunk is not
    "already held"; a merged result counts as the one it was merged into; a pair judged
    "different" is never flagged again.
    """
    lines = [line for line in lines if outcomes.get(line.line_no) in (CREATED, UPDATED)]
    if not lines:
        return {}
    own = _own_records(session, [line.source_id for line in lines])
    created_at_line = {line.source_id: line.line_no for line in lines if outcomes[line.line_no] == CREATED}

    matches: dict[int, dict[int, set[str]]] = {}  # line_no → other record id → reasons
    detail: dict[tuple[int, int], str] = {}  # (line_no, other id) → path of the same file

    keys = {(number_key(line.data), line.issued_date, line.unit_id): line for line in lines}
    found = session.execute(
        select(Record.id, Record.source_id, Record.merged_into_id, Record.number_key, Record.issued_date,
               Record.issuing_unit_id)
        .where(tuple_(Record.number_key, Record.issued_date, Record.issuing_unit_id).in_(list(keys))))
    by_key: dict[tuple, list[tuple[int, str, int | None]]] = {}
    for id_, source_id, merged_into, key, day, unit in found:
        by_key.setdefault((key, day, unit), []).append((id_, source_id, merged_into))
    for key, line in keys.items():
        for id_, source_id, merged_into in by_key.get(key, ()):
            other = merged_into or id_
            if other != own.get(line.source_id) and not _later(source_id, line, created_at_line):
                matches.setdefault(line.line_no, {}).setdefault(other, set()).add("number")
    # Lines of the chunk sharing a key each see the others' records in the query above.

    # Only bytes stored before this chunk, or named by two of its lines, can be another result's:
    # a batch of new scans costs no lookup at all (``stored``: `stored_before`, None = look up all).
    uses: dict[str, int] = {}
    for line in lines:
        for sha in {f.sha256 for f in line.files if f.role == "result"}:
            uses[sha] = uses.get(sha, 0) + 1
    holders = _file_holders(session, {sha for sha, n in uses.items() if stored is None or sha in stored or n > 1})
    for line in lines:
        for checked in line.files:
            if checked.role != "result":
                continue
            rows = [row for row in holders.get(checked.sha256, []) if not _later(row[1], line, created_at_line)]
            others = {merged_into or id_ for id_, _source, merged_into in rows} - {own.get(line.source_id)}
            if len(others) + 1 > MAX_FILE_HOLDERS or len(rows) > MAX_FILE_HOLDERS:
                continue
            for id_, _source_id, merged_into in rows:
                other = merged_into or id_
                if other in others:
                    matches.setdefault(line.line_no, {}).setdefault(other, set()).add("file")
                    detail.setdefault((line.line_no, other), checked.path)
    if not matches:
        return {}

    pairs = {_pair(own[line.source_id], other) for line in lines for other in matches.get(line.line_no, {})}
    decided = _decided_pairs(session, pairs)
    names = dict(session.execute(select(Record.id, Record.source_id).where(
        Record.id.in_({other for found in matches.values() for other in found}))).all())
    warnings: dict[int, list[dict[str, str]]] = {}
    new_flags: dict[tuple[int, int], dict[str, Any]] = {}
    for line in lines:
        for other in sorted(matches.get(line.line_no, {}))[:MAX_MATCHES]:
            pair = _pair(own[line.source_id], other)
            if decided.get(pair) in (DuplicateState.DIFFERENT, DuplicateState.SAME):
                continue
            reasons = matches[line.line_no][other]
            warnings.setdefault(line.line_no, []).append(
                _duplicate_warning(names[other], reasons, detail.get((line.line_no, other))))
            if pair not in decided and pair not in new_flags:
                new_flags[pair] = {"record_id": pair[0], "other_id": pair[1], "reasons": _reason_text(reasons),
                                   "state": DuplicateState.OPEN.value, "batch_id": batch_id,
                                   "line_no": line.line_no}
    insert_missing(session, DuplicateFlag.__table__, list(new_flags.values()), ["record_id", "other_id"])
    return warnings


def _own_records(session: Session, source_ids: list[str]) -> dict[str, int]:
    """source_id → id of the result it now stands for (the kept one, for a merged source_id)."""
    return {source_id: merged_into or id_ for id_, source_id, merged_into in session.execute(
        select(Record.id, Record.source_id, Record.merged_into_id).where(Record.source_id.in_(source_ids)))}


def _later(source_id: str, line: CheckedLine, created_at_line: dict[str, int]) -> bool:
    """Created by a later line of this chunk: not "already held" when ``line`` arrived."""
    return created_at_line.get(source_id, 0) > line.line_no


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _reason_text(reasons: set[str]) -> str:
    return " ".join(sorted(reasons, key=("number", "file").index))


def _file_holders(session: Session, shas: set[str]) -> dict[str, list[tuple[int, str, int | None]]]:
    """sha256 → up to MAX_FILE_HOLDERS + 1 results holding it as a result file, by id. Bounded per
    file (LIMIT in each term), so a scan shared by a million results costs no more than a rare one."""
    out: dict[str, list[tuple[int, str, int | None]]] = {}
    ordered = sorted(shas)
    for start in range(0, len(ordered), UNION_TERMS):
        terms = [select(RecordFile.document_sha256, RecordFile.record_id)
                 .where(RecordFile.document_sha256 == sha, RecordFile.role == "result")
                 .order_by(RecordFile.record_id).limit(MAX_FILE_HOLDERS + 1).subquery().select()
                 for sha in ordered[start:start + UNION_TERMS]]
        statement = terms[0] if len(terms) == 1 else union_all(*terms)
        rows = session.execute(statement).all()
        if not rows:
            continue
        records = {id_: (source_id, merged_into) for id_, source_id, merged_into in session.execute(
            select(Record.id, Record.source_id, Record.merged_into_id)
            .where(Record.id.in_({record_id for _sha, record_id in rows})))}
        for sha, record_id in rows:
            holders = out.setdefault(sha, [])
            if all(record_id != held for held, _s, _m in holders):
                holders.append((record_id, *records[record_id]))
    return {sha: holders for sha, holders in out.items() if len(holders) > 1}


def _decided_pairs(session: Session, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
    if not pairs:
        return {}
    ids = {i for pair in pairs for i in pair}
    return {(a, b): state for a, b, state in session.execute(
        select(DuplicateFlag.record_id, DuplicateFlag.other_id, DuplicateFlag.state)
        .where(or_(DuplicateFlag.record_id.in_(ids), DuplicateFlag.other_id.in_(ids))))
        if (a, b) in pairs}


def _duplicate_warning(other: str, reasons: set[str], path: str | None) -> dict[str, str]:
    vi, en = [], []
    if "number" in reasons:
        vi.append("cùng đơn vị ban hành, số, ký hiệu và ngày ban hành")
        en.append("same issuing unit, number, notation and issued date")
    if "file" in reasons:
        vi.append(f"tệp {path} giống hệt tệp của kết quả đó")
        en.append(f"file {path} has the same bytes as one of its files")
    return warning(
        "files" if reasons == {"file"} else "doc_number", POSSIBLE_DUPLICATE,
        f"Có thể trùng với kết quả {other} đã có ({'; '.join(vi)}): cán bộ sẽ xem xét",
        f"possible duplicate of result {other}, already held ({'; '.join(en)}): staff will review it",
        other)
