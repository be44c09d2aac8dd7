"""Staff batch uploads: the tus endpoints, the import job and its resume, the report page and CSV.

The tus requests are the ones tus-js-client sends (the browser test in tests/web drives the real
client); huey runs inline (immediate), and a killed worker is simulated by an exception that
nothing catches, leaving the job as a SIGKILL would: running, its batch part-way.
"""

from __future__ import annotations

import base64
import fcntl
import io
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import png_scan, zip_batch
from flask import g
from sqlalchemy import select

from portal.db import utcnow
from portal.extensions import db
from portal.imports import background, tasks
from portal.imports.job_models import BatchUpload, ImportJob
from portal.imports.models import ImportBatch, ImportLine
from portal.imports.service import BatchError, run_import
from portal.units.models import AdminUnit
from tests.identity.staff_builders import form_token

TUS = {"Tus-Resumable": "1.0.0"}
UPLOADS = "/staff/imports/uploads/"


def _units(session, n: int = 2) -> list[AdminUnit]:
    return list(
        session.scalars(
            select(AdminUnit)
            .where(AdminUnit.system == "current", AdminUnit.level == "commune")
            .order_by(AdminUnit.code)
            .limit(n)
        )
    )


@pytest.fixture
def units(db_session):
    return _units(db_session)


@pytest.fixture
def operator(make_staff, units):
    return make_staff(role="operator", units=[units[0]])


@pytest.fixture
def logged_in(app, operator, login_staff):
    client = app.test_client()
    login_staff(client, operator)
    client.csrf = form_token(client, "/staff/imports/new")
    return client


def _metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def _create(client, length: int, unit: AdminUnit, filename: str = "batch.zip", csrf: bool = True):
    headers = {
        **TUS,
        "Upload-Length": str(length),
        "Upload-Metadata": _metadata(filename=filename, unit=str(unit.id)),
    }
    if csrf:
        headers["X-CSRFToken"] = client.csrf
    return client.post(UPLOADS, headers=headers)


def _patch(client, location: str, offset: int, data: bytes, csrf: bool = True, **headers):
    headers = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        **headers,
    }
    if csrf:
        headers["X-CSRFToken"] = client.csrf
    return client.patch(location, data=data, headers=headers)


def _batch_zip(batch, tmp_path, good: int = 5) -> bytes:
    for n in range(good):
        batch.add(
            f"UP-{n}",
            doc_number=str(n),
            files=[batch.file(f"files/{n}.png", png_scan(shade=n * 20 % 256, size=(120 + n, 170)))],
        )
    batch.add("UP-FUTURE", issued_date="2031-01-01")  # refused: issued_date in the future
    batch.add("UP-BADID", subject={"type": "individual", "id_number": "123"})  # refused: subject.id_number
    return zip_batch(batch.write(), tmp_path / "batch.zip").read_bytes()


def test_a_broken_patch_resumes_at_the_offset_the_server_holds_and_the_import_runs(
    app, logged_in, units, batch, tmp_path
):
    data = _batch_zip(batch, tmp_path)
    created = _create(logged_in, len(data), units[0])
    assert created.status_code == 201 and created.headers["Tus-Resumable"] == "1.0.0"
    location = created.headers["Location"]
    head = logged_in.head(location, headers=TUS)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(data))

    first = _patch(logged_in, location, 0, data[:1000])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "1000"

    # The connection breaks: the request announces 4000 bytes, 1500 arrive.
    broken = logged_in.patch(
        location,
        input_stream=io.BytesIO(data[1000:2500]),
        headers={
            **TUS,
            "Upload-Offset": "1000",
            "Content-Type": "application/offset+octet-stream",
            "X-CSRFToken": logged_in.csrf,
        },
        environ_overrides={"CONTENT_LENGTH": "4000"},
    )
    assert broken.status_code == 400
    assert logged_in.head(location, headers=TUS).headers["Upload-Offset"] == "2500"

    # A client that did not ask where to resume is told no; the one that asked goes on.
    assert _patch(logged_in, location, 1000, data[1000:]).status_code == 409
    last = _patch(logged_in, location, 2500, data[2500:])
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(data))

    job = db.session.scalars(select(ImportJob)).one()
    assert last.headers["X-Import-Job"] == f"/staff/imports/{job.id}"
    assert job.status == "completed" and job.unit_id == units[0].id
    assert (job.lines_done, job.lines_total, job.refused, job.files_total) == (7, 7, 2, 6)
    assert job.batch.summary["created"] == 5
    assert not (tmp_path / "data" / "uploads" / f"{job.upload_id}.zip").exists()  # kept no longer than needed
    # The script goes to the job's page once the upload is done.
    assert logged_in.get(f"/staff/imports/uploads/{job.upload_id}/job").location == f"/staff/imports/{job.id}"


