"""/metrics (Prometheus) and the JSON access log (issue 16, item 4).

Counters are the process's own (prometheus_client keeps them per process, not per app), so each
test reads them before and after what it does. The gunicorn test runs the real server with two
workers, and checks that a scrape adds up what both counted.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from huey.storage import SqliteStorage
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, func, select

from portal import audit, jobs, mail_outbox, outbox
from portal.extensions import db
from portal.operations import metrics

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-" + "t" * 40


def scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return parse(response.get_data(as_text=True))


def parse(text: str) -> dict[tuple[str, tuple], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_counted_by_endpoint_and_status_with_latency(app, client):
    before = scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    # Two results, one endpoint: the label is the route's name, never the path with its id.
    client.get("/results/HN-0001-AAAA")
    client.get("/results/HN-0002-BBBB")
    client.get("/no/such/page/123")
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("portal_http_requests_total", endpoint="main.healthz", method="GET", status="200") == 3
    assert grew("portal_http_request_duration_seconds_count", endpoint="main.healthz", method="GET") == 3
    assert grew("portal_http_request_duration_seconds_bucket", endpoint="main.healthz", method="GET",
                le="+Inf") == 3
    assert grew("portal_http_requests_total", endpoint="records.detail", method="GET", status="404") == 2
    assert grew("portal_http_requests_total", endpoint="none", method="GET", status="404") == 1
    paths = {dict(labels).get("endpoint", "") for _, labels in after}
    assert not any("/" in endpoint for endpoint in paths), paths


def test_search_latency_is_a_histogram_around_the_service(client):
    before = scrape(client)
    assert client.get("/search?q=giay+phep+xay+dung").status_code == 200
    after = scrape(client)
    count = sum(value(after, "portal_search_duration_seconds_count", source=source)
                - value(before, "portal_search_duration_seconds_count", source=source)
                for source in ("engine", "database"))
    assert count == 1
    assert value(after, "portal_http_requests_total", endpoint="records.search", method="GET",
                 status="200") >= 1


def test_queue_depth_and_oldest_job_of_a_real_huey_queue(app, client, monkeypatch, tmp_path):
    # The general queue on disk, as the consumer reads it, and no consumer: the job waits.
    monkeypatch.setattr(jobs.huey, "immediate", False)
    queue = SqliteStorage(jobs.huey.name, filename=str(tmp_path / "q.sqlite3"))
    monkeypatch.setattr(jobs.huey, "storage", queue)
    assert value(scrape(client), "portal_queue_jobs", queue="portal") == 0
    mail_outbox.send_waiting_mail()
    samples = scrape(client)
    assert value(samples, "portal_queue_jobs", queue="portal") == 1
    assert value(samples, "portal_queue_oldest_job_age_seconds", queue="portal") == 0  # first seen now
    # The head job was first seen 100 s ago (as an earlier scrape would have written it).
    head = jobs.huey.serializer.deserialize(jobs.huey.storage.enqueued_items(1)[0]).id
    jobs.huey.storage.put_data(metrics._HEAD_KEY, json.dumps([head, time.time() - 100]).encode())
    assert value(scrape(client), "portal_queue_oldest_job_age_seconds", queue="portal") >= 100
    jobs.huey.storage.flush_queue()
    assert value(scrape(client), "portal_queue_oldest_job_age_seconds", queue="portal") == 0


def test_outbox_depth_mails_waiting_and_the_oldest_item(app, client):
    outbox.add(db.session, "search.upsert", "HN-1")
    outbox.add(db.session, "search.upsert", "HN-2")
    outbox.add(db.session, "email.copy_requests", "7")
    db.session.commit()  # no nudge: they wait, as when the worker is down
    samples = scrape(client)
    assert value(samples, "portal_outbox_items", topic="search.upsert") == 2
    assert value(samples, "portal_outbox_items", topic="email.copy_requests") == 1
    assert value(samples, "portal_mail_waiting") == 1
    assert 0 <= value(samples, "portal_outbox_oldest_age_seconds", topic="search.upsert") < 60


def test_audit_chain_length_is_the_real_count(app, client):
    for n in range(3):
        audit.record(db.session, "system", "test.metrics", f"test:{n}")
    db.session.commit()
    real = db.session.scalar(select(func.count()).select_from(audit.AuditEntry))
    assert value(scrape(client), "portal_audit_chain_length") == real > 0
    for n in range(2):  # counted on from the last id seen
        audit.record(db.session, "system", "test.metrics", f"test:more:{n}")
    db.session.commit()
    samples = scrape(client)
    assert value(samples, "portal_audit_chain_length") == real + 2
    assert all(value(samples, "portal_metrics_source_up", source=source) == 1
               for source in ("outbox", "queues", "imports", "ocr", "audit", "disk"))


def test_scrape_statements_are_few(app, client):
    client.get("/metrics")  # the first scrape of a process counts the whole chain and OCR's done files
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        scrape(client)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 5, statements


def test_only_allowed_addresses_or_the_token(make_app):
    app = make_app(METRICS_TOKEN=TOKEN, METRICS_ALLOW="127.0.0.1/32 ::1/128 10.8.0.0/16")
    client = app.test_client()
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outside).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.8.3.4"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base=outside,
                      headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/metrics", environ_base=outside,
                      headers={"Authorization": f"Bearer {TOKEN[:-1]}x"}).status_code == 404
    # Through a proxy the portal does not trust (PROXY_FIX_HOPS 0), 127.0.0.1 is the proxy's address.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404


def test_wrong_settings_refuse_to_start(make_app):
    with pytest.raises(RuntimeError, match="PORTAL_METRICS_TOKEN"):
        make_app(METRICS_TOKEN="short")
    with pytest.raises(RuntimeError, match="PORTAL_METRICS_ALLOW"):
        make_app(METRICS_ALLOW="10.0.0.1/8")
    with pytest.raises(RuntimeError, match="PORTAL_ACCESS_LOG_JSON"):
        make_app(ACCESS_LOG_JSON="sometimes")


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"time"')]


def test_one_json_access_line_per_request_without_personal_data(make_app, capsys):
    app = make_app(ACCESS_LOG_JSON="on")
    client = app.test_client()
    capsys.readouterr()
    personal = "001234567890"  # a 12-digit personal id typed into the search box
    response = client.get(f"/search?q={personal}", headers={"X-Request-ID": "req-0123456789abcdef"})
    client.get("/results/HN-0001-AAAA?who=nguyen+van+a")
    out = capsys.readouterr().out
    lines = _lines(out)
    assert len(lines) == 2, out
    first, second = lines
    assert first["request_id"] == response.headers["X-Request-ID"] == "req-0123456789abcdef"
    assert first["method"] == "GET" and first["endpoint"] == "records.search" and first["route"] == "/search"
    assert first["status"] == response.status_code
    assert first["duration_ms"] >= 0 and isinstance(first["bytes"], int)
    assert second["route"] == "/results/<source_id>" and second["status"] == 404
    assert len(second["request_id"]) >= 8
    assert personal not in out and "HN-0001" not in out and "nguyen" not in out and "?" not in out
    assert "127.0.0.1" not in out and len(first["client"]) == 12


def test_no_access_lines_in_tests_by_default(client, capsys):
    client.get("/healthz")
    assert _lines(capsys.readouterr().out) == []


# --- under gunicorn: two workers, one sum ----------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(os.environ.get("PORTAL_TEST_DB", "sqlite") == "postgresql",
                    reason="how gunicorn's workers add up their counts does not depend on the database")
def test_gunicorn_workers_counts_add_up(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "PORTAL_ENV": "development", "PORTAL_DATA_DIR": str(data), "FLASK_APP": "app",
           "PORTAL_SECRET_KEY": "metrics-" + "x" * 40, "PORTAL_WORKERS": "2", "PORTAL_THREADS": "4"}
    for name in ("PORTAL_DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    port = _free_port()
    env["PORTAL_BIND"] = f"127.0.0.1:{port}"
    stale = data / "metrics" / "counter_1.db"  # left by an earlier run: the master's start empties the folder
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"stale")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "app:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
            time.sleep(0.1)
        served = 1 + _hammer(base + "/healthz", threads=4, each=10)
        # The worker that answered leaves (as in a restart, max_requests, a crash); the next requests
        # go to the other worker or its replacement: two processes have counted.
        first = _counts_by_worker(data / "metrics")
        leaving = next(pid for pid, n in first.items() if n)
        os.kill(leaving, signal.SIGTERM)
        _wait_gone(leaving)
        served += _hammer(base + "/healthz", threads=4, each=10)
        text = requests.get(base + "/metrics", timeout=10).text
        total = value(parse(text), "portal_http_requests_total", endpoint="main.healthz", method="GET",
                      status="200")
        by_worker = _counts_by_worker(data / "metrics")
        assert not stale.exists()
        assert total == served == sum(by_worker.values())
        assert len([n for n in by_worker.values() if n]) >= 2, by_worker
        assert by_worker[leaving] == first[leaving]  # a dead worker's counts stay in the sum
    finally:
        server.terminate()
        server.wait(30)


def _counts_by_worker(folder: Path) -> dict[int, float]:
    counts = {}
    for path in folder.glob("counter_*.db"):
        merged = MultiProcessCollector.merge([str(path)], accumulate=True)
        counts[int(path.stem.split("_")[1])] = sum(
            sample.value for family in merged for sample in family.samples
            if sample.name == "portal_http_requests_total"
            and sample.labels.get("endpoint") == "main.healthz")
    return counts


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"worker {pid} did not leave")


def _hammer(url: str, *, threads: int, each: int) -> int:
    done = []

    def run():
        with requests.Session() as session:
            for _ in range(each):
                assert session.get(url, timeout=10).status_code == 200
                done.append(1)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    return len(done)
