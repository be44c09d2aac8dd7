"""Rate limits on the forms anyone can send (Flask-Limiter): per client address, counted where every
gunicorn worker and every process sees the same number: in Redis when PORTAL_REDIS_URL is set,
else in the portal's own database (table ``rate_limit_counter``, `DatabaseStorage`). A count kept
in one worker's memory would let each worker grant the whole limit again ("5 per hour" took 9
with two workers); ``memory://`` remains only for a test that sets it on purpose.

    @bp.route("/feedback/petitions/new", methods=["GET", "POST"])
    @limit_posts("FEEDBACK_PETITION_RATE_LIMIT")
    def new(): ...

Only POSTs count: reading a form is free. Over the limit the person gets the 429 page, in
Vietnamese, with a Retry-After header; nothing they typed was stored. The check runs before the
view, so a refused try reads and writes nothing else (no lookup, no audit entry).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from flask import Flask, current_app
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits.storage import Storage
from sqlalchemy import Double, Integer, String, case, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base

log = logging.getLogger(__name__)

limiter = Limiter(key_func=get_remote_address)

#: The storage URI of `DatabaseStorage`: the database of the app handling the request.
DATABASE_STORAGE_URI = "portal-db://"
#: Expired counters are deleted at most this often per process (seconds).
CLEANUP_EVERY = 300


class RateLimitCounter(Base):
    """One fixed window of one limit for one client: "LIMITER/203.0.113.7/FEEDBACK_…/5/1/hour"."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    #: End of the window, in seconds since the epoch: what `limits` reads (Retry-After comes from it).
    expires_at: Mapped[float] = mapped_column(Double, index=True)


_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class DatabaseStorage(Storage):
    """A `limits` storage (fixed window) over the app's database, shared by all its processes.

    Each hit is one atomic upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING, on SQLite and
    PostgreSQL), on a connection of its own committed at once: not in the request's ORM
    transaction, so a request that rolls back or fails still counted, and two workers hitting the
    same key at once both count. Only the fixed-window strategy (Flask-Limiter's default).
    """

    STORAGE_SCHEME = ["portal-db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_cleanup = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    @staticmethod
    def _engine():
        # The app of the current request: each app counts in its own database.
        from portal.extensions import db

        return db.engine

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        engine = self._engine()
        now = time.time()
        table = RateLimitCounter.__table__
        insert = _INSERTS[engine.dialect.name](table).values(key=key, count=amount, expires_at=now + expiry)
        expired = table.c.expires_at <= now  # the old window is over: this hit starts a new one
        upsert = insert.on_conflict_do_update(index_elements=[table.c.key], set_={
            "count": case((expired, insert.excluded.count), else_=table.c.count + insert.excluded.count),
            "expires_at": case((expired, insert.excluded.expires_at), else_=table.c.expires_at),
        }).returning(table.c.count)
        with engine.begin() as connection:
            count = connection.execute(upsert).scalar_one()
        if now >= self._next_cleanup:
            self._next_cleanup = now + CLEANUP_EVERY
            self._delete_expired(engine, now)
        return count

    @staticmethod
    def _delete_expired(engine, now: float) -> None:
        # Its own transaction, after the count was committed: a failure here (two cleanups racing
        # on PostgreSQL) costs nothing but a log line, and rows left over are ignored when read.
        try:
            with engine.begin() as connection:
                connection.execute(delete(RateLimitCounter).where(RateLimitCounter.expires_at <= now))
        except SQLAlchemyError:
            log.warning("could not delete expired rate-limit counters; the next cleanup will", exc_info=True)

    def _live(self, column, key: str):
        with self._engine().connect() as connection:
            return connection.scalar(select(column).where(RateLimitCounter.key == key,
                                                          RateLimitCounter.expires_at > time.time()))

    def get(self, key: str) -> int:
        return self._live(RateLimitCounter.count, key) or 0

    def get_expiry(self, key: str) -> float:
        return self._live(RateLimitCounter.expires_at, key) or time.time()

    def check(self) -> bool:
        try:
            with self._engine().connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._engine().begin() as connection:
            return connection.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        with self._engine().begin() as connection:
            connection.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))


class _IntoPortalLog(logging.Handler):
    """Flask-Limiter logs a storage outage ("Failed to rate limit. Swallowing error") to its own
    logger, whose only handler is a NullHandler: the lines reached no log, and an operator could not
    tell that the forms went uncounted. Hand them to this module's logger, written with the portal's."""

    def emit(self, record: logging.LogRecord) -> None:
        log.handle(record)


def _log_limiter_lines() -> None:
    limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(handler, _IntoPortalLog) for handler in limiter_log.handlers):
        limiter_log.addHandler(_IntoPortalLog())


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or DATABASE_STORAGE_URI)
    # No X-RateLimit-* on every answer of a limited form (the API has its own RateLimit-*), and no
    # rewriting of another answer's Retry-After (a 503's): the refusal alone says when to come back.
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    # A storage outage must not take the forms down with it: let requests through and log it.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _refused)
    _log_limiter_lines()


def _refused(error: RateLimitExceeded):
    """The 429 page (or problem details under /api/), with Retry-After: seconds until the window
    of the limit that was hit ends."""
    from portal.errors import render_error

    response = current_app.make_response(render_error(429, None, error))
    spent = limiter.current_limit
    seconds = math.ceil(spent.reset_at - time.time()) if spent is not None else 60
    response.headers["Retry-After"] = str(max(1, seconds))
    return response


def limit_posts(config_key: str) -> Callable:
    """Limit POSTs of the view to ``app.config[config_key]`` ("5 per hour;20 per day")."""
    return limiter.limit(lambda: current_app.config[config_key], methods=["POST"], scope=config_key)


def limit_posts_as(endpoint: str, config_key: str) -> Callable:
    """The limit `limit_posts(config_key)` puts on the view ``endpoint``, counted in that view's own
    bucket: another way in to the same lookup (its API twin) must not grant the limit a second time.
    Flask-Limiter names a view's bucket "<endpoint>:<scope>"; a shared limit's, its scope."""
    return limiter.shared_limit(lambda: current_app.config[config_key], scope=f"{endpoint}:{config_key}",
                                methods=["POST"])
