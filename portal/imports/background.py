"""Import jobs: a staff upload imported in the import queue's worker, with progress and its report.

The job runs `service.run_import`, the very import `flask records import` runs (same validation,
same budgets, same resumability). What this module adds:

- who sees what: an operator the jobs of the units they serve, an admin every job;
- a claim (compare-and-set on status and heartbeat), so that one worker runs a job at a time;
- progress written to the job's row after every chunk, and a heartbeat beside it, from a thread,
  so that a long chunk never looks like a dead worker;
- resuming: a job whose heartbeat is older than IMPORT_STALL_SECONDS lost its worker (killed,
  restarted, machine down); `stalled_jobs` finds it, the task runs it again, and run_import
  resumes the batch after its last committed line.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import zipfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import String, cast, func, or_, select, update
from sqlalchemy.orm import Session

from portal import audit
from portal.db import utcnow
from portal.errors import NotFound
from portal.identity.models import StaffRole, StaffUser
from portal.imports.job_models import BatchUpload, ImportJob, JobStatus
from portal.imports.models import ImportBatch, ImportLine
from portal.imports.service import MANIFEST, BatchError, Progress, run_import

log = logging.getLogger(__name__)

#: A job taken up this many times without finishing is given up (a batch that kills its worker).
MAX_ATTEMPTS = 5
REFUSED = "refused"
KINDS = ("refused", "warnings", "all")


# --- Starting ----------------------------------------------------------------------------------


def start(session: Session, upload: BatchUpload, path: Path) -> ImportJob:
    """The job importing a finished upload (queued; the caller commits, then enqueues it)."""
    job = ImportJob(unit_id=upload.unit_id, staff_id=upload.staff_id, upload_id=upload.id,
                    filename=upload.filename, path=str(path), status=JobStatus.QUEUED)
    session.add(job)
    session.flush()
    audit.record(session, upload.staff.audit_name, "imports.job_queued", f"import_job:{job.id}",
                 channel="web", details={"filename": upload.filename, "bytes": upload.length})
    return job


# --- Who sees what -----------------------------------------------------------------------------


def can_upload(staff: StaffUser | None) -> bool:
    return bool(staff and staff.active and staff.role in (StaffRole.OPERATOR, StaffRole.ADMIN))


def _visible(query, staff: StaffUser):
    if staff.role == StaffRole.ADMIN:
        return query
    return query.where(ImportJob.unit_id.in_([unit.id for unit in staff.units] or [-1]))


def list_jobs(session: Session, staff: StaffUser, *, unit_id: int | None = None, page: int = 1,
              per_page: int = 25) -> tuple[list[ImportJob], int]:
    """The jobs of the units ``staff`` serves (every unit for an admin), newest first; and how many."""
    query = _visible(select(ImportJob), staff)
    if unit_id is not None:
        query = query.where(ImportJob.unit_id == unit_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    jobs = session.scalars(query.order_by(ImportJob.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return list(jobs), total


def get_job(session: Session, staff: StaffUser, job_id: int) -> ImportJob:
    """A job ``staff`` may see; another unit's is NotFound (its existence is not confirmed)."""
    job = session.scalars(_visible(select(ImportJob).where(ImportJob.id == job_id), staff)).first()
    if job is None:
        raise NotFound("import_job")
    return job


def job_for_upload(session: Session, upload: BatchUpload) -> ImportJob | None:
    return session.scalars(select(ImportJob).where(ImportJob.upload_id == upload.id)).first()


# --- Progress ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    status: str
    lines_done: int
    lines_total: int
    files_total: int
    refused: int
    percent: int
    seconds_left: int | None
    finished: bool

    def as_json(self) -> dict:
        return self.__dict__ | {}