def test_tus_requests_are_refused_without_csrf_version_or_right_type(app, logged_in, units):
    assert _create(logged_in, 10, units[0], csrf=False).status_code == 400
    assert db.session.scalar(select(sa.func.count()).select_from(BatchUpload)) == 0
    assert (
        logged_in.post(UPLOADS, headers={"Upload-Length": "10", "X-CSRFToken": logged_in.csrf}).status_code
        == 412
    )
    location = _create(logged_in, 10, units[0]).headers["Location"]
    assert _patch(logged_in, location, 0, b"12345", csrf=False).status_code == 400
    assert (
        _patch(logged_in, location, 0, b"12345", **{"Content-Type": "application/octet-stream"}).status_code
        == 415
    )
    assert logged_in.head(location, headers=TUS).headers["Upload-Offset"] == "0"
    assert _patch(logged_in, location, 0, b"12345678901").status_code == 413  # past Upload-Length


def test_uploads_are_size_limited_zip_only_and_for_the_operators_own_units(app, logged_in, units):
    app.config["UPLOAD_BATCH_MAX_BYTES"] = 1000
    assert _create(logged_in, 1001, units[0]).status_code == 413
    assert _create(logged_in, 100, units[0], filename="batch.exe").status_code == 415
    assert _create(logged_in, 100, units[1]).status_code == 403  # a unit the operator does not serve
    assert _create(logged_in, 1000, units[0]).status_code == 201


def test_an_upload_is_its_owners_alone(app, logged_in, units, make_staff, login_staff):
    location = _create(logged_in, 100, units[0]).headers["Location"]
    assert _patch(logged_in, location, 0, b"x" * 10).status_code == 204
    other = app.test_client()
    login_staff(other, make_staff(role="operator", units=[units[0]]))
    other.csrf = form_token(other, "/staff/imports/new")
    assert other.head(location, headers=TUS).status_code == 404
    assert _patch(other, location, 10, b"y" * 10).status_code == 404
    assert other.delete(location, headers={**TUS, "X-CSRFToken": other.csrf}).status_code == 404
    assert logged_in.head(location, headers=TUS).headers["Upload-Offset"] == "10"
    assert logged_in.delete(location, headers={**TUS, "X-CSRFToken": logged_in.csrf}).status_code == 204
    assert logged_in.head(location, headers=TUS).status_code == 404


def test_clerks_cannot_upload_and_operators_see_only_their_units_imports(
    app, make_staff, login_staff, units, logged_in, batch, tmp_path
):
    clerk = app.test_client()
    login_staff(clerk, make_staff(role="clerk", units=[units[0]]))
    assert clerk.get("/staff/imports/").status_code == 403
    data = _batch_zip(batch, tmp_path, good=1)
    location = _create(logged_in, len(data), units[0]).headers["Location"]
    job_url = _patch(logged_in, location, 0, data).headers["X-Import-Job"]
    elsewhere = app.test_client()
    login_staff(elsewhere, make_staff(role="operator", units=[units[1]]))
    assert elsewhere.get(job_url).status_code == 404
    assert elsewhere.get(job_url + "/report.csv").status_code == 404
    assert "batch.zip" not in elsewhere.get("/staff/imports/").get_data(as_text=True)
    admin = app.test_client()
    login_staff(admin, make_staff(role="admin"))
    assert "batch.zip" in admin.get("/staff/imports/").get_data(as_text=True)
    assert admin.get(job_url).status_code == 200


