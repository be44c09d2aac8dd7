"""PostgreSQL restarted during a staff import job (issue 16, item 5): the import resumes by itself.

Real processes, as in production: the import queue's huey consumer runs the job against a
PostgreSQL server of the test's own (tests/pg_cluster.py), which is restarted (fast: connections
cut) part-way through the batch. The consumer survives; within a minute and a stall time the
periodic `imports.resume_stalled` takes the job up again, and the batch ends exactly as a straight
run would: every line once, one batch, no record doubled. Run in the PostgreSQL run only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import zip_batch
from sqlalchemy import select
from test_import_resume import LINES, _build

from portal import ROOT
from portal.imports.job_models import ImportJob, JobStatus
from portal.units.models import AdminUnit
from tests.conftest import TEST_DB
from tests.pg_cluster import cluster, database  # noqa: F401  (the test's own server)

pytestmark = pytest.mark.skipif(TEST_DB != "postgresql",
                                reason="a PostgreSQL server restarted: run in the PostgreSQL run")

STALL_SECONDS = 3


def _worker_environment(url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_DATA_DIR": str(data_dir),
            "PORTAL_ENV": "development", "PORTAL_IMPORT_STALL_SECONDS": str(STALL_SECONDS),
            "PORTAL_IMPORT_CHUNK_LINES": "5"}


def _job(engine, job_id: int) -> sa.Row:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT status, lines_done, attempts FROM import_job WHERE id = :id"),
                            {"id": job_id}).one()


def _wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except sa.exc.OperationalError:  # the server is restarting
            found = None
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_an_import_job_resumes_after_postgresql_restarts_and_ends_as_a_straight_run(
        app, db_session, make_staff, batch, cluster, tmp_path):
    unit = db_session.scalars(select(AdminUnit).where(AdminUnit.system == "current")).first()
    operator = make_staff(role="operator", units=[unit])
    upload = zip_batch(_build(batch), tmp_path / "batch.zip")
    job = ImportJob(unit_id=unit.id, staff_id=operator.id, filename="batch.zip", path=str(upload),
                    status=JobStatus.QUEUED)
    db_session.add(job)
    db_session.flush()
    job_id = job.id
    db_session.commit()  # and this session holds no connection while the server restarts

    environment = _worker_environment(cluster.url, tmp_path / "worker")
    log = tmp_path / "huey-import.log"
    consumer = subprocess.Popen(
        [str(Path(sys.executable).with_name("huey_consumer")), "portal.worker.import_huey", "--workers", "1",
         "--logfile", str(log)], env=environment, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = sa.create_engine(cluster.url, poolclass=sa.pool.NullPool)
    try:
        # The upload page queues the job this way once its upload is complete.
        subprocess.run([sys.executable, "-c", f"from portal.imports import tasks; tasks.enqueue({job_id})"],
                       env=environment, cwd=ROOT, check=True, timeout=60)
        _wait_for(lambda: _job(engine, job_id).lines_done >= 30, 120, "the import never got going")
        cluster.restart()
        cut_at = _wait_for(lambda: _job(engine, job_id), 30, "the server did not come back")
        assert cut_at.status == JobStatus.RUNNING and cut_at.lines_done < LINES, "it finished before the restart"

        finished = _wait_for(lambda: (row := _job(engine, job_id)).status != JobStatus.RUNNING and row,
                             60 + 3 * STALL_SECONDS + 60, "the job was not resumed")
        assert consumer.poll() is None, "the consumer died with the database"
    finally:
        consumer.terminate()
        consumer.wait(timeout=30)
        engine.dispose()

    assert finished.status == JobStatus.COMPLETED and finished.attempts >= 2
    assert finished.lines_done == LINES
    lines = db_session.execute(sa.text("SELECT count(*), count(DISTINCT line_no) FROM import_line")).one()
    assert tuple(lines) == (LINES, LINES)
    assert db_session.execute(sa.text("SELECT count(*) FROM import_batch")).scalar() == 1
    records = db_session.execute(sa.text("SELECT count(*), count(DISTINCT source_id) FROM record")).one()
    assert tuple(records) == (LINES - 8, LINES - 8)
    assert not upload.exists(), "the upload is removed once its import is done"