def snapshot(job: ImportJob, now: datetime | None = None) -> Snapshot:
    """Where the job stands; time left from this attempt's rate (None until it is known)."""
    now = now or utcnow()
    done, total = job.lines_done, job.lines_total
    seconds_left = None
    if job.status == JobStatus.RUNNING and job.attempt_started_at and total:
        elapsed = (now - job.attempt_started_at).total_seconds()
        progressed = done - job.attempt_lines
        if progressed > 0 and elapsed > 0:
            seconds_left = max(0, round((total - done) * elapsed / progressed))
    finished = job.status in (JobStatus.COMPLETED, JobStatus.FAILED)
    percent = 100 if job.status == JobStatus.COMPLETED else (min(99, done * 100 // total) if total else 0)
    return Snapshot(job.status, done, total, job.files_total, job.refused, percent, seconds_left, finished)


# --- Running -----------------------------------------------------------------------------------


def claim(session: Session, job_id: int, stall_seconds: float) -> bool:
    """Take the job for this worker: queued, or running with a heartbeat older than the stall time
    (its worker died). Compare-and-set, committed: of two workers, one wins."""
    now = utcnow()
    stale = now - timedelta(seconds=stall_seconds)
    won = session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id,
               or_(ImportJob.status == JobStatus.QUEUED,
                   (ImportJob.status == JobStatus.RUNNING)
                   & or_(ImportJob.heartbeat_at.is_(None), ImportJob.heartbeat_at < stale)))
        .values(status=JobStatus.RUNNING, heartbeat_at=now, attempts=ImportJob.attempts + 1,
                attempt_started_at=now, attempt_lines=ImportJob.lines_done,
                started_at=func.coalesce(ImportJob.started_at, now))
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(won)


def stalled_jobs(session: Session, stall_seconds: float) -> list[int]:
    """Running jobs whose worker stopped beating; those tried MAX_ATTEMPTS times are given up."""
    stale = utcnow() - timedelta(seconds=stall_seconds)
    jobs = session.scalars(select(ImportJob).where(
        ImportJob.status == JobStatus.RUNNING,
        or_(ImportJob.heartbeat_at.is_(None), ImportJob.heartbeat_at < stale))).all()
    again = []
    for job in jobs:
        if job.attempts >= MAX_ATTEMPTS:
            _fail(job, f"Việc nhập đã dừng giữa chừng {job.attempts} lần; hãy báo quản trị viên",
                  f"the import stopped part-way {job.attempts} times; tell an administrator")
        else:
            again.append(job.id)
    session.commit()
    return again


def unqueued_jobs(session: Session, stall_seconds: float) -> list[int]:
    """Jobs waiting longer than the stall time while no job runs: their message never reached the
    queue (Redis was down when the upload finished) or was lost with it. The row is the durable
    record; these are queued again. While a job runs, waiting ones are taken to be behind it."""
    stale = utcnow() - timedelta(seconds=stall_seconds)
    running = session.scalar(select(func.count()).select_from(ImportJob).where(
        ImportJob.status == JobStatus.RUNNING, ImportJob.heartbeat_at >= stale))
    if running:
        return []
    return list(session.scalars(select(ImportJob.id).where(ImportJob.status == JobStatus.QUEUED,
                                                           ImportJob.created_at < stale)
                                .order_by(ImportJob.id)))


class Superseded(Exception):
    """Another worker took the job over (this one looked dead): this run stops at its next chunk."""


class _Heartbeat(threading.Thread):
    """Beats every ``interval`` seconds on its own connection while the import runs (this attempt's
    only: a worker that lost the job no longer keeps it alive)."""

    def __init__(self, engine, job_id: int, attempt: int, interval: float):
        super().__init__(daemon=True, name=f"import-job-{job_id}-heartbeat")
        self.engine, self.job_id, self.attempt, self.interval = engine, job_id, attempt, interval
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(ImportJob).where(ImportJob.id == self.job_id,
                                                         ImportJob.status == JobStatus.RUNNING,
                                                         ImportJob.attempts == self.attempt)
                                 .values(heartbeat_at=utcnow()))
            except Exception:  # noqa: BLE001 - a busy database: the next beat tries again
                log.warning("import job %s: heartbeat not written", self.job_id, exc_info=True)


def run(session: Session, job_id: int, config) -> str:
    """Run (or resume) a claimed job to its end; returns its final status ("superseded" when
    another worker took it over meanwhile). The job owns its transactions, as run_import does."""
    job = session.get(ImportJob, job_id)
    path, attempt = Path(job.path), job.attempts
    actor = job.staff.audit_name if job.staff else f"import_job:{job.id}"
    interval = max(0.5, float(config["IMPORT_STALL_SECONDS"]) / 3)
    heartbeat = _Heartbeat(session.get_bind(), job.id, attempt, interval)
    heartbeat.start()
    try:
        try:
            job.files_total = count_files(path)
            session.commit()
            batch = run_import(session, path, actor,
                               progress=lambda state: _progress(session, job_id, attempt, state),
                               chunk_size=int(config["IMPORT_CHUNK_LINES"]))
        except Superseded:
            session.rollback()
            log.warning("import job %s: another worker took it over; this run stops", job_id)
            return "superseded"
        except BatchError as problem:
            session.rollback()
            job = session.get(ImportJob, job_id)
            # The messages name the path they were given: the operator knows the file by its name.
            _fail(job, *(text.replace(str(path), job.filename) for text in (problem.vi, problem.en)))
        else:
            job = session.get(ImportJob, job_id)
            summary = batch.summary or {}
            job.batch_id = batch.id
            job.status = JobStatus.COMPLETED
            job.lines_done = job.lines_total = summary.get("read", job.lines_done)
            job.refused = summary.get(REFUSED, 0)
        job.finished_at = utcnow()
        audit.record(session, actor, "imports.job_finished", f"import_job:{job.id}", channel="worker",
                     details={"status": job.status, "batch": job.batch_id})
        session.commit()
    finally:
        heartbeat.done.set()
        heartbeat.join()
    path.unlink(missing_ok=True)  # the scans are in the file store now; a failed batch is not kept
    return job.status


