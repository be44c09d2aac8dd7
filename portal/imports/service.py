"""Run an import batch (a folder or a .zip of it) and render the report kept with it.

Lines are processed in chunks; one chunk is one transaction holding the record changes AND
the ImportLine rows saying what happened to each line. A run killed at any point therefore
loses nothing and doubles nothing: the next run of the same manifest resumes the batch after
the last committed line.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from portal import audit, refdata
from portal.db import utcnow
from portal.files.inspect import Budgets
from portal.files.store import FileStore, HashMismatch
from portal.imports import findings, zip_budgets
from portal.imports.apply import REFUSED, UNCHANGED, apply_line, apply_lines, bulk_insert, load_chunk_state
from portal.imports.models import ImportBatch, ImportLine
from portal.imports.validation import BatchContext, CheckedLine, error, validate_line

MANIFEST = "manifest.jsonl"
OUTCOMES = ("created", "updated", "unchanged", "refused")
#: Per-run caches of file hashes and inspections are dropped past this size, so that a batch of
#: a million distinct files runs in bounded memory (a file named again later is re-read, no more).
FILE_CACHE_LIMIT = 50_000


class BatchError(Exception):
    """PATH is not an import batch (missing, no manifest.jsonl, unsafe or broken zip)."""

    def __init__(self, vi: str, en: str):
        super().__init__(en)
        self.vi, self.en = vi, en


@dataclass
class Progress:
    total_lines: int  # physical lines in the manifest, blank ones included
    done_lines: int
    counts: Counter


def run_import(
    session: Session,
    path: Path,
    actor: str,
    progress: Callable[[Progress], None] | None = None,
    chunk_size: int = 200,
) -> ImportBatch:
    """Import the batch at ``path``; resumes an unfinished run of the same manifest.

    Commits after every chunk (the import owns its transactions). Raises BatchError.
    """
    refdata.ensure_loaded(session)
    config = current_app.config
    with _batch_root(Path(path), Path(config["DATA_DIR"])) as root:
        manifest = root / MANIFEST
        manifest_sha256, total_lines = _hash_and_count(manifest)
        batch = session.scalars(
            select(ImportBatch)
            .where(ImportBatch.manifest_sha256 == manifest_sha256, ImportBatch.status == "running")
            .order_by(ImportBatch.id.desc())
            .limit(1)
        ).first()
        if batch is None:
            batch = ImportBatch(
                name=_batch_name(Path(path)),
                manifest_sha256=manifest_sha256,
                actor=actor,
                status="running",
                lines_total=total_lines,
            )
            session.add(batch)
            session.commit()  # the run exists from now on: a kill from here on is resumable
        ctx = BatchContext(
            session=session,
            root=root,
            min_dpi=int(config["MIN_SCAN_DPI"]),
            max_file_bytes=int(config["MAX_FILE_BYTES"]),
            budgets=Budgets.from_config(config),
        )
        done_upto, counts = _resume_point(session, batch, ctx)
        store = FileStore.from_config(config)
        planner_stats = _Statistics(session)
        line_actor = f"import:{batch.id}"
        if progress:
            progress(Progress(total_lines, done_upto, counts))

        chunk: list[tuple[int, bytes]] = []
        last_line_no = done_upto
        for line_no, raw in _read_lines(manifest):
            last_line_no = line_no
            if line_no <= done_upto:
                continue
            chunk.append((line_no, raw))
            if len(chunk) >= chunk_size:
                _import_chunk(session, batch, ctx, store, chunk, line_actor, counts)
                planner_stats.after_chunk(session, counts)
                chunk = []
                if progress:
                    progress(Progress(total_lines, line_no, counts))
        if chunk:
            _import_chunk(session, batch, ctx, store, chunk, line_actor, counts)
        if progress:
            progress(Progress(total_lines, max(last_line_no, total_lines), counts))

        summary = _summary(session, batch)
        batch.summary = summary
        batch.lines_total = summary["read"]
        batch.status = "completed"
        batch.finished_at = utcnow()
        audit.record(session, actor, "records.import", f"batch:{batch.id}", channel="cli", details=summary)
        session.commit()
        return batch


# --- Lines -----------------------------------------------------------------------------------


def _read_lines(manifest: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of the non-blank lines, streamed: a million lines never sit in memory."""
    with open(manifest, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if raw.strip():
                yield line_no, raw


def _parse(raw: bytes) -> object:
    """The parsed JSON, or the raw text when it is not JSON (validation reports it)."""
    text = raw.decode()  # UnicodeDecodeError handled by the caller
    try:
        return json.loads(text)
    except ValueError:
        return text


def _source_id_of(data) -> str | None:
    """The line's source_id when it is usable as one (stored on the ImportLine, even if refused)."""
    if isinstance(data, dict):
        value = data.get("source_id")
        if isinstance(value, str) and value.strip() and len(value) <= 120:
            return value
    return None


def _import_chunk(
    session: Session,
    batch: ImportBatch,
    ctx: BatchContext,
    store: FileStore,
    chunk: list[tuple[int, bytes]],
    actor: str,
    counts: Counter,
) -> None:
    """Check and apply one chunk, with its ImportLine rows, in one transaction; then commit."""
    checked: list[CheckedLine] = []
    results: dict[int, tuple[str | None, str, list]] = {}  # line_no → (source_id, outcome, errors)
    for line_no, raw in chunk:
        try:
            data = _parse(raw)
        except UnicodeDecodeError:
            data = None
            outcome = [error("", "encoding", "Dòng không phải văn bản UTF-8", "the line is not UTF-8 text")]
        else:
            outcome = validate_line(ctx, line_no, data)
        if isinstance(outcome, list):
            results[line_no] = (_source_id_of(data), REFUSED, outcome)
        else:
            checked.append(outcome)

    try:
        # Fast path: the whole chunk at once, new rows in multi-row INSERTs.
        applied = _apply_and_find(session, ctx, checked, actor, batch.id, store, per_line_savepoint=False)
        _add_import_lines(session, batch, results, applied)
        session.commit()
    except SQLAlchemyError:
        # Some line broke a database rule: start the chunk again, one savepoint per line,
        # so only the offending lines are refused.
        session.rollback()
        applied = _apply_and_find(session, ctx, checked, actor, batch.id, store, per_line_savepoint=True)
        _add_import_lines(session, batch, results, applied)
        session.commit()
    for line in checked:
        if not line.procedure_known and ctx.procedures is not None:
            ctx.procedures.setdefault(line.data["procedure_code"], False)  # committed now
    for _source_id, outcome, _errors in results.values():
        counts[outcome] += 1
    if max(len(ctx.hashed), len(ctx.inspected), len(ctx.located)) > FILE_CACHE_LIMIT:
        ctx.located.clear()
        ctx.hashed.clear()
        ctx.inspected.clear()


def _apply_all(
    session: Session,
    lines: list[CheckedLine],
    actor: str,
    batch_id: int,
    store: FileStore,
    *,
    per_line_savepoint: bool,
) -> dict[int, tuple[str | None, str, list]]:
    results: dict[int, tuple[str | None, str, list]] = {}
    if not per_line_savepoint:
        # Fast path: new rows with multi-row INSERTs (see apply.apply_lines); any problem sends
        # the whole chunk back to the line-by-line path below.
        try:
            outcomes = apply_lines(session, lines, actor, batch_id=batch_id, store=store)
        except HashMismatch as problem:
            raise _Retry() from problem
        return {line.line_no: (line.source_id, outcomes[line.line_no], []) for line in lines}
    state = load_chunk_state(session, lines)
    for index, line in enumerate(lines):
        try:
            if per_line_savepoint:
                with session.begin_nested():
                    outcome = apply_line(session, state, line, actor, batch_id=batch_id, store=store)
                    session.flush()
            else:
                outcome = apply_line(session, state, line, actor, batch_id=batch_id, store=store)
        except HashMismatch as problem:
            results[line.line_no] = (
                line.source_id,
                REFUSED,
                [
                    error(
                        "files",
                        "changed_on_disk",
                        "Tệp bị thay đổi trong lúc nhập, hãy gửi lại",
                        f"a file changed while the batch was being imported, send it again ({problem})",
                    )
                ],
            )
            if not per_line_savepoint:
                raise _Retry() from problem
            state = load_chunk_state(session, lines[index + 1 :])
            continue
        except SQLAlchemyError as problem:
            if not per_line_savepoint:
                raise
            detail = str(getattr(problem, "orig", problem)).splitlines()[0][:200]
            results[line.line_no] = (
                line.source_id,
                REFUSED,
                [
                    error(
                        "",
                        "database",
                        f"Cơ sở dữ liệu từ chối dòng này: {detail}",
                        f"the database refused this line: {detail}",
                    )
                ],
            )
            # Objects of the failed savepoint are gone from the session: reload what the rest needs.
            state = load_chunk_state(session, lines[index + 1 :])
            continue
        results[line.line_no] = (line.source_id, outcome, [])
    if not per_line_savepoint:
        session.flush()
    return results


def _apply_and_find(session: Session, ctx: BatchContext, lines: list[CheckedLine], actor: str, batch_id: int,
                    store: FileStore, *, per_line_savepoint: bool) -> dict[int, tuple[str | None, str, list]]:
    """`_apply_all`, with what the report warns about: procedures created uncatalogued (before the
    records that name them), possible duplicates, once per uncatalogued code in the run."""
    created = findings.create_procedures(session, lines)
    stored = findings.stored_before(session, lines)
    applied = _apply_all(session, lines, actor, batch_id, store, per_line_savepoint=per_line_savepoint)
    outcomes = {line_no: outcome for line_no, (_source_id, outcome, _errors) in applied.items()}
    duplicates = findings.flag_duplicates(session, lines, outcomes, batch_id, stored)
    to_warn: dict[str, int] = {}
    for line in lines:
        code = line.data["procedure_code"]
        uncatalogued = not line.procedure_known or (ctx.procedures or {}).get(code) is False
        if (uncatalogued and outcomes[line.line_no] != REFUSED and code not in ctx.warned_procedures
                and code not in to_warn):
            to_warn[code] = line.line_no
    names = findings.procedure_names(session, to_warn)
    procedures = {line_no: [findings.procedure_warning(code, names.get(code, ""), code in created)]
                  for code, line_no in to_warn.items()}
    ctx.warned_procedures.update(to_warn)  # last step: nothing above raises after it
    for line_no, (source_id, outcome, errors) in list(applied.items()):
        extra = procedures.get(line_no, []) + duplicates.get(line_no, [])
        if extra:
            applied[line_no] = (source_id, outcome, errors + extra)
    return applied


class _Statistics:
    """Keeps PostgreSQL's planner statistics up with a big import (performance only).

    The chunk queries look records and subjects up by key with IN lists; on tables the planner
    still believes nearly empty (analyzed when they were, or never: autovacuum lags behind a bulk
    load, or is off) it picks sequential scans, and every chunk reads the whole table: an import
    slows down as it goes. ANALYZE each time the import has doubled what it wrote (about 20
    times for a million lines, a fraction of a second each). Another owner's table is skipped
    with a warning by PostgreSQL itself.
    """

    TABLES = ("record", "subject", "record_file", "document")

    def __init__(self, session: Session) -> None:
        self.enabled = session.get_bind().dialect.name == "postgresql"
        self.next_at = 1_000

    def after_chunk(self, session: Session, counts: Counter) -> None:
        written = counts["created"] + counts["updated"]
        if not self.enabled or written < self.next_at:
            return
        self.next_at = written * 2
        session.execute(text("ANALYZE " + ", ".join(self.TABLES)))
        session.commit()


class _Retry(SQLAlchemyError):
    """Raised in the fast path so the chunk is redone line by line."""


def _add_import_lines(session: Session, batch: ImportBatch, results: dict, applied: dict) -> None:
    results.update(applied)
    # A plain multi-row INSERT: these rows need no ORM bookkeeping, and there is one per manifest line.
    bulk_insert(
        session,
        ImportLine.__table__,
        [
            {
                "batch_id": batch.id,
                "line_no": line_no,
                "source_id": source_id,
                "outcome": outcome,
                "errors": errors,
                "warnings": sum(1 for entry in errors if entry.get("severity") == findings.WARNING),
            }
            for line_no, (source_id, outcome, errors) in sorted(results.items())
        ],
    )


# --- Resume, summary -------------------------------------------------------------------------


def _resume_point(session: Session, batch: ImportBatch, ctx: BatchContext) -> tuple[int, Counter]:
    """Last committed line of the batch and counts so far; refills the duplicate check.

    Chunks commit in line order, so the committed lines are always a prefix of the manifest.
    """
    counts: Counter = Counter()
    for outcome, number in session.execute(
        select(ImportLine.outcome, func.count())
        .where(ImportLine.batch_id == batch.id)
        .group_by(ImportLine.outcome)
    ):
        counts[outcome] = number
    done_upto = (
        session.scalar(select(func.max(ImportLine.line_no)).where(ImportLine.batch_id == batch.id)) or 0
    )
    if done_upto:
        rows = session.execute(
            select(ImportLine.source_id, ImportLine.line_no)
            .where(ImportLine.batch_id == batch.id, ImportLine.source_id.is_not(None))
            .order_by(ImportLine.line_no)
            .execution_options(yield_per=10_000)
        )
        for source_id, line_no in rows:
            ctx.seen.setdefault(source_id, line_no)
        for (entries,) in session.execute(
            select(ImportLine.errors).where(ImportLine.batch_id == batch.id, ImportLine.warnings > 0)
        ):
            ctx.warned_procedures.update(
                entry["ref"] for entry in _entries(entries) if entry.get("code") in findings.PROCEDURE_CODES
            )
    return done_upto, counts


def _entries(value) -> list[dict]:
    """A JSON column as stored: a list, or its text on a driver that does not decode it."""
    return json.loads(value) if isinstance(value, str) else (value or [])


def _summary(session: Session, batch: ImportBatch) -> dict[str, int]:
    summary = dict.fromkeys(OUTCOMES, 0)
    for outcome, number in session.execute(
        select(ImportLine.outcome, func.count())
        .where(ImportLine.batch_id == batch.id)
        .group_by(ImportLine.outcome)
    ):
        summary[outcome] = number
    return {"read": sum(summary.values()), **summary}


# --- Paths -----------------------------------------------------------------------------------


def _batch_name(path: Path) -> str:
    name = path.name[:-4] if path.suffix.lower() == ".zip" else path.name
    return name[:200] or str(path)[:200]


def _hash_and_count(manifest: Path) -> tuple[str, int]:
    digest, lines, last = hashlib.sha256(), 0, b""
    with open(manifest, "rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
            lines += block.count(b"\n")
            last = block
    if last and not last.endswith(b"\n"):
        lines += 1
    return digest.hexdigest(), lines


@contextmanager
def _batch_root(path: Path, data_dir: Path) -> Iterator[Path]:
    """The folder holding manifest.jsonl; a zip is extracted under DATA_DIR and removed afterwards."""
    if not path.exists():
        raise BatchError(f"Không tìm thấy {path}", f"{path} does not exist")
    if path.is_dir():
        if not (path / MANIFEST).is_file():
            raise BatchError(
                f"{path} không phải một lô nhập: thiếu {MANIFEST}",
                f"{path} is not an import batch: no {MANIFEST} in it",
            )
        yield path
        return
    if not zipfile.is_zipfile(path):
        raise BatchError(
            f"{path} không phải thư mục lô hay tệp .zip", f"{path} is neither a batch folder nor a .zip"
        )
    work = data_dir / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix="import-", dir=work))
    try:
        _extract_safely(path, target)
        if (target / MANIFEST).is_file():
            yield target
            return
        tops = [child for child in target.iterdir() if child.is_dir()]
        if len(tops) == 1 and (tops[0] / MANIFEST).is_file():
            yield tops[0]
            return
        raise BatchError(f"Tệp {path.name} không chứa {MANIFEST}", f"{path.name} has no {MANIFEST} in it")
    finally:
        shutil.rmtree(target, ignore_errors=True)