def test_the_report_page_and_csv_show_each_refused_line_with_field_and_reason(
    app, logged_in, units, batch, tmp_path
):
    data = _batch_zip(batch, tmp_path)
    location = _create(logged_in, len(data), units[0]).headers["Location"]
    job_url = _patch(logged_in, location, 0, data).headers["X-Import-Job"]
    page = logged_in.get(job_url + "?lang=vi").get_data(as_text=True)
    assert "UP-FUTURE" in page and "UP-BADID" in page and "issued_date" in page
    assert "UP-0" not in page  # good lines are not in the refusals
    future = next(
        e
        for e in background.report_entries(db.session, db.session.scalars(select(ImportJob)).one().batch_id)
        if e.source_id == "UP-FUTURE"
    )
    assert future.line_no == 6 and future.vi in page
    only_subject = logged_in.get(job_url + "?field=subject").get_data(as_text=True)
    assert "UP-BADID" in only_subject and "UP-FUTURE" not in only_subject
    g.pop("_flask_babel", None)  # the test's app context outlives requests: forget the locale found
    english = logged_in.get(job_url + "?lang=en").get_data(as_text=True)
    assert future.en in english and future.vi not in english

    csv = logged_in.get(job_url + "/report.csv")
    assert csv.mimetype == "text/csv" and "attachment" in csv.headers["Content-Disposition"]
    text = csv.get_data().decode("utf-8")
    assert text.startswith("\ufeffdong_line,source_id")
    rows = text.strip().splitlines()
    assert len(rows) == 3 and rows[1].startswith("6,UP-FUTURE,refused,issued_date,")
    assert future.vi in rows[1]

    progress = logged_in.get(job_url + "/progress").get_json()
    assert progress["finished"] and progress["lines_done"] == 7 and progress["refused"] == 2


def test_the_no_javascript_form_uploads_a_small_batch(app, logged_in, units, batch, tmp_path):
    data = _batch_zip(batch, tmp_path, good=2)
    response = logged_in.post(
        "/staff/imports/new",
        data={"csrf_token": logged_in.csrf, "unit": str(units[0].id), "batch": (io.BytesIO(data), "lot.zip")},
    )
    assert response.status_code == 303
    job = db.session.scalars(select(ImportJob)).one()
    assert response.location == f"/staff/imports/{job.id}" and job.status == "completed" and job.refused == 2


class Killed(BaseException):
    """What a SIGKILL leaves: nothing after it runs (no except clause catches a BaseException)."""


def test_a_job_whose_worker_died_is_resumed_and_finishes_without_doubling(
    app, logged_in, units, batch, tmp_path, monkeypatch
):
    app.config["IMPORT_CHUNK_LINES"] = 2
    data = _batch_zip(batch, tmp_path)
    real_progress = background._progress
    calls = []

    def dies_after_first_chunk(session, job_id, attempt, state):
        real_progress(session, job_id, attempt, state)
        calls.append(state.done_lines)
        if len(calls) == 2:  # the first report is the start; the second, after the first chunk
            raise Killed()

    monkeypatch.setattr(background, "_progress", dies_after_first_chunk)
    location = _create(logged_in, len(data), units[0]).headers["Location"]
    with pytest.raises(Killed):
        _patch(logged_in, location, 0, data)
    db.session.rollback()
    job = db.session.scalars(select(ImportJob)).one()
    assert job.status == "running" and job.lines_done == 2 and job.attempts == 1

    # Its heartbeat is fresh: the worker may be alive, nobody takes the job.
    assert tasks.resume_stalled.call_local() == 0
    assert not background.claim(db.session, job.id, 120)
    # Once it is older than the stall time, the next check resumes it.
    job.heartbeat_at = utcnow() - timedelta(seconds=121)
    db.session.commit()
    monkeypatch.setattr(background, "_progress", real_progress)
    assert tasks.resume_stalled.call_local() == 1
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.status == "completed" and job.attempts == 2
    assert job.lines_done == 7 and job.refused == 2
    lines = db.session.execute(sa.text("SELECT count(*), count(DISTINCT line_no) FROM import_line")).one()
    assert tuple(lines) == (7, 7)
    assert db.session.execute(sa.text("SELECT count(*) FROM import_batch")).scalar() == 1


def test_a_job_that_keeps_killing_its_worker_is_given_up(app, db_session, operator, units):
    job = ImportJob(
        unit_id=units[0].id,
        staff_id=operator.id,
        filename="x.zip",
        path="/nonexistent.zip",
        status="running",
        attempts=background.MAX_ATTEMPTS,
        heartbeat_at=utcnow() - timedelta(hours=1),
    )
    db_session.add(job)
    db_session.commit()
    assert tasks.resume_stalled.call_local() == 0
    db_session.refresh(job)
    assert job.status == "failed" and "5" in job.error_en


