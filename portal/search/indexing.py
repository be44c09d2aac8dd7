"""Keeping the index in step with the database: the outbox drain, full rebuilds, drift checks.

Services never touch the index: they add an outbox row (`portal.records.index_queue`: "upsert"
or "remove", keyed by source_id) in their own transaction; `drain_outbox` applies them after
commit (the huey task in tasks.py, or `flask search drain` on a timer). A crash loses nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import clock, outbox
from portal.records import index_queue
from portal.records.documents import (
    changed_since,
    iter_documents,
    load_by_source_ids,
    load_records,
    to_document,
)
from portal.records.models import Record
from portal.search.port import SearchBackend

log = logging.getLogger(__name__)


def _backend(backend: SearchBackend | None) -> SearchBackend:
    if backend is not None:
        return backend
    from portal.search import get_search

    return get_search()


def index_records(session: Session, record_ids: list[int], backend: SearchBackend | None = None,
                  today: date | None = None) -> int:
    """Upsert these records now; ids no longer in the database are ignored (a remove row follows)."""
    records = load_records(session, record_ids)
    today = today or clock.today()
    _backend(backend).upsert([to_document(r, today) for r in records])
    return len(records)


def drain_outbox(session: Session, backend: SearchBackend | None = None, today: date | None = None) -> int:
    """Apply pending search rows, oldest first; returns how many rows were applied.

    Both topics are keyed by source_id and applied the same way: the index is made to match
    what the database holds now (present → upsert, gone → remove), so order and repeats
    don't matter and a row applied twice after a crash does no harm.
    """
    search = _backend(backend)
    today = today or clock.today()

    def sync(items: list[outbox.OutboxItem]) -> None:
        keys = list(dict.fromkeys(item.key for item in items))
        alive = load_by_source_ids(session, keys)
        if alive:
            search.upsert([to_document(r, today) for r in alive.values()])
        gone = [key for key in keys if key not in alive]
        if gone:
            search.remove(gone)

    return (outbox.drain(session, index_queue.UPSERT, sync)
            + outbox.drain(session, index_queue.REMOVE, sync))


def catch_up(session: Session) -> str | None:
    """Apply pending index updates now, for commands that just committed changes.

    Returns None when done, else why not (index busy with another writer, engine down):
    nothing is lost, the outbox keeps the rows for the worker or `flask search drain`.
    """
    try:
        drain_outbox(session)
        session.commit()
        return None
    except Exception as problem:  # noqa: BLE001 - any failure leaves the rows in the outbox
        session.rollback()
        return str(problem) or problem.__class__.__name__


@dataclass(frozen=True)
class ReindexReport:
    count: int
    seconds: float
    #: Records changed or deleted while the build ran, queued for the index worker after the swap.
    caught_up: int


def reindex(session: Session, backend_factory: Callable[[], SearchBackend] | None = None,
            progress: Callable[[int], None] | None = None, today: date | None = None) -> ReindexReport:
    """Rebuild the whole index from the database without downtime (build beside, swap atomically).

    The hand-over: the index worker may have applied changes made during the build to the old
    generation, which the swap throws away. So after the swap, records changed while the build ran
    (``updated_at`` of the record or of its holder since its start: `documents.changed_since`) and
    records deleted meanwhile get outbox rows, committed here
    (which nudges the worker), and the worker applies them to the new index. They are not written
    from here: a document this process read from the database could land after the worker had
    written a newer one of the same record, and no row would be left to correct it (what made
    tests/search/test_worker.py leave stale documents). The worker (one consumer, one thread)
    applies rows one drain at a time, re-reading each record, so its last write is the newest.
    ``today`` dates the documents of the build. Commits the session.
    """
    backend = backend_factory() if backend_factory is not None else _backend(None)
    today = today or clock.today()
    started = time.monotonic()
    since = datetime.now().astimezone() - timedelta(seconds=5)  # clock skew between app and DB
    built: set[str] = set()

    def documents() -> Iterator[dict[str, Any]]:
        for doc in iter_documents(session, today):
            built.add(doc["id"])
            yield doc

    count = backend.rebuild(documents(), progress=progress)
    changed = changed_since(session, since)
    gone = sorted(built - set(session.scalars(select(Record.source_id))))
    index_queue.enqueue_upserts(session, changed)
    for source_id in gone:
        index_queue.enqueue_remove(session, source_id)
    outbox.commit(session)
    return ReindexReport(count=count, seconds=time.monotonic() - started, caught_up=len(changed) + len(gone))


@dataclass(frozen=True)
class CheckReport:
    indexed: int
    in_database: int
    missing: list[str]  # in the database, not in the index
    extra: list[str]  # in the index, not in the database
    stale: list[str]  # in both, but the indexed document differs from today's

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.stale)

    def as_dict(self) -> dict[str, Any]:
        return {"indexed": self.indexed, "in_database": self.in_database, "missing": len(self.missing),
                "extra": len(self.extra), "stale": len(self.stale)}


def check(session: Session, backend: SearchBackend | None = None, today: date | None = None) -> CheckReport:
    """Compare the index with the database: missing, extra and stale documents."""
    indexed = _backend(backend).fingerprints()
    expected = {doc["id"]: doc["digest"] for doc in iter_documents(session, today or clock.today())}
    missing = sorted(set(expected) - set(indexed))
    extra = sorted(set(indexed) - set(expected))
    stale = sorted(i for i in set(expected) & set(indexed) if expected[i] != indexed[i])
    return CheckReport(indexed=len(indexed), in_database=len(expected), missing=missing, extra=extra,
                       stale=stale)


def refresh_expired(session: Session, backend: SearchBackend | None = None, today: date | None = None,
                    days: int = 3) -> int:
    """Re-index results whose end date just passed: their effective status became "expired"."""
    today = today or clock.today()
    ids = list(session.scalars(select(Record.id).where(
        Record.valid_to >= today - timedelta(days=days), Record.valid_to < today)))
    return index_records(session, ids, backend, today) if ids else 0
