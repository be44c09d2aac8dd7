"""Upgrades without a dropped request (issue 16, item 6), under real gunicorn with real signals.

Clients keep calling a page and the API from several threads while gunicorn is told to
- HUP: start new workers, then stop the old ones gracefully (a configuration change);
- USR2, then TERM to the old master: a new master with the new code starts beside the old one on the
  same listening socket, then the old master stops gracefully, its workers finishing what they hold
  (an upgrade of the code: with preload_app the app is loaded once in the master, so HUP alone
  would keep the old code; docs/operations.md, "Upgrades").
Every request must be answered 200: no refused connection, no reset, no 502. It runs once, in the
SQLite run: the database plays no part in how gunicorn hands over its socket.
"""

from __future__ import annotations

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

pytestmark = pytest.mark.skipif(
    os.environ.get("PORTAL_TEST_DB", "sqlite") == "postgresql",
    reason="gunicorn's hand-over is the same whatever the database: run once, in the SQLite run")

ROOT = Path(__file__).resolve().parents[2]
PATHS = ("/healthz", "/api/v1/units?per_page=5", "/")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until(check, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    """A migrated SQLite portal with the units loaded, shared by the tests (each starts its own gunicorn)."""
    data = tmp_path_factory.mktemp("zero-downtime") / "data"
    env = {**os.environ, "PORTAL_ENV": "development", "PORTAL_DATA_DIR": str(data),
           "PORTAL_SECRET_KEY": "zero-downtime-" + "x" * 40, "PORTAL_WORKERS": "2", "PORTAL_THREADS": "4",
           "FLASK_APP": "app", "PORTAL_API_ANONYMOUS_RATE_LIMIT": "1000000 per minute"}
    env.pop("PORTAL_DATABASE_URL", None)
    for command in (["db", "upgrade"], ["refdata"]):
        subprocess.run([sys.executable, "-m", "flask", *command], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=300)
    return env


@pytest.fixture
def portal(environment, tmp_path):
    """The portal under gunicorn (2 workers, the project's gunicorn.conf.py)."""
    port = _free_port()
    pidfile = tmp_path / "gunicorn.pid"
    env = {**environment, "PORTAL_BIND": f"127.0.0.1:{port}"}
    # The console script, as systemd runs it: USR2 re-executes the master's own command line, and
    # `python -m gunicorn` would come back as gunicorn/__main__.py run as a script (its http package
    # then hides the standard library's).
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen([gunicorn, "--pid", str(pidfile), "app:app"], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    _wait_until(lambda: _answers(base + "/healthz"))
    yield base, pidfile, server
    for pid in _children(server.pid) - {server.pid}:  # a new master left behind by a failed test
        if len(_children(pid)):
            os.kill(pid, signal.SIGTERM)
    server.terminate()
    server.wait(30)


class Load:
    """Threads calling PATHS in turn until stopped; every answer kept."""

    def __init__(self, base: str, threads: int = 6):
        self.base, self.stop = base, threading.Event()
        self.results: list[int | str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def _run(self, n: int) -> None:
        with requests.Session() as session:
            i = n
            while not self.stop.is_set():
                try:
                    url = self.base + PATHS[i % len(PATHS)]
                    outcome: int | str = session.get(url, timeout=30).status_code
                except requests.RequestException as error:
                    outcome = type(error).__name__
                with self.lock:
                    self.results.append(outcome)
                i += 1

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def test_a_rolling_restart_of_the_workers_drops_no_request(portal):
    base, pidfile, server = portal
    master = int(pidfile.read_text())
    before = _children(master)
    with Load(base) as load:
        time.sleep(2)
        os.kill(master, signal.SIGHUP)
        _wait_until(lambda: _children(master) and not (_children(master) & before))  # all workers new
        time.sleep(2)
    assert load.results and set(load.results) == {200}, {r for r in load.results if r != 200}
    assert len(load.results) > 50


def test_an_upgrade_by_a_new_master_drops_no_request(portal):
    base, pidfile, server = portal
    old_master = int(pidfile.read_text())
    old_workers = _children(old_master)
    with Load(base) as load:
        time.sleep(2)
        os.kill(old_master, signal.SIGUSR2)  # a new master (new code) beside the old, same socket

        def new_master() -> int | None:
            masters = [pid for pid in _children(old_master) - old_workers if len(_children(pid)) == 2]
            return masters[0] if masters else None

        _wait_until(lambda: new_master() is not None, timeout=120)
        upgraded = new_master()
        time.sleep(1)
        # Graceful stop of the old master (WINCH acts only on a daemonized one): its workers finish
        # what they hold; the socket stays open in the new master, which takes every new connection.
        os.kill(old_master, signal.SIGTERM)
        server.wait(60)
        time.sleep(2)
    assert load.results and set(load.results) == {200}, {r for r in load.results if r != 200}
    assert len(load.results) > 50
    assert _answers(base + "/healthz") and len(_children(upgraded)) == 2
    os.kill(upgraded, signal.SIGTERM)
