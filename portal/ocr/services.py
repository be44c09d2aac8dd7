"""The OCR queue, kept in the database: which stored files still need reading, and reading them.

A stored file (`Document`) with no `DocumentText` row, or a row still "pending", is waiting: an
import needs to do nothing more than store the file, in its own transaction, and a file stored by
any other path (a correction's new scan) is read too. A worker claims one file at a time (status
"running", claimed_at), reads it outside any transaction, and writes the text with the outbox rows
that refresh the search documents of every result showing that file, in one commit. A worker killed
mid-file leaves a claim that goes stale after OCR_STALL_SECONDS: the file is pending again.

Reading runs on its own queue (`portal.jobs.ocr_huey`), never in an import's worker or an e-mail's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, exists, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import outbox
from portal.db import UTCDateTime, utcnow
from portal.files.store import FileStore
from portal.ocr.reading import Budgets, EngineMissing, Reading, Unreadable, read_file
from portal.records import index_queue
from portal.records.models import Document, DocumentText, Record, RecordFile, TextStatus

log = logging.getLogger(__name__)

#: Reader of one file: (path, media type, budgets, the scan's dpi) → Reading.
Reader = Callable[[Path, str, Budgets, int | None], Reading]


@dataclass(frozen=True)
class Settings:
    budgets: Budgets
    #: A claim older than this is a worker that died: the file is taken up again.
    stall_seconds: float

    @classmethod
    def from_config(cls, config) -> Settings:
        return cls(Budgets.from_config(config), float(config["OCR_STALL_SECONDS"]))


@dataclass
class RunReport:
    done: int = 0
    failed: int = 0
    pages: int = 0
    seconds: float = 0.0
    #: Set when the run stopped because the machine can't read (Tesseract missing): work stays pending.
    stopped: str | None = None


def _waiting(stale_before: datetime):
    """Rows a worker may claim: pending, or claimed by a worker that stopped beating."""
    return or_(DocumentText.status == TextStatus.PENDING,
               and_(DocumentText.status == TextStatus.RUNNING, DocumentText.claimed_at < stale_before))


def counts(session: Session, stall_seconds: float = 900) -> dict[str, int]:
    """pending (stale claims and stored files never looked at included), running, done, failed."""
    out = {status.value: 0 for status in TextStatus}
    for status, count in session.execute(
            select(DocumentText.status, func.count()).group_by(DocumentText.status)):
        out[status] = count
    stale = session.scalar(select(func.count()).select_from(DocumentText).where(
        DocumentText.status == TextStatus.RUNNING,
        DocumentText.claimed_at < utcnow() - timedelta(seconds=stall_seconds))) or 0
    out["running"] -= stale
    out["pending"] += stale + (session.scalar(select(func.count()).select_from(Document).where(
        ~exists().where(DocumentText.document_sha256 == Document.sha256))) or 0)
    return out


def enqueue_new(session: Session) -> None:
    """A pending row for every stored file that has none yet (one INSERT … SELECT; flushed)."""
    now = utcnow()
    missing = select(Document.sha256, literal(TextStatus.PENDING.value), literal(now, UTCDateTime()),
                     literal(now, UTCDateTime())).where(
        ~exists().where(DocumentText.document_sha256 == Document.sha256))
    try:
        with session.begin_nested():
            session.execute(insert(DocumentText).from_select(
                ["document_sha256", "status", "created_at", "updated_at"], missing))
    except IntegrityError:  # another worker inserted them at the same moment: they are there
        pass


def retry_failed(session: Session) -> int:
    """Put every failed file back in the queue (after installing a missing model, say)."""
    result = session.execute(update(DocumentText).where(DocumentText.status == TextStatus.FAILED)
                             .values(status=TextStatus.PENDING, note=None, updated_at=utcnow()))
    return result.rowcount or 0


def claim_next(session: Session, settings: Settings, skip: set[str]) -> Document | None:
    """Claim the oldest waiting file (committed: another worker sees the claim), or None."""
    stale_before = utcnow() - timedelta(seconds=settings.stall_seconds)
    while True:
        query = (select(DocumentText.document_sha256).where(_waiting(stale_before))
                 .order_by(DocumentText.created_at, DocumentText.document_sha256).limit(20))
        if skip:
            query = query.where(DocumentText.document_sha256.not_in(skip))
        candidates = list(session.scalars(query))
        if not candidates:
            return None
        for sha in candidates:
            # Claimed only if still waiting when the UPDATE runs: two workers never read one file.
            claimed = session.execute(
                update(DocumentText)
                .where(DocumentText.document_sha256 == sha, _waiting(stale_before))
                .values(status=TextStatus.RUNNING, claimed_at=utcnow(), updated_at=utcnow())
                .execution_options(synchronize_session=False)).rowcount
            session.commit()
            if claimed:
                return session.get(Document, sha)
            skip.add(sha)


def _finish(session: Session, sha: str, **values) -> None:
    """Write the outcome and ask for every result showing the file to be indexed again, in one commit."""
    session.execute(update(DocumentText).where(DocumentText.document_sha256 == sha)
                    .values(claimed_at=None, updated_at=utcnow(), **values)
                    .execution_options(synchronize_session=False))
    index_queue.enqueue_upserts(session, session.scalars(
        select(Record.source_id).join(RecordFile, RecordFile.record_id == Record.id)
        .where(RecordFile.document_sha256 == sha).distinct()))
    outbox.commit(session)  # nudges the index worker


def run_pending(session: Session, store: FileStore, settings: Settings, *, limit: int | None = None,
                seconds: float | None = None, reader: Reader = read_file) -> RunReport:
    """Read waiting files, oldest first, one commit each, until none is left, ``limit`` files were
    read, or ``seconds`` passed (checked between files). Commits the session."""
    report = RunReport()
    started = time.monotonic()
    enqueue_new(session)
    session.commit()
    skip: set[str] = set()
    while limit is None or report.done + report.failed < limit:
        if seconds is not None and time.monotonic() - started >= seconds:
            break
        document = claim_next(session, settings, skip)
        if document is None:
            break
        sha, media_type, dpi = document.sha256, document.media_type, document.dpi
        skip.add(sha)
        try:
            reading = reader(store.path_for(sha), media_type, settings.budgets, dpi)
        except EngineMissing as error:
            # Not the file's fault: release the claim and stop; `flask ocr run` says what to install.
            session.execute(update(DocumentText).where(DocumentText.document_sha256 == sha)
                            .values(status=TextStatus.PENDING, claimed_at=None))
            session.commit()
            report.stopped = str(error)
            break
        except (Unreadable, FileNotFoundError) as error:
            reason = f"missing from the file store: {sha}" if isinstance(error, FileNotFoundError) else str(error)
            log.warning("OCR of %s failed: %s", sha, reason)
            _finish(session, sha, status=TextStatus.FAILED, note=reason[:300])
            report.failed += 1
            continue
        _finish(session, sha, status=TextStatus.DONE, text=reading.text, method=reading.method,
                engine=reading.engine[:60], pages=reading.pages, seconds=round(reading.seconds, 3),
                note="; ".join(reading.notes)[:300] or None)
        report.done += 1
        report.pages += reading.pages
    report.seconds = time.monotonic() - started
    return report