def _fail(job: ImportJob, vi: str, en: str) -> None:
    job.status = JobStatus.FAILED
    job.error_vi, job.error_en = vi[:500], en[:500]
    job.finished_at = utcnow()


def _progress(session: Session, job_id: int, attempt: int, state: Progress) -> None:
    job = session.get(ImportJob, job_id)
    session.refresh(job)
    if job.attempts != attempt:
        raise Superseded()
    if job.batch_id is None:  # the run's batch exists once the first progress is reported
        actor = job.staff.audit_name if job.staff else f"import_job:{job.id}"
        job.batch_id = session.scalar(select(ImportBatch.id).where(ImportBatch.status == "running",
                                                                   ImportBatch.actor == actor)
                                      .order_by(ImportBatch.id.desc()).limit(1))
    job.lines_total = state.total_lines
    job.lines_done = min(state.done_lines, state.total_lines)
    job.refused = state.counts[REFUSED]
    job.heartbeat_at = utcnow()
    session.commit()


def count_files(path: Path) -> int:
    """Files in the batch besides its manifest (for the progress page; 0 when not a zip)."""
    try:
        with zipfile.ZipFile(path) as zipped:
            return sum(1 for member in zipped.infolist()
                       if not member.is_dir() and Path(member.filename).name != MANIFEST)
    except (zipfile.BadZipFile, OSError):
        return 0


# --- The report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    line_no: int
    source_id: str | None
    refused: bool
    field: str
    code: str
    vi: str
    en: str


def report_entries(session: Session, batch_id: int, *, kind: str = "refused",
                   field: str = "") -> Iterator[Entry]:
    """Every entry of the report in line order: refusals, and whatever other entries (warnings)
    the import kept on its lines. ``kind``: refused, warnings or all; ``field``: one field only.

    An entry is a warning when it says so (``severity: "warning"``: a new procedure, a possible
    duplicate), or, saying nothing, when its line went in; else it is a refusal."""
    query = (select(ImportLine.line_no, ImportLine.source_id, ImportLine.outcome, ImportLine.errors)
             .where(ImportLine.batch_id == batch_id).order_by(ImportLine.line_no))
    if kind == "refused":
        query = query.where(ImportLine.outcome == REFUSED)
    else:
        query = query.where(func.coalesce(cast(ImportLine.errors, String), "[]") != "[]")
    rows = session.execute(query.execution_options(yield_per=1000))
    try:
        for line_no, source_id, outcome, problems in rows:
            for problem in problems or ():
                severity = problem.get("severity")
                refused = severity != "warning" if severity else outcome == REFUSED
                if (kind == "refused" and not refused) or (kind == "warnings" and refused):
                    continue
                entry = Entry(line_no, source_id, refused, problem.get("field") or "",
                              problem.get("code") or "", problem.get("vi") or "", problem.get("en") or "")
                if not field or entry.field == field or entry.field.startswith(field + "."):
                    yield entry
    finally:
        rows.close()  # a page stops early: PostgreSQL's server-side cursor is closed now, not at GC


def report_page(session: Session, batch_id: int, *, kind: str, field: str, page: int,
                per_page: int = 50) -> tuple[list[Entry], bool]:
    """One page of entries, and whether there is a next one."""
    start = (page - 1) * per_page
    entries = []
    with closing(report_entries(session, batch_id, kind=kind, field=field)) as found:
        for index, entry in enumerate(found):
            if index >= start + per_page:
                return entries, True
            if index >= start:
                entries.append(entry)
    return entries, False


def report_fields(session: Session, batch_id: int) -> list[str]:
    """The top-level fields the report's entries name (the field filter's choices)."""
    return sorted({entry.field.split(".")[0].split("[")[0]
                   for entry in report_entries(session, batch_id, kind="all") if entry.field})


CSV_HEADER = ("dong_line", "source_id", "loai_kind", "truong_field", "ma_code", "ly_do", "reason")


def report_csv(session: Session, batch_id: int, *, kind: str, field: str) -> Iterator[str]:
    """The report as CSV, UTF-8 with a BOM so that Excel reads the Vietnamese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    yield "\ufeff" + buffer.getvalue()
    for entry in report_entries(session, batch_id, kind=kind, field=field):
        buffer.seek(0)
        buffer.truncate()
        kind_of = "refused" if entry.refused else "warning"
        writer.writerow((entry.line_no, _cell(entry.source_id or ""), kind_of, _cell(entry.field), entry.code,
                         _cell(entry.vi), _cell(entry.en)))
        yield buffer.getvalue()


def _cell(text: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: neutralized (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
