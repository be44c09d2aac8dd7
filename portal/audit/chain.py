"""Append-only audit log: every access to personal data, in the same transaction as the access.

Each entry carries the hash of the previous one, so an edited, inserted or deleted entry breaks
the chain; `flask audit verify` walks it and names the first broken link. The hash is an HMAC under
the audit key, which lives outside the database (keys.py): whoever can write the database but not
the portal's secrets cannot recompute it. Entries written before the key existed (``key_id``
NULL) keep their plain SHA-256: the "legacy segment", checked as such, and pinned from the first
keyed entry on, whose HMAC covers the last legacy hash. Removing the last entries leaves a valid
shorter chain: the signed checkpoints written outside the database after each commit catch that
(checkpoints.py).

Writers take a lock for the append (PostgreSQL: a transaction advisory lock) so concurrent
requests never fork the chain. Entries about a person's data carry their subject id: that is
their "who looked at my data" page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import JSON, ForeignKey, String, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from portal.audit.checkpoints import Checkpoint, Checkpoints, Problem, remember
from portal.audit.keys import KEY_ID_LENGTH, Keyring
from portal.db import Base, UTCDateTime, delete_in_batches, utcnow

GENESIS = "0" * 64
#: Where create_app keeps the app's Checkpoints (keyring, checkpoint file) in app.extensions.
EXTENSION = "portal.audit"
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
    #: Id of the audit key whose HMAC ``hash`` is (keys.key_id); NULL: a legacy plain SHA-256.
    key_id: Mapped[str | None] = mapped_column(String(KEY_ID_LENGTH))


def _body(entry: AuditEntry) -> bytes:
    fields = [entry.at.astimezone(UTC).isoformat(), entry.actor, entry.action, entry.object_ref,
              entry.channel, entry.purpose, entry.details, entry.subject_id, entry.prev_hash]
    if entry.key_id is not None:  # legacy bodies stay as they were hashed
        fields.append(entry.key_id)
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str).encode()


def _digest(entry: AuditEntry, keyring: Keyring) -> str | None:
    """The entry's hash: HMAC under its key, plain SHA-256 for a legacy entry; None if the key is unknown."""
    if entry.key_id is None:
        return hashlib.sha256(_body(entry)).hexdigest()
    return keyring.mac(entry.key_id, _body(entry))


def current() -> Checkpoints:
    """The app's keyring and checkpoint file (set up by create_app; needs an app context)."""
    return current_app.extensions[EXTENSION]


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    else:
        # SQLite: a write statement (matching nothing) opens the write transaction before we read
        # the last entry; a second appender waits for it (busy timeout) instead of forking.
        session.execute(text("UPDATE audit_log SET id = id WHERE 0 = 1"))


