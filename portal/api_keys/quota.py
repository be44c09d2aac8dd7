"""Each key's requests per Hanoi day, against its daily quota: where every worker sees one count.

- With Redis (``REDIS_URL``): one ``INCR`` a request, no database write. The first count of a day
  in Redis adds what the database already holds for that day (Redis restarted, or requests counted
  in the database while it was down), so a restart never hands a key its quota again. Every minute
  `flush_to_database` copies the counts into ``api_key_usage`` (the table admins and the key's owner
  read; today's figure is read live from Redis). A counter lives two days, so yesterday's final
  count is flushed after midnight.
- Without Redis, or when Redis does not answer: one atomic upsert in ``api_key_usage`` on a
  connection of its own, committed at once (a request that fails later still counted).

Why not the upsert always: every request of a key updates the same row (one key, one day), so on
PostgreSQL they queue on its lock and on SQLite on the database's write lock: keyed calls were
serialized at 30-130 requests/s (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal import clock
from portal.api_keys.models import ApiKey, ApiKeyUsage

log = logging.getLogger(__name__)

PREFIX = "portal:apikey:"
#: Seconds a day's counter is kept in Redis: two days, so the flush after midnight sees the final count.
KEEP_SECONDS = 2 * 86_400
_EXTENSION = "api_keys.redis"
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass(frozen=True)
class QuotaCheck:
    allowed: bool
    limit: int
    remaining: int
    #: Seconds until the count starts again (Hanoi midnight).
    reset: int


def seconds_to_hanoi_midnight(now: datetime) -> int:
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=clock.HANOI)
    return max(1, int((tomorrow - now).total_seconds() + 0.999))


def init_app(app: Flask) -> None:
    """A Redis client when REDIS_URL is set; short timeouts, so an outage costs a request little."""
    url = app.config.get("REDIS_URL")
    if url:
        import redis

        app.extensions[_EXTENSION] = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def _redis():
    return current_app.extensions.get(_EXTENSION)


def _name(key_id: int, day: date) -> str:
    return f"{PREFIX}{key_id}:{day.isoformat()}"


def count_request(engine, key: ApiKey) -> QuotaCheck:
    """Count one request of ``key`` today (Hanoi) and say whether it is within the daily quota."""
    now = clock.now()
    store = _redis()
    count = None
    if store is not None:
        try:
            count = _count_in_redis(store, engine, key.id, now.date())
        except Exception:  # noqa: BLE001 - redis errors of any kind: the database counts instead
            log.warning("API key %s: Redis did not count the request; counted in the database", key.prefix,
                        exc_info=True)
    if count is None:
        count = _count_in_database(engine, key.id, now.date())
    return QuotaCheck(allowed=count <= key.daily_quota, limit=key.daily_quota,
                      remaining=max(0, key.daily_quota - count), reset=seconds_to_hanoi_midnight(now))


def _count_in_redis(store, engine, key_id: int, day: date) -> int:
    name = _name(key_id, day)
    count = store.incr(name)
    if count == 1:  # the day's first count in this Redis: carry over what the database holds
        store.expire(name, KEEP_SECONDS)
        with engine.connect() as connection:
            earlier = connection.scalar(select(ApiKeyUsage.count).where(ApiKeyUsage.key_id == key_id,
                                                                        ApiKeyUsage.day == day))
        if earlier:
            count = store.incrby(name, earlier)
    return count


def _count_in_database(engine, key_id: int, day: date) -> int:
    table = ApiKeyUsage.__table__
    insert = _INSERTS[engine.dialect.name](table).values(key_id=key_id, day=day, count=1)
    upsert = insert.on_conflict_do_update(index_elements=[table.c.key_id, table.c.day],
                                          set_={"count": table.c.count + 1}).returning(table.c.count)
    with engine.begin() as connection:
        return connection.execute(upsert).scalar_one()


def usage(session: Session, key: ApiKey, days: int = 30) -> list[ApiKeyUsage]:
    """The key's counts of the last ``days`` Hanoi days that had any, newest first; today's live
    from Redis when it counts (the table lags it by up to a minute)."""
    today = clock.today()
    rows = list(session.scalars(select(ApiKeyUsage)
                                .where(ApiKeyUsage.key_id == key.id, ApiKeyUsage.day >= today - timedelta(days=days - 1))
                                .order_by(ApiKeyUsage.day.desc())))
    live = live_count(key.id, today)
    if live is not None:
        stored = rows[0].count if rows and rows[0].day == today else 0
        rows = [row for row in rows if row.day != today]
        rows.insert(0, ApiKeyUsage(key_id=key.id, day=today, count=max(live, stored)))  # shown, never added
    return rows


def live_count(key_id: int, day: date) -> int | None:
    """Redis's count of that day (None without Redis, or when it does not answer)."""
    store = _redis()
    if store is None:
        return None
    try:
        value = store.get(_name(key_id, day))
    except Exception:  # noqa: BLE001 - the table's figure is shown instead
        log.warning("Redis did not answer for API key usage", exc_info=True)
        return None
    return int(value) if value is not None else None


def flush_to_database(engine) -> int:
    """Copy every Redis counter into ``api_key_usage`` (a count only ever grows there); returns how
    many. Safe to run anywhere, any time, twice: it writes the larger of the two figures."""
    store = _redis()
    if store is None:
        return 0
    rows = []
    for name in store.scan_iter(match=f"{PREFIX}*", count=500):
        key_id, _sep, day = name.decode().removeprefix(PREFIX).partition(":")
        value = store.get(name)
        if value is not None and key_id.isdecimal():
            rows.append({"key_id": int(key_id), "day": date.fromisoformat(day), "count": int(value)})
    if not rows:
        return 0
    table = ApiKeyUsage.__table__
    with engine.begin() as connection:
        known = set(connection.scalars(select(ApiKey.id).where(ApiKey.id.in_({row["key_id"] for row in rows}))))
        rows = [row for row in rows if row["key_id"] in known]  # a key deleted since: nothing to keep
        if rows:
            insert = _INSERTS[engine.dialect.name](table)
            connection.execute(insert.on_conflict_do_update(
                index_elements=[table.c.key_id, table.c.day],
                set_={"count": case((insert.excluded.count > table.c.count, insert.excluded.count),
                                    else_=table.c.count)}), rows)
    return len(rows)
