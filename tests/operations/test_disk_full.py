"""The file store's disk full (issue 16, item 5): a clear refusal, nothing half-written.

The file store is a real, tiny tmpfs (mounted by the test: the suite runs as root on this kind of
machine, as CI does; elsewhere the test says why it cannot run). A person sends a problem report
with a photo while the disk is full: the page says the portal cannot store anything now (503,
Retry-After), no report row exists, no temporary file is left on the disk; once space is back, the
same report goes through.
"""

from __future__ import annotations

import errno
import io
import os
import subprocess

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.feedback.models import ProblemReport
from tests.feedback.test_reports import png_bytes, post_report
from tests.web.conftest import add_document, make_record, store  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(
    os.environ.get("PORTAL_TEST_DB", "sqlite") == "postgresql",
    reason="a full disk is the file store's, not the database's: run once, in the SQLite run")


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "files"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


@pytest.fixture
def app(make_app, small_disk):
    app = make_app(FILES_ROOT=str(small_disk))
    with app.app_context():
        yield app


def _fill(disk) -> None:
    with open(disk / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC


def _reports_stored() -> int:
    """Counted on a connection of its own: what was committed, not what a session still holds."""
    with db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(ProblemReport))


def _leftovers(disk) -> list[str]:
    return [str(path.relative_to(disk)) for path in disk.rglob(".tmp-*")]


def test_a_full_disk_refuses_clearly_and_keeps_nothing_half_written(client, make_record,  # noqa: F811
                                                                     small_disk, db_session):
    record = make_record(files=True)  # its scans fit before the disk fills
    _fill(small_disk)
    photo = png_bytes((900, 700))
    refused = post_report(client, record.source_id, attachment=(io.BytesIO(photo), "anh.png"))
    # Retry-After: ours (300), unless the form's rate limiter put its own window there (it does on
    # every answer of a limited form: Flask-Limiter's headers).
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
    page = refused.get_data(as_text=True)
    assert "Cổng tạm thời không lưu được dữ liệu" in page and "Chưa có gì" in page
    assert _reports_stored() == 0
    assert _leftovers(small_disk) == []

    (small_disk / "filler").unlink()
    accepted = post_report(client, record.source_id, attachment=(io.BytesIO(photo), "anh.png"))
    assert accepted.status_code == 303
    assert _reports_stored() == 1