def test_a_job_whose_message_never_reached_the_queue_is_queued_again_once_the_queue_is_idle(
    app, db_session, operator, units, batch, tmp_path
):
    """The upload committed its job, then the queue was unreachable (Redis stopped): the row is the
    durable record, and the periodic check queues it, but not while another job runs before it."""
    path = tmp_path / "waiting.zip"
    path.write_bytes(_batch_zip(batch, tmp_path))
    waited = utcnow() - timedelta(seconds=121)
    waiting = ImportJob(unit_id=units[0].id, staff_id=operator.id, filename="waiting.zip", path=str(path),
                        status="queued", created_at=waited)
    running = ImportJob(unit_id=units[0].id, staff_id=operator.id, filename="running.zip", path="/gone.zip",
                        status="running", attempts=1, heartbeat_at=utcnow(), created_at=waited)
    db_session.add_all([waiting, running])
    db_session.commit()
    assert tasks.resume_stalled.call_local() == 0  # it is taken to be queued behind the running one

    running.status, running.finished_at = "completed", utcnow()
    db_session.commit()
    assert tasks.resume_stalled.call_local() == 1
    db_session.expire_all()
    assert db_session.get(ImportJob, waiting.id).status == "completed"
    assert db_session.get(ImportJob, waiting.id).lines_done == 7


def _zip(tmp_path, entries: dict[str, bytes]):
    path = tmp_path / "budget.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, content in entries.items():
            zipped.writestr(name, content)
    return path


def test_zip_budgets_refuse_a_bomb_and_too_many_entries_before_extracting(app, db_session, tmp_path):
    bomb = _zip(tmp_path, {"manifest.jsonl": b"", "files/zeros.pdf": b"\0" * (8 * 1024 * 1024)})
    with pytest.raises(BatchError, match="zip bomb"):
        run_import(db_session, bomb, "cli:test")
    many = _zip(tmp_path, {"manifest.jsonl": b"", **{f"files/{n}.png": b"x" for n in range(20)}})
    app.config["IMPORT_ZIP_MAX_ENTRIES"] = 10
    with pytest.raises(BatchError, match="too many entries"):
        run_import(db_session, many, "cli:test")
    app.config["IMPORT_ZIP_MAX_ENTRIES"] = 100
    app.config["IMPORT_ZIP_MAX_BYTES"] = 10
    with pytest.raises(BatchError, match="over the budget"):
        run_import(db_session, many, "cli:test")
    assert not list((tmp_path / "data" / "tmp").glob("import-*/files/*"))