def _extract_safely(archive: Path, target: Path) -> None:
    """Extract refusing zip-slip (absolute names, .., symlinks): a batch writes only inside target."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            try:
                zip_budgets.check(members, current_app.config, target)
            except zip_budgets.ZipOverBudget as problem:
                raise BatchError(problem.vi, problem.en) from None
            for member in members:
                name = PurePosixPath(member.filename.replace("\\", "/"))
                is_link = stat.S_ISLNK(member.external_attr >> 16)
                if name.is_absolute() or ".." in name.parts or ":" in member.filename or is_link:
                    raise BatchError(
                        f"Tệp zip chứa đường dẫn không an toàn: {member.filename!r}",
                        f"unsafe path in the zip: {member.filename!r}",
                    )
                destination = (target / name).resolve()
                if not destination.is_relative_to(target.resolve()):
                    raise BatchError(
                        f"Tệp zip chứa đường dẫn không an toàn: {member.filename!r}",
                        f"unsafe path in the zip: {member.filename!r}",
                    )
            for member in members:
                zipped.extract(member, target)
    except (zipfile.BadZipFile, OSError) as problem:
        raise BatchError(f"Không đọc được tệp zip: {problem}", f"cannot read the zip: {problem}") from problem


# --- Report ----------------------------------------------------------------------------------


def iter_report(session: Session, batch: ImportBatch) -> Iterator[str]:
    """The report kept with the batch, line by line (a big batch may have many refused lines)."""
    summary = batch.summary or _summary(session, batch)
    yield f"Lô nhập / Import batch #{batch.id}: {batch.name}"
    yield f"  manifest sha256: {batch.manifest_sha256}"
    yield f"  trạng thái / status: {batch.status}  ·  bởi / by: {batch.actor}"
    finished = batch.finished_at.isoformat(timespec="seconds") if batch.finished_at else "—"
    started = batch.started_at.isoformat(timespec="seconds")
    yield f"  bắt đầu / started: {started}  ·  xong / finished: {finished}"
    yield (
        f"  Đọc / read: {summary.get('read', 0)}  ·  Tạo mới / created: {summary.get('created', 0)}"
        f"  ·  Cập nhật / updated: {summary.get('updated', 0)}"
        f"  ·  Không đổi / unchanged: {summary.get('unchanged', 0)}"
        f"  ·  Từ chối / refused: {summary.get('refused', 0)}"
    )
    warned = session.scalar(
        select(func.count()).where(ImportLine.batch_id == batch.id, ImportLine.warnings > 0)
    )
    if warned:
        yield f"  Cảnh báo / warnings: {warned} dòng / lines (thủ tục mới, có thể trùng / new procedures, possible duplicates)"
    if summary.get("refused"):
        yield ""
        yield "Dòng bị từ chối / Refused lines:"
        yield from _report_lines(session, batch, ImportLine.outcome == REFUSED)
    if warned:
        yield ""
        yield "Cảnh báo (đã nhập) / Warnings (imported):"
        yield from _report_lines(session, batch, ImportLine.warnings > 0)


def _report_lines(session: Session, batch: ImportBatch, which) -> Iterator[str]:
    rows = session.execute(
        select(ImportLine.line_no, ImportLine.source_id, ImportLine.errors)
        .where(ImportLine.batch_id == batch.id, which)
        .order_by(ImportLine.line_no)
        .execution_options(yield_per=1000)
    )
    for line_no, source_id, errors in rows:
        yield f"  dòng / line {line_no} · {source_id or '(không có source_id / no source_id)'}"
        for problem in _entries(errors):
            field = problem.get("field") or "(dòng / line)"
            mark = "!" if problem.get("severity") == findings.WARNING else "-"
            yield f"    {mark} {field}: {problem['vi']} / {problem['en']}"


def render_report(session: Session, batch: ImportBatch) -> str:
    return "\n".join(iter_report(session, batch)) + "\n"


__all__ = ["BatchError", "Progress", "run_import", "render_report", "iter_report", "UNCHANGED"]
