"""Signed checkpoints of the chain head, written outside the database after each commit that appended.

The keyed chain stops whoever lacks the key from rewriting entries, but not from removing the last
ones: a shorter chain is still a chain. So after every commit that appended entries, the head
(entry id and hash) is appended, signed with the audit key, as one line of a file outside the
database (``AUDIT_CHECKPOINT_PATH``); `flask audit verify` holds the database to its newest line.

After the commit, never before: an entry whose transaction rolls back must leave no line (a
checkpoint naming an entry that never existed would be an alarm forever). A crash between the
commit and the write leaves the file one head behind: allowed, the database may be ahead.

Why a session event: services never commit (their caller does), so only the session knows when the
entry became durable. ``record()`` puts the head in ``session.info`` explicitly; sessions without
one are left alone (nothing is inferred from model changes, unlike search updates tied to ORM
events).

One JSON object a line, appended with O_APPEND in a single write(): the kernel puts each write at
the end of the file, so workers and processes appending at once neither interleave nor overwrite.
Lines of two workers may be out of order (entry 11's commit may write before 10's): verify takes the
highest id. No fsync by default: a power cut can only lose the newest lines, which leaves the file
behind the database, and that is allowed; ``AUDIT_CHECKPOINT_FSYNC`` turns it on.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.audit.keys import Keyring
from portal.db import utcnow

_PENDING = "portal.audit.checkpoint"
#: Separates checkpoint signatures from entry hashes made with the same key.
_DOMAIN = b"portal.audit.checkpoint\n"
_FIELDS = {"id", "hash", "at", "key"}
#: Every line also goes to this logger: shipped off the host (syslog, journald), it is a second copy.
log = logging.getLogger("portal.audit.checkpoint")


@dataclass(frozen=True)
class Problem:
    """What verify found, in both languages; ``entry`` names the entry when there is one."""

    vi: str
    en: str
    entry: int | None = None


@dataclass(frozen=True)
class Checkpoint:
    id: int
    hash: str
    at: str
    key: str
    line: int


@dataclass(frozen=True)
class Reading:
    #: The checkpoint of the highest entry id among the valid lines; None when there is none.
    newest: Checkpoint | None
    lines: int
    problem: Problem | None = None
    #: A last line cut short (the disk filled up during its write): ignored.
    torn: bool = False


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Checkpoints:
    """The checkpoint file and the keyring that signs it: the app's audit settings."""

    keyring: Keyring
    path: Path
    fsync: bool = False

    def line(self, entry_id: int, entry_hash: str, at: datetime) -> bytes:
        body = {"id": entry_id, "hash": entry_hash, "at": at.isoformat(), "key": self.keyring.current}
        sig = self.keyring.mac(self.keyring.current, _DOMAIN + _canonical(body))
        return _canonical({**body, "sig": sig}) + b"\n"

    def write(self, entry_id: int, entry_hash: str) -> None:
        data = self.line(entry_id, entry_hash, utcnow())
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            written = os.write(fd, data)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        if written != len(data):
            raise OSError(f"{self.path}: wrote {written} of {len(data)} bytes of a checkpoint")
        log.info("%s", data.decode().rstrip())

    def read(self) -> Reading:
        """Every line's signature checked; the first bad line is the problem."""
        newest, count, torn = None, 0, False
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return Reading(None, 0)
        with handle:
            for number, raw in enumerate(handle, 1):
                if not raw.endswith(b"\n"):
                    torn = True  # the last line only: a line without its end is where the file ends
                    break
                checkpoint = self._parse(raw, number)
                if not isinstance(checkpoint, Checkpoint):
                    return Reading(newest, count, checkpoint)
                count += 1
                if newest is None or checkpoint.id > newest.id:
                    newest = checkpoint
        return Reading(newest, count, torn=torn)

    def _parse(self, raw: bytes, number: int) -> Checkpoint | Problem:
        where_vi = f"dòng {number} của tệp mốc kiểm tra {self.path}"
        where_en = f"line {number} of the checkpoint file {self.path}"
        try:
            body = json.loads(raw)
            sig = body.pop("sig")
        except (ValueError, TypeError, AttributeError, KeyError):
            body, sig = None, None
        if not isinstance(body, dict) or set(body) != _FIELDS or not isinstance(body["id"], int) \
                or not isinstance(sig, str):
            return Problem(f"{where_vi} không đúng dạng", f"{where_en} is malformed (the file was edited)")
        key = str(body["key"])
        expected = self.keyring.mac(key, _DOMAIN + _canonical(body))
        if expected is None:
            return Problem(f"{where_vi} ký bằng khóa {key} không có trong bộ khóa ({self.keyring.source})",
                           f"{where_en} is signed with key {key}, which is not in the keyring "
                           f"({self.keyring.source}): add the retired key, or the line was forged")
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            return Problem(f"{where_vi} có chữ ký sai (tệp đã bị sửa)",
                           f"{where_en}: its signature does not hold (the file was edited)")
        return Checkpoint(body["id"], str(body["hash"]), str(body["at"]), key, number)


def remember(session: Session, checkpoints: Checkpoints, entry_id: int, entry_hash: str) -> None:
    """Write this head once the session's transaction commits (plain values: no SQL after commit).
    Kept with the (sub)transaction it was appended in: a savepoint rolled back takes its heads along."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, checkpoints, entry_id, entry_hash))


def _within(transaction, ancestor) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction may still roll back
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    _, checkpoints, entry_id, entry_hash = pending[-1]  # the newest surviving append is the head
    try:
        checkpoints.write(entry_id, entry_hash)
    except OSError:
        # The entry is committed and the access happened: failing the request now would hide that.
        # The file stays behind the database (allowed); the error reaches the operators' logs.
        log.exception("audit checkpoint of entry #%s not written to %s", entry_id, checkpoints.path)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [p for p in pending if not _within(p[0], previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:  # closed without a commit (session.close(), remove())
        session.info.pop(_PENDING, None)
