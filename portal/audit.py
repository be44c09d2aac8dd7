"""Append-only audit log: every access to personal data, in the same transaction as the access.

Each entry carries the hash of the previous one, so a deleted or edited entry breaks the chain.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.db import Base, UTCDateTime, utcnow


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
        [entry.at.isoformat(), entry.actor, entry.action, entry.object_ref, entry.channel,
         entry.purpose, entry.details, entry.subject_id, entry.prev_hash],
        ensure_ascii=False, sort_keys=True, default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(session: Session, actor: str, action: str, object_ref: str, *, channel: str = "web",
           purpose: str = "", details: dict | None = None, subject_id: int | None = None) -> AuditEntry:
    """Append an entry chained to the last one. The caller commits it with the access itself."""
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    entry = AuditEntry(actor=actor, action=action, object_ref=object_ref, channel=channel,
                       purpose=purpose, details=details or {}, at=utcnow(), subject_id=subject_id,
                       prev_hash=last.hash if last else "0" * 64)
    entry.hash = _digest(entry)
    session.add(entry)
    session.flush()
    return entry
