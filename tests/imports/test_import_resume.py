"""A run killed with SIGKILL part-way is finished by the next run: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from builders import IMPORT_TABLES, dump, png_scan

from portal import ROOT

LINES = 400


def _build(batch) -> Path:
    for n in range(LINES):
        if n % 50 == 7:
            batch.add(f"K-{n}", issued_date="2031-01-01", files=[batch.file("files/shared.png", png_scan())])
        else:
            # A file per line: storing it (hash, inspect, fsync) keeps the run long enough to be killed.
            batch.add(
                f"K-{n}",
                doc_number=str(n),
                replaces=f"K-{n - 1}" if n % 40 == 20 else None,
                files=[batch.file(f"files/{n}.png", png_scan(shade=n % 256, size=(120 + n, 170)))],
            )
    return batch.write()


def _command(path: Path, url: str, data_dir: Path) -> tuple[list[str], dict]:
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": url,
        "PORTAL_DATA_DIR": str(data_dir),
        "PORTAL_ENV": "development",
    }
    return [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "app",
        "records",
        "import",
        str(path),
        "--chunk-size",
        "5",
    ], env


def _count_lines(engine) -> int:
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM import_line")).scalar()
    except sa.exc.OperationalError:  # SQLite busy while the importer commits
        return 0


def test_a_killed_import_resumes_to_the_same_result_as_a_straight_run(app, db_session, batch, tmp_path):
    path = _build(batch)
    url = app.config["DATABASE_URL"]
    command, env = _command(path, url, tmp_path / "run-a")
    engine = sa.create_engine(url)
    try:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while _count_lines(engine) < 20 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        killed_at = _count_lines(engine)
        assert process.returncode == -signal.SIGKILL, "the import finished before it could be killed"
        assert 0 < killed_at < LINES
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT status FROM import_batch")).scalar() == "running"

        resumed = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
    finally:
        engine.dispose()

    db_session.expire_all()
    status, summary = db_session.execute(sa.text("SELECT status, summary FROM import_batch")).one()
    summary = summary if isinstance(summary, dict) else json.loads(summary)
    assert status == "completed"
    assert (
        summary["read"]
        == LINES
        == summary["created"] + summary["updated"] + summary["unchanged"] + summary["refused"]
    )
    assert summary["refused"] == 8 and summary["created"] == LINES - 8
    assert f"Đọc / read: {LINES}" in resumed.stdout
    killed_run = dump(db_session)
    db_session.commit()

    # The same batch, straight through, into an emptied database and a new file store.
    for table in IMPORT_TABLES:
        db_session.execute(sa.text(f"DELETE FROM {table}"))
    db_session.commit()
    command, env = _command(path, url, tmp_path / "run-b")
    straight = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert straight.returncode == 0, straight.stderr
    db_session.expire_all()
    straight_run = dump(db_session)

    assert killed_run == straight_run
    assert len(killed_run["record"]) == LINES - 8 and len(killed_run["import_line"]) == LINES
    assert sum(1 for _, _, new, _ in killed_run["status_change"] if new == "replaced") == 10
