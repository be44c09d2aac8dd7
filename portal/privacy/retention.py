"""Retention: what the portal keeps about people only for a while, removed once it is older than
its configured period (RETENTION_* settings, docs/privacy.md), in bounded batches, by the daily job.

- Mails: the copies written to DATA_DIR/mail/*.eml (MAIL_SUPPRESS), and mails still unsent in the
  outbox after RETENTION_MAIL_DAYS (a sent mail leaves the outbox at once: portal.mail_outbox).
- Uploads: the attachment of a problem report closed more than RETENTION_UPLOAD_DAYS ago: the
  case keeps the file's name, forgets its hash, and the file leaves the store unless something
  else stored the same content (a scan, a signed copy, another report, a consent form).
  Unfinished batch uploads are removed by the imports worker after UPLOAD_BATCH_KEEP_HOURS.
- Login sessions: the identity worker deletes them hourly after LOGIN_SESSION_RETENTION_DAYS.
- The access log is the audit chain (portal.audit.chain): entries older than
  RETENTION_ACCESS_LOG_DAYS leave it from the oldest on, after a keyed ``audit.pruned`` entry that
  records where the chain now starts, so `flask audit verify` still holds it end to end.

Each run writes one audit entry with its counts.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import audit, outbox
from portal.copy_requests.models import IssuedCopy
from portal.counter.models import CounterSession
from portal.db import delete_in_batches
from portal.feedback.models import ProblemReport, ReportState
from portal.files.store import FileStore
from portal.records.models import Document

log = logging.getLogger(__name__)

#: Rows (or files) handled per transaction…
BATCH = 500
#: …and transactions per kind in one run: a run stays short; the next one takes the rest.
MAX_BATCHES = 40
SETTINGS = ("RETENTION_ACCESS_LOG_DAYS", "RETENTION_MAIL_DAYS", "RETENTION_UPLOAD_DAYS")
MAIL_TOPIC_PREFIX = "email."


def check_settings(config) -> None:
    """Raises RuntimeError unless every RETENTION_* setting is a whole number of days, at least 1."""
    for name in SETTINGS:
        value = config.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RuntimeError(f"{name}={value!r}: expected a whole number of days, at least 1")


@dataclass
class RetentionReport:
    mail_files: int = 0
    unsent_mails: int = 0
    attachments: int = 0
    attachment_files: int = 0
    access_log_removed: int = 0


def _mail_files(config, cutoff: datetime) -> int:
    folder = Path(config["DATA_DIR"]) / "mail"
    if not folder.is_dir():
        return 0
    removed, limit = 0, BATCH * MAX_BATCHES
    with os.scandir(folder) as entries:
        for entry in entries:
            if removed >= limit:
                break
            if entry.name.endswith(".eml") and entry.is_file() and entry.stat().st_mtime < cutoff.timestamp():
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
    return removed


def _unsent_mails(session: Session, cutoff: datetime) -> int:
    table = outbox.OutboxItem
    return delete_in_batches(session, table, table.topic.startswith(MAIL_TOPIC_PREFIX),
                             table.created_at < cutoff, batch=BATCH, max_batches=MAX_BATCHES)


def _still_used(session: Session, sha256: str) -> bool:
    return any(session.scalar(query) for query in (
        select(func.count()).select_from(Document).where(Document.sha256 == sha256),
        select(func.count()).select_from(IssuedCopy).where(IssuedCopy.sha256 == sha256),
        select(func.count()).select_from(ProblemReport).where(ProblemReport.attachment_sha256 == sha256),
        select(func.count()).select_from(CounterSession).where(CounterSession.consent_sha256 == sha256)))


def _attachments(session: Session, store: FileStore, cutoff: datetime, report: RetentionReport) -> None:
    closed = (ProblemReport.state != ReportState.OPEN.value, ProblemReport.resolved_at < cutoff,
              ProblemReport.attachment_sha256.is_not(None))
    for _ in range(MAX_BATCHES):
        cases = session.scalars(select(ProblemReport).where(*closed)
                                .order_by(ProblemReport.id).limit(BATCH)).all()
        if not cases:
            break
        hashes = set()
        for case in cases:
            hashes.add(case.attachment_sha256)
            case.attachment_sha256 = None  # the name and type stay: "an attachment was sent"
        session.flush()
        gone = [sha256 for sha256 in hashes if not _still_used(session, sha256)]
        session.commit()  # the rows first: a crash now leaves a file no row names, never the reverse
        for sha256 in gone:
            store.path_for(sha256).unlink(missing_ok=True)
        report.attachments += len(cases)
        report.attachment_files += len(gone)


def run(session: Session, config, now: datetime) -> RetentionReport:
    """One pass over everything kept for a while; commits as it goes, then audits its counts."""
    report = RetentionReport()
    mail_cutoff = now - timedelta(days=int(config["RETENTION_MAIL_DAYS"]))
    report.mail_files = _mail_files(config, mail_cutoff)
    report.unsent_mails = _unsent_mails(session, mail_cutoff)
    upload_cutoff = now - timedelta(days=int(config["RETENTION_UPLOAD_DAYS"]))
    _attachments(session, FileStore.from_config(config), upload_cutoff, report)
    access_cutoff = now - timedelta(days=int(config["RETENTION_ACCESS_LOG_DAYS"]))
    report.access_log_removed = audit.prune_before(session, access_cutoff, batch=BATCH * 10)
    counts = asdict(report)
    audit.record(session, "system", "privacy.retention", f"retention:{now.date().isoformat()}",
                 channel="worker", details=counts)
    session.commit()
    log.info("retention: %s", ", ".join(f"{key} {value}" for key, value in counts.items()))
    return report
