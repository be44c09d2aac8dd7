"""Asking the search index to follow a change: outbox rows written in the change's own transaction.

The only module that writes the search topics. Whoever changes or deletes a result calls
`enqueue_upsert` / `enqueue_remove` before committing (with `portal.outbox.commit`, which nudges
the index worker); `portal.search.indexing` reads the rows and applies them after the commit.
Both topics are keyed by ``source_id``; the drain re-reads the result when it applies a row, so
a row says only *which* result to look at again, never what it holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from portal import outbox
from portal.records.models import Record

#: The result's document is (re)written from the database as it is when the row is applied.
UPSERT = "search.upsert"
#: The result is gone from the database: its document leaves the index.
REMOVE = "search.remove"
TOPICS = (UPSERT, REMOVE)


def enqueue_upsert(session: Session, record: Record) -> None:
    """Ask for a record to be (re)indexed after the caller's commit."""
    outbox.add(session, UPSERT, record.source_id)


def enqueue_upserts(session: Session, source_ids: Iterable[str]) -> None:
    """`enqueue_upsert` for results known by their source id only."""
    for source_id in source_ids:
        outbox.add(session, UPSERT, source_id)


def enqueue_remove(session: Session, source_id: str) -> None:
    """Ask for a deleted record's document to leave the index after the caller's commit."""
    outbox.add(session, REMOVE, source_id)


def upsert_rows(source_ids: Iterable[str], created_at: datetime) -> list[dict]:
    """`enqueue_upsert` as plain outbox rows, for a bulk INSERT (the importer's fast path)."""
    return [{"topic": UPSERT, "key": key, "payload": {}, "created_at": created_at} for key in source_ids]


def enqueue_procedure(session, procedure_code: str) -> None:
    """`enqueue_upsert` for every result of a procedure (its name is in their documents)."""
    from sqlalchemy import select

    enqueue_upserts(session, session.scalars(select(Record.source_id).where(
        Record.procedure_code == procedure_code, Record.merged_into_id.is_(None))))
