"""Redis stopped mid-run, then started again (issue 16, item 5), with real processes.

The portal runs under gunicorn and the index consumer runs `huey_consumer portal.worker.index_huey`,
both on a Redis of the test's own (queues, page cache, rate limits). Redis is then stopped.
Expected, as docs/operations.md ("Faults") says:
- the home page, a search page, a result page and the public API answer 200, a staff login form
  refuses a wrong password as usual: the page cache and the rate limits fall back (pages are made
  afresh, requests are let through uncounted) and say so in the log;
- a change that must reach the search index (an operator renames a procedure with
  `flask refdata procedures`) is committed at once, its index update waits in the database
  outbox, and the failed nudge to the queue is logged; the command succeeds;
- the consumer keeps running: its failed reads and its failed periodic enqueue are logged;
- once Redis is back on the same port (empty: nothing kept on disk), the consumer's periodic drain
  (`search.drain.periodic`, every minute) applies the outbox and the running portal finds the
  change, with no restart; its periodic heartbeat is back too (`flask doctor` sees it alive).
It runs once, in the SQLite run: the database plays no part in how Redis's absence is handled.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
import requests

from portal.jobs import make_index_huey
from portal.operations.heartbeat import last_beat
from tests.imports.builders import BatchBuilder

pytestmark = pytest.mark.skipif(
    os.environ.get("PORTAL_TEST_DB", "sqlite") == "postgresql",
    reason="Redis's absence is handled the same whatever the database: run once, in the SQLite run")

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SOURCE_ID = "REDIS-OUTAGE-1"
PROCEDURE = "1.013225"  # the batch builder's procedure
#: A word only the procedure's new name holds: search finds it once the index has the change.
NEW_WORD = "Kestrelwood"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds it took for ``check`` to hold; fails the test after ``timeout``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)
    return time.monotonic() - start


def _status(url: str, **kwargs) -> int | str:
    try:
        return requests.get(url, timeout=10, **kwargs).status_code
    except requests.RequestException as error:
        return type(error).__name__


def _fresh_page(url: str, **params: str) -> str:
    """The page as the portal makes it now. The cookie keeps it out of the server's page cache: a
    try must not get a copy of the previous one (a visitor without cookies may get a copy up to
    PUBLIC_PAGE_MAX_AGE old)."""
    page = requests.get(url, params=params, cookies={"poll": "1"}, timeout=10)
    assert page.status_code == 200, page.status_code
    return page.text


def _finds(base: str, text: str) -> bool:
    """Whether a search for ``text`` on the running portal lists the result."""
    return f"/results/{SOURCE_ID}" in _fresh_page(f"{base}/search", q=text)


def _staff_login_refused(base: str) -> bool:
    """A wrong password at the staff login (a rate-limited form) gets the usual refusal page."""
    with requests.Session() as browser:
        form = browser.get(f"{base}/staff/login", timeout=10)
        token = _CSRF.search(form.text).group(1)
        answer = browser.post(f"{base}/staff/login", timeout=10, data={
            "csrf_token": token, "username": "nobody", "password": "not-the-password"})
    return answer.status_code == 200 and "Sai tên đăng nhập hoặc mật khẩu" in answer.text


def _start_redis(port: int, folder: Path) -> subprocess.Popen:
    """A Redis of our own on ``port``, keeping nothing on disk (a restart starts it empty)."""
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--daemonize", "no", "--dir", str(folder)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    _wait_until(answers, 20, "redis-server to answer")
    client.close()
    return server


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _search_outbox(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT count(*) FROM outbox WHERE topic LIKE 'search.%'").fetchone()[0]


def _log_since(path: Path, offset: int) -> str:
    return path.read_text()[offset:]


def _public_batch(folder: Path) -> Path:
    batch = BatchBuilder(folder)
    batch.add(SOURCE_ID, access="public")
    return batch.write()


@pytest.fixture
def site(tmp_path):
    """Redis, a migrated SQLite portal holding one public result, gunicorn and the index consumer."""
    redis_port, web_port = _free_port(), _free_port()
    data = tmp_path / "data"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    env.update(PORTAL_ENV="development", PORTAL_DATA_DIR=str(data), FLASK_APP="app",
               PORTAL_SECRET_KEY="redis-outage-" + "x" * 40, PORTAL_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
               PORTAL_BIND=f"127.0.0.1:{web_port}", PORTAL_WORKERS="2", PORTAL_THREADS="2",
               PYTHONWARNINGS="ignore")
    processes: dict[str, subprocess.Popen] = {"redis": _start_redis(redis_port, tmp_path)}
    try:
        batch = _public_batch(tmp_path / "batch")
        for command in (["db", "upgrade"], ["refdata"], ["records", "import", str(batch)]):
            done = _flask(env, *command)
            assert done.returncode == 0, (command, done.stdout, done.stderr)
        logs = {name: tmp_path / f"{name}.log" for name in ("web", "index")}
        processes["index"] = subprocess.Popen(
            [str(BIN / "huey_consumer"), "portal.worker.index_huey", "--workers", "1", "--logfile",
             str(logs["index"])], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        with logs["web"].open("wb") as web_log:
            processes["web"] = subprocess.Popen([str(BIN / "gunicorn"), "app:app"], cwd=ROOT, env=env,
                                                stdout=web_log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{web_port}"
        _wait_until(lambda: _status(base + "/healthz") == 200, 60, "gunicorn to answer")
        yield {"base": base, "env": env, "processes": processes, "logs": logs, "redis_port": redis_port,
               "database": data / "portal.sqlite3", "folder": tmp_path}
    finally:
        for process in reversed(processes.values()):
            _stop(process)


def _catalogue_renaming_the_procedure(folder: Path) -> Path:
    path = folder / "catalogue.csv"
    path.write_text(f"code,name\n{PROCEDURE},Cấp giấy phép xây dựng {NEW_WORD}\n", encoding="utf-8")
    return path


def test_with_redis_stopped_pages_answer_and_changes_reach_the_index_once_it_is_back(site):
    base, processes, logs = site["base"], site["processes"], site["logs"]
    assert _finds(base, "Trần Thái Tông")  # the imported result is searchable to begin with
    assert not _finds(base, NEW_WORD)

    _stop(processes["redis"])
    stopped_at = time.monotonic()
    web_mark, index_mark = (len(logs[name].read_text()) for name in ("web", "index"))
    pages = ["/", "/search?q=Tr%E1%BA%A7n+Th%C3%A1i+T%C3%B4ng", f"/results/{SOURCE_ID}",
             "/api/v1/search?q=GPXD"]
    assert {page: _status(base + page) for page in pages} == {page: 200 for page in pages}
    assert _staff_login_refused(base)
    web_log = _log_since(logs["web"], web_mark)
    assert "page cache unavailable" in web_log
    assert "could not count an anonymous API request; let through" in web_log
    assert "Failed to rate limit. Swallowing error" in web_log  # the login form, uncounted

    catalogue = _catalogue_renaming_the_procedure(site["folder"])
    renamed = _flask(site["env"], "refdata", "procedures", str(catalogue))
    assert renamed.returncode == 0, renamed.stderr
    assert "search outbox nudge failed" in renamed.stderr  # logged: the periodic drain will apply it
    assert NEW_WORD in _fresh_page(f"{base}/results/{SOURCE_ID}")  # the result page reads the database
    assert _search_outbox(site["database"]) >= 1  # the index update waits in the database
    assert not _finds(base, NEW_WORD)

    # The consumer lives through a periodic check without Redis (a minute at most), and says so.
    drain_refused = "Error enqueueing periodic task portal.search.tasks.search.drain.periodic"
    _wait_until(lambda: drain_refused in _log_since(logs["index"], index_mark), 75,
                "the consumer's periodic enqueue to fail")
    assert "Error reading from queue" in _log_since(logs["index"], index_mark)
    assert processes["index"].poll() is None and processes["web"].poll() is None
    down_for = time.monotonic() - stopped_at

    processes["redis"] = _start_redis(site["redis_port"], site["folder"])
    applied_after = _wait_until(lambda: _finds(base, NEW_WORD), 90, "the periodic drain to apply the outbox")
    assert _search_outbox(site["database"]) == 0
    # Redis came back empty: only the consumer's periodic task can have written its beat again.
    index_queue = make_index_huey(site["env"])
    _wait_until(lambda: last_beat(index_queue) is not None, 10, "the index consumer's heartbeat")
    assert processes["index"].poll() is None and processes["web"].poll() is None  # nothing restarted
    print(f"Redis down {down_for:.0f} s; the change was found {applied_after:.0f} s after Redis came back")
