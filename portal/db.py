"""Declarative base with a constraint naming convention (stable names for Alembic)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, delete, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Called per row: a default computed once at import time would stamp every row alike."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware everywhere: SQLite drops the zone, so store UTC and put it back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; pass an aware one")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


def commit_read(session) -> None:
    """Commit what a read-only request wrote (its access-log entries) without expiring what it
    loaded: the template then renders the rows it has, instead of reloading each one with a
    SELECT of its own. Only for requests that change nothing but append-only rows."""
    session = session() if callable(session) else session  # Flask-SQLAlchemy's scoped session
    kept = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = kept


def delete_in_batches(session, entity, *where, batch: int, max_batches: int) -> int:
    """Delete ``entity``'s rows matching ``where``, lowest id first, ``batch`` rows a transaction
    and at most ``max_batches`` transactions (a purge never holds one long lock; the next run takes
    the rest). Commits each batch; returns how many rows went."""
    removed = 0
    for _ in range(max_batches):
        ids = session.scalars(select(entity.id).where(*where).order_by(entity.id).limit(batch)).all()
        if not ids:
            break
        session.execute(delete(entity).where(entity.id.in_(ids)))
        session.commit()
        removed += len(ids)
    return removed
