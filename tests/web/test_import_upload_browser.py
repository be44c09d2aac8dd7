"""A digitization operator uploads a batch in a real browser (Debian's Chromium through Playwright):
the .zip goes through the vendored tus-js-client to the portal's tus endpoints, a real import
worker (`huey_consumer portal.worker.import_huey`, a subprocess) runs the job, the page's progress
moves, the worker is killed with SIGKILL part-way, a new one resumes the job, and the report shows
each refused line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from huey.storage import SqliteStorage
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from portal import ROOT
from portal.jobs import import_huey
from portal.units.models import AdminUnit
from tests.imports.builders import BatchBuilder, png_scan, zip_batch
from tests.web.a11y_site import login_staff
from tests.web.browser import ONCE_IN_THE_SQLITE_RUN

pytestmark = ONCE_IN_THE_SQLITE_RUN

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
GOOD = 150
STALL_SECONDS = 2


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture
def live(app, monkeypatch):
    data = Path(app.config["DATA_DIR"])
    app.config.update(SESSION_COOKIE_SECURE=False, IMPORT_STALL_SECONDS=STALL_SECONDS)
    # The page queues the job for a real worker: the import queue on disk, where the worker reads it.
    monkeypatch.setattr(import_huey, "immediate", False)
    monkeypatch.setattr(
        import_huey, "storage", SqliteStorage(import_huey.name, filename=str(data / "import-queue.sqlite3"))
    )
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{httpd.server_port}", data
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _worker(app, data: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
        "PORTAL_DATA_DIR": str(data),
        "PORTAL_ENV": "testing",
        "PORTAL_IMPORT_CHUNK_LINES": "3",
        "PORTAL_IMPORT_STALL_SECONDS": str(STALL_SECONDS),
    }
    env.pop("PORTAL_REDIS_URL", None)
    with open(data / "worker.log", "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "huey.bin.huey_consumer",
                "portal.worker.import_huey",
                "--workers",
                "1",
                "--delay",
                "0.1",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def _batch(tmp_path: Path) -> Path:
    batch = BatchBuilder(tmp_path / "batch-2025-11-03")
    for n in range(GOOD):
        batch.add(
            f"BR-{n}",
            doc_number=str(n),
            files=[batch.file(f"files/{n}.png", png_scan(shade=n % 256, size=(120 + n, 170)))],
        )
    batch.add("BR-FUTURE", issued_date="2031-01-01")
    batch.add("BR-BADID", subject={"type": "individual", "id_number": "123"})
    return zip_batch(batch.write(), tmp_path / "lo-2025-11-03.zip")


def _job(engine) -> tuple:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT status, lines_done, attempts FROM import_job")).one()


def _operator(make_staff) -> tuple:
    """A commune and an operator serving it."""
    from portal.extensions import db

    unit = db.session.scalars(
        select(AdminUnit)
        .where(AdminUnit.system == "current", AdminUnit.level == "commune")
        .order_by(AdminUnit.code)
    ).first()
    return unit, make_staff(role="operator", units=[unit])


def test_an_operator_uploads_a_batch_sees_progress_and_a_killed_worker_is_resumed(live, make_staff, tmp_path):
    app, server, data = live
    unit, operator = _operator(make_staff)
    path = _batch(tmp_path)
    engine = sa.create_engine(app.config["DATABASE_URL"])
    workers = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(locale="vi-VN")
            errors = []
            page.on(
                "console", lambda message: errors.append(message.text) if message.type == "error" else None
            )
            login_staff(page, server, operator)
            page.goto(f"{server}/staff/imports/new?lang=vi")
            page.select_option("#unit", str(unit.id))
            page.set_input_files("#batch", str(path))
            with page.expect_navigation(
                url=lambda url: "/staff/imports/" in url and url.split("/")[-1].isdigit()
            ):
                page.click("#batch-upload button[type=submit]")
            assert _job(engine)[0] == "queued"  # uploaded through tus; no worker yet
            done = page.locator("[data-key=lines_done]")
            expect(done).to_have_text("0")

            workers.append(_worker(app, data))
            # Killed as soon as its first chunk is in (watched in the database, not through the page's
            # poll: waiting for the page once let the worker finish every line before the kill).
            deadline = time.monotonic() + 20
            while _job(engine)[1] == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(10)
            status, killed_at, attempts = _job(engine)
            assert status == "running" and 0 < killed_at < GOOD + 2 and attempts == 1, (status, killed_at)
            # The progress moved on the page (the script polls), and stays: nobody is importing.
            expect(done).to_have_text(str(killed_at), timeout=10_000)
            time.sleep(0.5)
            assert _job(engine)[1] == killed_at

            workers.append(_worker(app, data))
            # A stall time after it starts, the new worker takes the job up; the page reloads when done.
            expect(page.locator("#report-summary")).to_be_visible(timeout=25_000)
            status, lines_done, attempts = _job(engine)
            assert (status, lines_done, attempts) == ("completed", GOOD + 2, 2)
            report = page.locator("#report tbody tr")
            expect(report).to_have_count(2)
            expect(report.nth(0)).to_contain_text("BR-FUTURE")
            expect(report.nth(0)).to_contain_text("issued_date")
            expect(report.nth(0)).to_contain_text("tương lai")  # the reason, in Vietnamese
            expect(report.nth(1)).to_contain_text("BR-BADID")
            assert errors == []  # no CSP violation or script error
            csv = page.request.get(page.url.split("?")[0] + "/report.csv")  # streamed outside the test's context
            assert csv.ok and csv.headers["content-type"].startswith("text/csv")
            assert csv.text().startswith("\ufeffdong_line") and "BR-FUTURE" in csv.text()
        finally:
            browser.close()
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
                    worker.wait(10)
            engine.dispose()
    with engine.connect() as conn:
        lines, distinct = conn.execute(
            sa.text("SELECT count(*), count(DISTINCT line_no) FROM import_line")
        ).one()
        records = conn.execute(sa.text("SELECT count(*) FROM record")).scalar()
    assert (lines, distinct, records) == (GOOD + 2, GOOD + 2, GOOD)  # nothing lost, nothing doubled


FOLDER_GOOD = 5
# Records every text the upload status shows (it is gone once the page moves to the job).
WATCH_STATUS = """
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("upload-status");
  if (status) {
    new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach(
      (node) => window.recordStatus(node.textContent)))).observe(status, {childList: true});
  }
});
"""


def test_an_operator_chooses_a_batch_folder_the_page_zips_it_and_it_is_imported(live, make_staff, tmp_path):
    app, server, data = live
    unit, operator = _operator(make_staff)
    batch = BatchBuilder(tmp_path / "lo-thu-muc")
    for n in range(FOLDER_GOOD):
        batch.add(f"BR-{n}", doc_number=str(n), files=[batch.file(f"files/{n}.png", png_scan(shade=n))])
    batch.add("BR-FUTURE", issued_date="2031-01-01")
    folder = batch.write()
    on_disk = sorted(p.relative_to(tmp_path).as_posix() for p in folder.rglob("*") if p.is_file())
    engine = sa.create_engine(app.config["DATABASE_URL"])
    worker = None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            # Without JavaScript nobody can zip a folder: the page shows the .zip form alone.
            plain = browser.new_context(java_script_enabled=False, locale="vi-VN")
            plain_page = plain.new_page()
            login_staff(plain_page, server, operator)  # once: a TOTP code is not accepted twice
            plain_page.goto(f"{server}/staff/imports/new?lang=vi")
            expect(plain_page.locator("#batch")).to_be_visible()
            expect(plain_page.locator("#batch-folder")).to_be_hidden()
            page = browser.new_context(storage_state=plain.storage_state(), locale="vi-VN").new_page()
            plain.close()
            errors, statuses = [], []
            page.on(
                "console", lambda message: errors.append(message.text) if message.type == "error" else None
            )
            page.expose_function("recordStatus", lambda text: statuses.append(text))
            page.add_init_script(WATCH_STATUS)
            page.goto(f"{server}/staff/imports/new?lang=vi")
            expect(page.get_by_label("Hoặc chọn cả thư mục lô")).to_be_visible()
            page.select_option("#unit", str(unit.id))
            page.set_input_files("#batch-folder", str(folder))
            with page.expect_navigation(
                url=lambda url: "/staff/imports/" in url and url.split("/")[-1].isdigit()
            ):
                page.click("#batch-upload button[type=submit]")
            with engine.connect() as conn:
                filename, path = conn.execute(sa.text("SELECT filename, path FROM import_job")).one()
            assert filename == "lo-thu-muc.zip"
            # The zip the server received: the folder's files under its name, stored, not recompressed.
            with zipfile.ZipFile(path) as zipped:
                members = zipped.infolist()
                assert sorted(member.filename for member in members) == on_disk
                assert {member.compress_type for member in members} == {zipfile.ZIP_STORED}
                assert zipped.read("lo-thu-muc/manifest.jsonl") == (folder / "manifest.jsonl").read_bytes()
            assert f"Đang đóng gói thư mục: {len(on_disk)}/{len(on_disk)} tệp" in statuses
            assert any(text.startswith("Đang tải lên:") for text in statuses)

            worker = _worker(app, data)
            expect(page.locator("#report-summary")).to_be_visible(timeout=15_000)
            assert _job(engine)[:2] == ("completed", FOLDER_GOOD + 1)
            report = page.locator("#report tbody tr")
            expect(report).to_have_count(1)
            expect(report.nth(0)).to_contain_text("BR-FUTURE")
            assert errors == []
        finally:
            browser.close()
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(10)
            engine.dispose()
    with engine.connect() as conn:
        records = conn.execute(sa.text("SELECT count(*) FROM record")).scalar()
    assert records == FOLDER_GOOD