def record(session: Session, actor: str, action: str, object_ref: str, *, channel: str = "web",
           purpose: str = "", details: dict | None = None, subject_id: int | None = None) -> AuditEntry:
    """Append an entry chained to the last one. The caller commits it with the access itself; the
    commit then writes the signed checkpoint of the new head (checkpoints.py)."""
    settings = current()
    _lock_chain(session)
    last = session.scalars(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    entry = AuditEntry(actor=actor, action=action, object_ref=object_ref, channel=channel,
                       purpose=purpose, details=details or {}, at=utcnow(), subject_id=subject_id,
                       prev_hash=last or GENESIS, key_id=settings.keyring.current)
    entry.hash = _digest(entry, settings.keyring)
    session.add(entry)
    session.flush()
    remember(object_session(entry), settings, entry.id, entry.hash)  # the Session behind a scoped one
    return entry


@dataclass(frozen=True)
class ChainReport:
    checked: int
    #: The first thing that does not hold; None when the chain and its checkpoint hold.
    problem: Problem | None = None
    #: Entries of the legacy segment (plain SHA-256, before the audit key).
    legacy: int = 0
    #: Key id → entries written under it.
    keyed: dict[str, int] = field(default_factory=dict)
    #: Id of the last entry in the database.
    head: int | None = None
    #: The newest checkpoint of the file (highest entry id) and how many valid lines the file has.
    checkpoint: Checkpoint | None = None
    checkpoint_lines: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def broken_at(self) -> int | None:
        return self.problem.entry if self.problem else None

    @property
    def reason(self) -> str:
        return self.problem.en if self.problem else ""


def _check(entry: AuditEntry, previous: str, keyed: bool, keyring: Keyring) -> Problem | None:
    n = entry.id
    if entry.prev_hash != previous:
        return Problem(f"mục #{n} không nối với mục trước nó (một mục đã bị xoá hoặc chèn)",
                       f"entry #{n}: prev_hash does not match the entry before it (an entry was removed "
                       "or inserted)", n)
    if entry.key_id is None:
        if keyed:
            return Problem(f"mục #{n} không có khóa dù đứng sau các mục có khóa (viết lại bằng băm thường)",
                           f"entry #{n} has no key after keyed entries (rewritten with a plain hash)", n)
        if _digest(entry, keyring) != entry.hash:
            return Problem(f"nội dung mục #{n} không khớp với mã băm của nó (mục đã bị sửa)",
                           f"entry #{n}: content does not match its hash (the entry was edited)", n)
        return None
    expected = _digest(entry, keyring)
    if expected is None:
        return Problem(f"mục #{n} ghi bằng khóa {entry.key_id} không có trong bộ khóa ({keyring.source})",
                       f"entry #{n} names key {entry.key_id}, which is not in the keyring "
                       f"({keyring.source}): add the retired key, or the entry was forged", n)
    if not hmac.compare_digest(expected.encode(), (entry.hash or "").encode()):
        return Problem(f"nội dung mục #{n} không khớp với mã HMAC của nó (bị sửa, hoặc tính lại không khóa)",
                       f"entry #{n}: content does not match its keyed hash (the entry was edited, or its "
                       "hash recomputed without the audit key)", n)
    return None


#: The entry appended when the oldest entries are removed (retention): it names the first entry kept
#: and the hash that entry points back to, so the chain still starts somewhere the key vouches for.
PRUNED = "audit.pruned"


def prune_before(session: Session, cutoff: datetime, *, batch: int = 5_000, max_batches: int = 200) -> int:
    """Remove the entries older than ``cutoff`` (a prefix of the chain; the newest entry always
    stays). A keyed ``audit.pruned`` entry, committed first, records where the chain now starts;
    the rows go after it, in batches (a crash in between leaves old rows that verify skips and the
    next run removes). Returns how many rows were removed."""
    first_kept = session.scalar(select(func.min(AuditEntry.id)).where(AuditEntry.at >= cutoff))
    head = session.scalar(select(func.max(AuditEntry.id)))
    if head is None:
        return 0
    first_kept = min(first_kept or head, head)
    marker = _newest_marker(session)
    if marker is None or int(marker.details["first_kept"]) < first_kept:
        kept = session.get(AuditEntry, first_kept)
        if session.scalar(select(func.min(AuditEntry.id))) < first_kept:
            record(session, "system", PRUNED, f"audit:{first_kept}", channel="worker",
                   details={"first_kept": first_kept, "prev_hash": kept.prev_hash,
                            "before": cutoff.isoformat()})
            session.commit()
    marker = _newest_marker(session)
    if marker is None:
        return 0
    return delete_in_batches(session, AuditEntry, AuditEntry.id < int(marker.details["first_kept"]),
                             batch=batch, max_batches=max_batches)


def _newest_marker(session: Session) -> AuditEntry | None:
    return session.scalars(select(AuditEntry).where(AuditEntry.action == PRUNED)
                           .order_by(AuditEntry.id.desc()).limit(1)).first()


def verify(session: Session, batch: int = 5_000, settings: Checkpoints | None = None) -> ChainReport:
    """Walk the chain from the first entry with the keys, then hold it to the newest checkpoint;
    stop at the first thing that does not hold. After a prune the walk starts at the first entry
    kept, linked to the hash the newest ``audit.pruned`` entry recorded; that entry is itself
    checked on the way, so whoever lacks the key can neither forge one nor remove more."""
    settings = settings or current()
    # The file first: every line in it names an entry committed before it was written.
    reading = settings.read()
    pinned = reading.newest
    report = dict(checkpoint=pinned, checkpoint_lines=reading.lines)
    if reading.problem:
        return ChainReport(0, reading.problem, **report)
    previous, checked, legacy, keyed, head, seen = GENESIS, 0, 0, {}, None, False
    marker = _newest_marker(session)
    start = int(marker.details["first_kept"]) if marker is not None else None
    if marker is not None:
        previous = str(marker.details["prev_hash"])
    entries = session.scalars(select(AuditEntry).where(AuditEntry.id >= (start or 0))
                              .order_by(AuditEntry.id).execution_options(yield_per=batch))
    try:  # a server-side cursor on PostgreSQL: close it when stopping early
        for entry in entries:
            problem = _check(entry, previous, bool(keyed), settings.keyring)
            seen = seen or (pinned is not None and entry.id == pinned.id)
            if problem is None and seen and entry.id == pinned.id and entry.hash != pinned.hash:
                problem = Problem(f"mục #{entry.id} khác với mốc kiểm tra lúc {pinned.at} (đã bị viết lại)",
                                  f"entry #{entry.id} differs from its checkpoint of {pinned.at} (rewritten)",
                                  entry.id)
            if problem:
                return ChainReport(checked, problem, legacy, keyed, head, **report)
            if entry.key_id is None:
                legacy += 1
            else:
                keyed[entry.key_id] = keyed.get(entry.key_id, 0) + 1
            previous, checked, head = entry.hash, checked + 1, entry.id
    finally:
        entries.close()
    return ChainReport(checked, _held_to(pinned, seen, head, keyed, settings), legacy, keyed, head, **report)


def _held_to(pinned: Checkpoint | None, seen: bool, head: int | None, keyed: dict,
             settings: Checkpoints) -> Problem | None:
    """The newest checkpoint's entry must be in the database (its hash was compared in the walk).
    The database may be ahead: appended since, or a crash between a commit and its checkpoint."""
    if pinned is None:
        if keyed:
            return Problem(f"không có mốc kiểm tra nào ở {settings.path} dù chuỗi có mục có khóa",
                           f"no checkpoint in {settings.path} although the chain has keyed entries "
                           "(the file was lost, or is configured elsewhere: PORTAL_AUDIT_CHECKPOINT_PATH)")
        return None
    if seen:
        return None
    if head is None or pinned.id > head:
        return Problem(f"mốc kiểm tra lúc {pinned.at} ghi mục #{pinned.id} nhưng cơ sở dữ liệu dừng ở mục "
                       f"#{head or 0}: các mục cuối đã bị xoá",
                       f"the checkpoint of {pinned.at} records entry #{pinned.id} but the database ends at "
                       f"#{head or 0}: the last entries were removed", pinned.id)
    return Problem(f"mục #{pinned.id} ghi trong mốc kiểm tra lúc {pinned.at} không còn trong cơ sở dữ liệu",
                   f"entry #{pinned.id}, recorded by the checkpoint of {pinned.at}, is not in the database "
                   "(removed, and the chain relinked)", pinned.id)
