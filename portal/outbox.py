"""Durable side effects: rows written in the caller's transaction, applied after commit.

A crash between commit and apply loses nothing: the row stays until a drain applies it. A view
ends its transaction with `commit(session)`, which then nudges the drain of every topic the
transaction added a row to, so the worker applies it at once instead of at the next minute.
The drains' owners register their nudge with `on_commit` (mail: "email.", search: "search.").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import JSON, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.db import Base, UTCDateTime, utcnow

log = logging.getLogger(__name__)

#: Topic prefix → function asking that topic's drain to run now.
_NUDGES: dict[str, Callable[[], None]] = {}
#: Key of ``session.info``: the topics the open transaction added rows to.
_ADDED = "portal.outbox.topics"


class OutboxItem(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What to do: "search.upsert", "search.remove" (key = source_id)…
    topic: Mapped[str] = mapped_column(String(40), index=True)
    key: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def add(session: Session, topic: str, key: str | int, payload: dict | None = None) -> None:
    session.add(OutboxItem(topic=topic, key=str(key), payload=payload or {}))
    session.info.setdefault(_ADDED, set()).add(topic)


def on_commit(prefix: str, nudge: Callable[[], None]) -> None:
    """After `commit` of a transaction that added a row whose topic starts with ``prefix``, call
    ``nudge`` (it enqueues the drain; inline when huey is immediate, as in tests)."""
    _NUDGES[prefix] = nudge


def commit(session: Session) -> None:
    """Commit, then nudge the drains of the topics this transaction added rows to.

    A failed nudge is logged, never raised: the change is committed and the periodic drain
    applies it within a minute.
    """
    added = session.info.pop(_ADDED, set())
    session.commit()
    for prefix, nudge in _NUDGES.items():
        if any(topic.startswith(prefix) for topic in added):
            try:
                nudge()
            except Exception:  # noqa: BLE001 - the request committed; the periodic drain catches up
                log.exception("outbox nudge for %s failed; the periodic drain will apply it", prefix)


def drain(session: Session, topic: str,
          apply: Callable[[list[OutboxItem]], Iterable[OutboxItem] | None],
          batch_size: int = 1000) -> int:
    """Apply pending items of one topic in id order, oldest first; returns how many were applied.

    Items are deleted only after ``apply`` returned, so a crash means they are applied again:
    appliers must be idempotent (an index upsert is). ``apply`` may return the items it could not
    apply yet (an e-mail the server refused for now): they stay, with whatever it changed on them
    (an attempt count in the payload), for a later drain; this one moves on past them.
    """
    done = 0
    last_id = 0
    while True:
        items = session.scalars(
            select(OutboxItem).where(OutboxItem.topic == topic, OutboxItem.id > last_id)
            .order_by(OutboxItem.id).limit(batch_size)
        ).all()
        if not items:
            return done
        kept = {item.id for item in apply(items) or ()}
        ids = [item.id for item in items if item.id not in kept]
        if ids:
            session.execute(delete(OutboxItem).where(OutboxItem.id.in_(ids)))
        session.commit()
        done += len(ids)
        last_id = items[-1].id


def pending(session: Session, topics: Iterable[str] | None = None) -> int:
    query = select(func.count()).select_from(OutboxItem)
    if topics is not None:
        query = query.where(OutboxItem.topic.in_(list(topics)))
    return session.scalar(query) or 0
