"""Append-only audit log: every access to personal data, in the same transaction as the access.

Each entry carries the hash of the previous one, so an edited, inserted or deleted entry breaks
the chain; `flask audit verify` walks it and names the first broken link. Writers take a lock
for the append (PostgreSQL: a transaction advisory lock) so concurrent requests never fork the
chain. Entries about a person's data carry their subject id: that is their "who looked at my
data" page.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import click
from flask.cli import AppGroup
from sqlalchemy import JSON, ForeignKey, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.db import Base, UTCDateTime, utcnow

GENESIS = "0" * 64
#: Any constant: the advisory lock that serializes appends to the chain on PostgreSQL.
_CHAIN_LOCK = 45_202_020


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: "citizen:<id>", "staff:<id>", "anonymous", "import:<batch>", "system".
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    #: "record:<source_id>", "batch:<id>"…
    object_ref: Mapped[str] = mapped_column(String(160), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="web")
    purpose: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The person or organization whose data was accessed: their "who looked at my data" page.
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _digest(entry: AuditEntry) -> str:
    body = json.dumps(
        [entry.at.astimezone(UTC).isoformat(), entry.actor, entry.action, entry.object_ref, entry.channel,
         entry.purpose, entry.details, entry.subject_id, entry.prev_hash],
        ensure_ascii=False, sort_keys=True, default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    else:
        # SQLite: a write statement (matching nothing) opens the write transaction before we read
        # the last entry; a second appender waits for it (busy timeout) instead of forking.
        session.execute(text("UPDATE audit_log SET id = id WHERE 0 = 1"))


def record(session: Session, actor: str, action: str, object_ref: str, *, channel: str = "web",
           purpose: str = "", details: dict | None = None, subject_id: int | None = None) -> AuditEntry:
    """Append an entry chained to the last one. The caller commits it with the access itself."""
    _lock_chain(session)
    last = session.scalars(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    entry = AuditEntry(actor=actor, action=action, object_ref=object_ref, channel=channel,
                       purpose=purpose, details=details or {}, at=utcnow(), subject_id=subject_id,
                       prev_hash=last or GENESIS)
    entry.hash = _digest(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    checked: int
    #: The first entry whose hash or link does not hold; None when the whole chain holds.
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(session: Session, batch: int = 5_000) -> ChainReport:
    """Walk the chain from the first entry; stop at the first entry that does not hold."""
    previous, checked = GENESIS, 0
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=batch))
    try:  # a server-side cursor on PostgreSQL: close it when stopping early
        for entry in entries:
            if entry.prev_hash != previous:
                return ChainReport(checked, entry.id, "prev_hash does not match the entry before it "
                                                      "(an entry was removed or inserted)")
            if _digest(entry) != entry.hash:
                return ChainReport(checked, entry.id, "content does not match its hash (the entry was edited)")
            previous, checked = entry.hash, checked + 1
    finally:
        entries.close()
    return ChainReport(checked)


audit_cli = AppGroup("audit", help="Nhật ký truy cập / Audit log.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Kiểm tra chuỗi băm của nhật ký / Check the hash chain of the audit log."""
    from portal.extensions import db

    report = verify(db.session)
    if report.ok:
        click.echo(f"Chuỗi nhật ký nguyên vẹn: {report.checked:,} mục / "
                   f"the audit chain holds: {report.checked:,} entries")
        return
    click.echo(f"Chuỗi nhật ký bị phá vỡ tại mục #{report.broken_at} (sau {report.checked:,} mục hợp lệ) / "
               f"the audit chain is broken at entry #{report.broken_at}: {report.reason}", err=True)
    raise SystemExit(1)
