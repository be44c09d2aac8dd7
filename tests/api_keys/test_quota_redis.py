"""A key's daily count in Redis (portal/api_keys/quota.py): no database write per request, the same
quota and headers as the database count, copied to `api_key_usage` every minute, never handed out
again by a Redis that lost its counters, and counted in the database while Redis is down.

A Redis server of the test module's own, on a free port: counters of other runs never mix in.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import datetime

import pytest
import redis
from sqlalchemy import event, select

from portal import clock
from portal.api_keys import quota
from portal.api_keys.models import ApiKeyUsage
from portal.extensions import db
from tests.api_keys.test_api_keys import api_app, bearer, issue  # noqa: F401  (fixture and helpers)

MOMENT = datetime(2026, 12, 5, 23, 0, 0, tzinfo=clock.HANOI)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url():
    server_binary = shutil.which("redis-server")
    if server_binary is None:
        pytest.fail("redis-server is not installed (the machine's Redis package provides it)")
    port = _free_port()
    server = subprocess.Popen([server_binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def app(api_app, redis_url, monkeypatch):  # noqa: F811
    redis.Redis.from_url(redis_url).flushall()
    monkeypatch.setattr(clock, "now", lambda: MOMENT)
    app = api_app(REDIS_URL=redis_url)
    with app.app_context():
        yield app


def _usage_statements(app) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_rest: seen.append(statement) if "api_key_usage" in statement else None)
    return seen


def _stored() -> list[tuple[str, int]]:
    db.session.expire_all()
    return [(day.isoformat(), count) for day, count in
            db.session.execute(select(ApiKeyUsage.day, ApiKeyUsage.count).order_by(ApiKeyUsage.day))]


def test_the_quota_holds_with_no_database_write_per_request_and_the_table_follows(app, client):
    issued = issue(quota=3)
    statements = _usage_statements(app)
    answers = [client.get("/api/v1/probe/batch", headers=bearer(issued.secret)) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert answers[-1].headers["Retry-After"] == "3600"
    # One read (what the database held for the day, at the day's first count), no write.
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT")
    assert _stored() == []

    assert quota.flush_to_database(db.engine) == 1  # the worker's minute
    assert _stored() == [("2026-12-05", 4)]
    assert quota.flush_to_database(db.engine) == 1 and _stored() == [("2026-12-05", 4)]  # twice: same


def test_the_owner_and_the_admin_see_todays_count_live(app, client):
    issued = issue(quota=100)
    for _ in range(3):
        client.get("/api/v1/probe/batch", headers=bearer(issued.secret))
    usage = client.get("/api/v1/keys/me/usage", headers=bearer(issued.secret)).json["usage"]
    assert usage == [{"day": "2026-12-05", "requests": 4}]  # this call counted too; nothing flushed yet


def test_a_redis_that_lost_its_counters_does_not_give_the_quota_again(app, client, redis_url):
    issued = issue(quota=5)
    for _ in range(4):
        client.get("/api/v1/probe/batch", headers=bearer(issued.secret))
    quota.flush_to_database(db.engine)
    redis.Redis.from_url(redis_url).flushall()  # Redis restarted with nothing kept

    answers = [client.get("/api/v1/probe/batch", headers=bearer(issued.secret)) for _ in range(2)]
    assert [r.status_code for r in answers] == [200, 429]
    assert answers[0].headers["RateLimit-Remaining"] == "0"


def test_the_flush_never_lowers_a_count_the_database_holds(app, client):
    issued = issue(quota=100)
    client.get("/api/v1/probe/batch", headers=bearer(issued.secret))
    db.session.add(ApiKeyUsage(key_id=issued.key.id, day=MOMENT.date(), count=40))  # counted while Redis was down
    db.session.commit()
    quota.flush_to_database(db.engine)
    assert _stored() == [("2026-12-05", 40)]


def test_with_redis_down_requests_are_counted_in_the_database(api_app, monkeypatch, caplog):  # noqa: F811
    monkeypatch.setattr(clock, "now", lambda: MOMENT)
    app = api_app(REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0")  # nothing listens there
    with app.app_context():
        issued = issue(quota=2)
        answers = [app.test_client().get("/api/v1/probe/batch", headers=bearer(issued.secret)) for _ in range(3)]
        assert [r.status_code for r in answers] == [200, 200, 429]
        assert _stored() == [("2026-12-05", 3)]
        assert "counted in the database" in caplog.text
