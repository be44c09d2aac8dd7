"""Rate limits are counted once for the whole portal: every gunicorn worker and every process shares
the count (in the portal's database unless Redis is configured), so a limit of five is five, not
five per worker."""

from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from portal import ROOT, rate_limits
from portal.extensions import db
from portal.feedback.models import Petition
from portal.rate_limits import DatabaseStorage, RateLimitCounter
from tests.feedback.test_petitions import NEW, form_data

#: The second process: another app on the same database, like a second gunicorn worker.
SECOND_WORKER = """
import json, sys
from portal import create_app
from tests.test_rate_limits import send_petitions
app = create_app(json.loads(sys.argv[1]))
with app.app_context():
    print(json.dumps(send_petitions(app.test_client(), int(sys.argv[2]))))
"""


def send_petitions(client, count: int) -> list[int]:
    return [client.post(NEW, data=form_data(client)).status_code for _ in range(count)]


def test_two_processes_share_one_petition_limit(make_app, tmp_path):
    config = {"TESTING": True, "HUEY_IMMEDIATE": True, "SERVER_NAME": None,
              "FEEDBACK_PETITION_RATE_LIMIT": "5 per hour"}
    app = make_app(**config)
    with app.app_context():
        client = app.test_client()
        assert send_petitions(client, 3) == [303, 303, 303]

        second = {**config, "DATABASE_URL": app.config["DATABASE_URL"], "DATA_DIR": str(tmp_path / "second")}
        run = subprocess.run([sys.executable, "-c", SECOND_WORKER, json.dumps(second), "3"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-3000:]

        # Same address, other process: two more, then the sixth of the hour is refused.
        assert json.loads(run.stdout.strip().splitlines()[-1]) == [303, 303, 429]
        assert db.session.scalar(select(func.count()).select_from(Petition)) == 5
        assert send_petitions(client, 1) == [429]  # and the first process sees it too


def test_a_window_counts_until_it_ends_then_starts_again(app, monkeypatch):
    storage = DatabaseStorage()
    now = 1_900_000_000.0
    monkeypatch.setattr(rate_limits.time, "time", lambda: now)
    assert [storage.incr("LIMITER/203.0.113.7/x", 60) for _ in range(3)] == [1, 2, 3]
    storage.incr("LIMITER/198.51.100.20/x", 30)
    # The count is committed on its own connection: a request that rolls back still counted.
    db.session.execute(text("SELECT 1"))
    db.session.rollback()
    assert storage.get("LIMITER/203.0.113.7/x") == 3
    assert storage.get_expiry("LIMITER/203.0.113.7/x") == now + 60

    now += 61
    storage._next_cleanup = 0  # the next hit deletes the counters whose window ended
    assert storage.get("LIMITER/203.0.113.7/x") == 0
    assert storage.incr("LIMITER/203.0.113.7/x", 60) == 1
    assert storage.get_expiry("LIMITER/203.0.113.7/x") == now + 60
    assert db.session.scalars(select(RateLimitCounter.key)).all() == ["LIMITER/203.0.113.7/x"]


def test_the_database_is_the_default_store_and_redis_when_configured(make_app):
    assert make_app().config["RATELIMIT_STORAGE_URI"] == "portal-db://"
    assert make_app(REDIS_URL="redis://127.0.0.1:6379/0").config["RATELIMIT_STORAGE_URI"] \
        == "redis://127.0.0.1:6379/0"


def test_when_the_counter_store_fails_the_forms_still_work(app, client, monkeypatch, caplog):
    def down():
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(DatabaseStorage, "_engine", staticmethod(down))
    assert client.post(NEW, data=form_data(client)).status_code == 303
    assert "Failed to rate limit. Swallowing error" in caplog.text  # and the outage is logged
