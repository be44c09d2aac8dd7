"""Keeping the index true with real processes: a huey index worker killed mid-way, the Redis queue,
a reader forked before new commits, and a rebuild while the worker applies updates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from portal import outbox
from portal.jobs import make_index_huey
from portal.records.index_queue import TOPICS, enqueue_upsert
from portal.records.models import Record
from portal.search import get_search
from portal.search.adapters.embedded import EmbeddedBackend
from portal.search.indexing import check, reindex
from portal.search.port import SearchQuery

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = str(Path(sys.executable).parent / "huey_consumer")
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _env(app, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PORTAL_DATABASE_URL=app.config["DATABASE_URL"], PORTAL_DATA_DIR=app.config["DATA_DIR"],
               PORTAL_SECRET_KEY="test-worker", PORTAL_ENV="development", FLASK_APP="app",
               PYTHONWARNINGS="ignore")
    env.update(extra)
    return env


def _start_consumer(app, log: Path, **extra) -> subprocess.Popen:
    return subprocess.Popen([CONSUMER, "portal.worker.index_huey", "--workers", "1", "--logfile", str(log)],
                            cwd=ROOT, env=_env(app, **extra), stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _queue(env: dict[str, str]):
    """The consumer's index queue as seen from this process (the test's own is immediate)."""
    from portal.search.tasks import drain_search_outbox

    queue = make_index_huey(env)
    queue._registry.register(drain_search_outbox.task_class)
    return queue


def _pending(session) -> int:
    session.commit()  # a fresh snapshot: the worker commits in another process
    return outbox.pending(session, TOPICS)


def _wait(condition, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"worker exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _changes(db_session, make_record, count: int) -> list:
    """``count`` committed records, each with its outbox row written in the same transaction."""
    records = [make_record(commit=False) for _ in range(count)]
    for record in records:
        enqueue_upsert(db_session, record)
    db_session.commit()
    return records


def test_killing_the_index_worker_mid_way_loses_no_update(app, db_session, make_record, tmp_path):
    total = 4000  # four outbox batches of 1,000: the kill lands while batch 2+ is being applied
    _changes(db_session, make_record, total)
    log = tmp_path / "huey-index.log"
    worker = _start_consumer(app, log)
    try:
        # The starting consumer drains by itself; kill it as soon as the first batch is in.
        _wait(lambda: _pending(db_session) < total, 120, "the first batch", worker)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        left = _pending(db_session)
        assert 0 < left < total, f"kill came too late or too early: {left} rows left"
        assert not check(db_session).ok  # really mid-way: the index lacks some records
        worker = _start_consumer(app, log)  # the restarted worker catches up on its own
        _wait(lambda: _pending(db_session) == 0, 120, "the catch-up", worker)
    finally:
        _stop(worker)
    report = check(db_session)
    assert report.ok and report.indexed == total, report.as_dict()


def test_the_index_queue_runs_on_redis(app, db_session, make_record, tmp_path):
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # Redis is expected on this machine: fail, never skip
    name = f"portal-index-test-{uuid.uuid4().hex[:10]}"
    env = {"PORTAL_REDIS_URL": REDIS_URL, "PORTAL_INDEX_QUEUE": name}
    queue = _queue(env)
    log = tmp_path / "huey-redis.log"
    worker = _start_consumer(app, log, **env)
    try:
        # Let its start-up drain (of nothing) finish: the work below must come through Redis.
        _wait(lambda: log.exists() and "executed in" in log.read_text(), 60, "the start-up drain", worker)
        records = _changes(db_session, make_record, 3)
        from portal.search.tasks import drain_search_outbox

        result = queue.enqueue(drain_search_outbox.s())
        # The answer came back through Redis; 0 if the minute's periodic drain got there first.
        assert result.get(blocking=True, timeout=60) in (0, 3)
        assert _pending(db_session) == 0
        assert check(db_session).ok
        assert get_search().search(SearchQuery(records[0].number_display)).hits[0].id == records[0].source_id
    finally:
        _stop(worker)
        queue.storage.flush_all()
        for key in client.keys(f"*{name}*"):
            client.delete(key)
        client.close()
    assert not client.keys(f"*{name}*")


def test_a_reader_forked_before_new_commits_sees_them(tmp_path):
    reader = EmbeddedBackend(tmp_path / "idx")  # like gunicorn --preload: opened before the fork
    reader.upsert([{"id": "1", "title": "Giấy phép xây dựng"}])
    assert reader.search(SearchQuery("giay")).total == 1
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the forked worker: waits for the writer's commit, then searches
        try:
            os.write(ready_w, b"r")
            os.read(go_r, 1)
            page = reader.search(SearchQuery("dang ky kinh doanh"))
            os.write(ready_w, f"{page.total}:{reader._pid == os.getpid()}".encode())
        finally:
            os._exit(0)
    assert os.read(ready_r, 1) == b"r"
    EmbeddedBackend(tmp_path / "idx").upsert([{"id": "2", "title": "Đăng ký kinh doanh"}])  # another writer
    os.write(go_w, b"g")
    answer = os.read(ready_r, 20).decode()
    os.waitpid(pid, 0)
    assert answer == "1:True"  # sees the new commit, from its own handle


def test_reindex_while_the_worker_applies_updates_loses_none(app, db_session, make_record, tmp_path):
    records = [make_record(commit=False, summary=f"Hồ sơ gốc {i}") for i in range(3000)]
    db_session.commit()
    reindex(db_session, get_search)
    # Every record changed "now" by an app server whose clock runs a minute ahead: the rebuild hands
    # all 3,000 over after its swap, however long it took to start, while the worker applies newer
    # changes. That hand-over once undid some of them (stale documents; see indexing.reindex).
    db_session.execute(sa.update(Record).values(updated_at=datetime.now(UTC) + timedelta(minutes=1)))
    db_session.commit()
    worker = _start_consumer(app, tmp_path / "huey-index.log")
    rebuild = subprocess.Popen([sys.executable, "-m", "flask", "search", "reindex"], cwd=ROOT,
                               env=_env(app), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    changed: dict[str, str] = {}
    during = 0
    try:
        from portal.search.tasks import drain_search_outbox

        queue = _queue(_env(app))
        i = 0
        while rebuild.poll() is None or i < 5:
            record = records[(i * 37) % len(records)]
            word = f"sua{uuid.uuid4().hex[:10]}"  # random: no two are one typo apart
            record.summary = f"Hồ sơ đã sửa {word}"
            enqueue_upsert(db_session, record)
            db_session.commit()
            queue.enqueue(drain_search_outbox.s())  # the nudge a view gives after commit
            changed[record.source_id] = word
            during += rebuild.poll() is None
            i += 1
            time.sleep(0.02)
        output = rebuild.communicate()[0]
        assert rebuild.returncode == 0, output
        assert during >= 3, f"only {during} updates while the rebuild ran"
        _wait(lambda: _pending(db_session) == 0, 60, "the worker to apply every update", worker)
    finally:
        _stop(worker)
        if rebuild.poll() is None:
            rebuild.kill()
    report = check(db_session)
    assert report.ok, report.as_dict()
    search = get_search()
    for source_id, word in changed.items():  # the last word written to each record
        assert [h.id for h in search.search(SearchQuery(word)).hits] == [source_id], word