@pytest.mark.parametrize("role", ["clerk", "supervisor"])
def test_every_import_route_refuses_staff_who_are_neither_operators_nor_admins(app, make_staff, login_staff,
                                                                                units, role):
    client = app.test_client()
    login_staff(client, make_staff(role=role, units=[units[0]]))
    token = form_token(client, "/staff/")
    for method in ("GET", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS"):
        for path in ("/staff/imports/", "/staff/imports/new", "/staff/imports/1",
                     "/staff/imports/1/report.csv", "/staff/imports/1/progress", UPLOADS, UPLOADS + "x",
                     UPLOADS + "x/job"):
            response = client.open(path, method=method, headers={**TUS, "X-CSRFToken": token})
            assert response.status_code in (403, 405), f"{method} {path}: {response.status_code}"


def test_tus_requests_without_a_staff_login_go_to_the_login(app):
    client = app.test_client()
    for method, path in (("OPTIONS", UPLOADS), ("HEAD", UPLOADS + "x"), ("POST", UPLOADS)):
        response = client.open(path, method=method, headers=TUS)
        assert response.status_code in (302, 400), f"{method} {path}"  # 400: CSRF refuses first
        if response.status_code == 302:
            assert response.location.startswith("/staff/login")


def test_a_worker_that_lost_its_job_to_another_stops_at_its_next_chunk(
        app, logged_in, units, batch, tmp_path, monkeypatch):
    app.config["IMPORT_CHUNK_LINES"] = 2
    data = _batch_zip(batch, tmp_path)
    job_id = None
    real_progress = background._progress

    def taken_over(session, job_id_, attempt, state):
        nonlocal job_id
        job_id = job_id_
        # Meanwhile another worker decided this one was dead and claimed the job.
        session.execute(sa.text("UPDATE import_job SET attempts = attempts + 1"))
        session.commit()
        real_progress(session, job_id_, attempt, state)

    monkeypatch.setattr(background, "_progress", taken_over)
    location = _create(logged_in, len(data), units[0]).headers["Location"]
    assert _patch(logged_in, location, 0, data).status_code == 204
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert job.status == "running" and job.lines_done == 0  # left to the worker that has it now
    assert Path(job.path).exists()
    assert db.session.execute(sa.text("SELECT count(*) FROM import_line")).scalar() == 0


def test_one_writer_at_a_time_and_abandoned_uploads_are_purged(app, logged_in, units):
    location = _create(logged_in, 100, units[0]).headers["Location"]
    upload = db.session.scalars(select(BatchUpload)).one()
    part = Path(app.config["DATA_DIR"]) / "uploads" / f"{upload.id}.part"
    with open(part, "r+b") as other_request:  # another PATCH of the same upload is writing
        fcntl.flock(other_request, fcntl.LOCK_EX)
        assert _patch(logged_in, location, 0, b"x" * 10).status_code == 409
    assert _patch(logged_in, location, 0, b"x" * 10).status_code == 204

    fresh = _create(logged_in, 100, units[0]).headers["Location"]
    upload.created_at = utcnow() - timedelta(hours=49)
    db.session.commit()
    assert tasks.purge_uploads.call_local() == 1
    assert not part.exists() and logged_in.head(location, headers=TUS).status_code == 404
    assert logged_in.head(fresh, headers=TUS).status_code == 200  # younger than 48 hours: kept


def test_an_upload_that_outlasts_its_csrf_token_goes_on_with_a_fresh_one(app, logged_in, units):
    location = _create(logged_in, 100, units[0]).headers["Location"]
    app.config["WTF_CSRF_TIME_LIMIT"] = 1
    time.sleep(2)
    assert _patch(logged_in, location, 0, b"x" * 10).status_code == 400  # expired
    logged_in.csrf = logged_in.get("/staff/imports/csrf-token").get_json()["token"]
    assert _patch(logged_in, location, 0, b"x" * 10).status_code == 204


def test_a_file_that_is_not_a_zip_fails_the_job_naming_the_file_not_the_server_path(app, logged_in, units):
    location = _create(logged_in, 12, units[0], filename="lo-thang-11.zip").headers["Location"]
    job_url = _patch(logged_in, location, 0, b"not a zip!!!").headers["X-Import-Job"]
    job = db.session.scalars(select(ImportJob)).one()
    assert job.status == "failed" and job.finished_at is not None
    page = logged_in.get(job_url).get_data(as_text=True)
    assert "lo-thang-11.zip không phải thư mục lô hay tệp .zip" in page
    assert app.config["DATA_DIR"] not in page and job.upload_id not in page


def test_the_report_shows_warnings_apart_from_refusals(app, logged_in, operator, units):
    warning = {"field": "procedure_code", "code": "new_procedure", "severity": "warning",
               "vi": "Thủ tục mới 1.999999", "en": "new procedure 1.999999"}
    refusal = {"field": "issued_date", "code": "future_date", "vi": "Ngày ở tương lai", "en": "a future date"}
    batch = ImportBatch(name="lo", manifest_sha256="d" * 64, status="completed", actor=operator.audit_name,
                        summary={"read": 3, "created": 2, "updated": 0, "unchanged": 0, "refused": 1},
                        lines=[ImportLine(line_no=1, source_id="W-1", outcome="created", errors=[warning]),
                               ImportLine(line_no=2, source_id="W-2", outcome="created", errors=[]),
                               ImportLine(line_no=3, source_id="W-3", outcome="refused",
                                          errors=[refusal, {**warning, "vi": "Thủ tục mới (dòng hỏng)"}])])
    job = ImportJob(unit_id=units[0].id, staff_id=operator.id, filename="lo.zip", path="/none.zip",
                    status="completed", batch=batch, lines_total=3, lines_done=3)
    db.session.add(job)
    db.session.commit()

    def shown(kind):
        entries = background.report_entries(db.session, batch.id, kind=kind)
        return [(e.line_no, e.code, e.refused) for e in entries]

    assert shown("refused") == [(3, "future_date", True)]
    assert shown("warnings") == [(1, "new_procedure", False), (3, "new_procedure", False)]
    assert len(shown("all")) == 3
    page = logged_in.get(f"/staff/imports/{job.id}?kind=warnings").get_data(as_text=True)
    assert "Thủ tục mới 1.999999" in page and "Cảnh báo" in page and "Ngày ở tương lai" not in page
    assert "Ngày ở tương lai" in logged_in.get(f"/staff/imports/{job.id}").get_data(as_text=True)
    csv = logged_in.get(f"/staff/imports/{job.id}/report.csv").get_data().decode()
    assert "1,W-1,warning,procedure_code,new_procedure" in csv and "3,W-3,refused,issued_date" in csv
