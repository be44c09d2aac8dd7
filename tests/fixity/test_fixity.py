"""Fixity (issue 14, item 5): `flask files audit` re-hashes stored files and exits 1 naming each
missing or altered one; the nightly slice covers the whole store each cycle; results are kept;
the admins get one mail per failed run, through a real SMTP server."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.audit import AuditEntry
from portal.extensions import db
from portal.files.fixity import Outcome, check_file
from portal.files.store import FileStore
from portal.fixity import services
from portal.fixity import tasks as fixity_tasks
from portal.fixity.models import FixityFile, FixityProblem, FixityRun
from portal.records.models import Document


def stored(app, count: int, *, prefix: str = "scan") -> list[str]:
    """``count`` files in the store, each recorded as a result scan (a Document); their hashes."""
    store = FileStore.from_config(app.config)
    hashes = []
    for n in range(count):
        data = f"{prefix} {n} ".encode() * 50
        sha256 = store.put_bytes(data)
        db.session.add(Document(sha256=sha256, size=len(data), media_type="application/pdf", pages=1,
                                dpi=300))
        hashes.append(sha256)
    db.session.commit()
    return hashes


def path_of(app, sha256: str):
    return FileStore.from_config(app.config).path_for(sha256)


def alter(app, sha256: str) -> str:
    """Change one byte on disk, as bit rot or a stray edit would; the new bytes' hash."""
    path = path_of(app, sha256)
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01
    path.write_bytes(bytes(data))
    return hashlib.sha256(data).hexdigest()


def test_audit_exits_1_naming_a_file_whose_bytes_were_changed_on_disk(app, runner):
    good, bad, other = stored(app, 3)
    found = alter(app, bad)

    result = runner.invoke(args=["files", "audit"])

    assert result.exit_code == 1, result.output
    assert f"ALTERED: {path_of(app, bad)}" in result.output
    assert f"expected sha256 {bad}" in result.output and f"found {found}" in result.output
    assert good not in result.output and other not in result.output
    run = db.session.scalars(select(FixityRun)).one()
    assert (run.trigger, run.checked, run.altered, run.missing) == ("cli", 3, 1, 0)
    assert run.finished_at is not None
    [problem] = run.problems
    assert (problem.sha256, problem.outcome, problem.found) == (bad, "altered", found)
    assert db.session.get(FixityFile, bad).last_outcome == "altered"
    assert db.session.get(FixityFile, good).last_outcome == "ok"


def test_a_missing_file_is_named_and_the_result_using_it_too(app, runner, make_record):
    record = make_record(files=True)
    scan = record.files[0].document_sha256
    path_of(app, scan).unlink()

    result = runner.invoke(args=["files", "audit"])

    assert result.exit_code == 1, result.output
    assert f"MISSING: {path_of(app, scan)}" in result.output and f"expected sha256 {scan}" in result.output
    assert f"result {record.source_id} (files/a.pdf)" in result.output
    assert db.session.scalars(select(FixityProblem.outcome)).all() == ["missing"]


def test_problem_report_attachments_and_signed_copies_are_audited_too(app, runner, make_record):
    from portal.feedback.models import ProblemReport
    from portal.fixity import sources

    record = make_record()
    attachment = FileStore.from_config(app.config).put_bytes(b"%PDF-1.4 a photo of the wrong page")
    db.session.add(ProblemReport(reference="PB-2026-000001", record=record, unit=record.issuing_unit,
                                 kind="other", description="Sai tên", attachment_sha256=attachment))
    db.session.commit()
    path_of(app, attachment).unlink()

    result = runner.invoke(args=["files", "audit"])

    assert result.exit_code == 1 and f"MISSING: {path_of(app, attachment)}" in result.output
    assert "problem report PB-2026-000001" in result.output
    # Signed copies: their table is one of the sources (building an issued copy takes a signing key).
    assert "issued_copy" in str(sources.stored_hashes().compile())


def test_all_good_exits_0(app, runner):
    stored(app, 4)
    result = runner.invoke(args=["files", "audit"])
    assert result.exit_code == 0, result.output
    assert "checked 4 trên / of 4" in result.output and "ALTERED" not in result.output
    assert db.session.scalar(select(func.count()).select_from(FixityFile)) == 4


def test_sample_checks_that_many_files_at_random(app, runner):
    hashes = stored(app, 10)
    result = runner.invoke(args=["files", "audit", "--sample", "3"])
    assert result.exit_code == 0, result.output
    run = db.session.scalars(select(FixityRun)).one()
    assert (run.sample, run.planned, run.checked) == (3, 3, 3)
    assert len(set(db.session.scalars(select(FixityFile.sha256))) & set(hashes)) == 3
    assert runner.invoke(args=["files", "audit", "--sample", "0"]).exit_code == 2


def test_a_sample_of_the_whole_store_finds_the_bad_file(app, runner):
    hashes = stored(app, 5)
    alter(app, hashes[2])
    result = runner.invoke(args=["files", "audit", "--sample", "50"])
    assert result.exit_code == 1 and hashes[2] in result.output


def test_the_nightly_slice_covers_every_file_once_within_the_cycle(app):
    hashes = set(stored(app, 60))
    store = FileStore.from_config(app.config)
    day = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 01:00 in Hanoi
    checked_per_night = []
    for night in range(30):
        moment = day + timedelta(days=night)
        run = services.audit_files(db.session, store, actor="system", trigger="nightly",
                                   nightly_cycle_days=30, now=lambda moment=moment: moment)
        checked_per_night.append(set(db.session.scalars(select(FixityFile.sha256)
                                                        .where(FixityFile.last_run_id == run.id))))
        assert (run.planned, run.checked) == (2, 2)
    assert set().union(*checked_per_night) == hashes
    assert sum(map(len, checked_per_night)) == 60  # each file once: none checked twice in the cycle
    # The next cycle starts again with the file checked longest ago.
    run = services.audit_files(db.session, store, actor="system", trigger="nightly", nightly_cycle_days=30,
                               now=lambda: day + timedelta(days=30))
    again = set(db.session.scalars(select(FixityFile.sha256).where(FixityFile.last_run_id == run.id)))
    assert again == checked_per_night[0]


def test_the_nightly_slice_is_due_once_a_day_from_the_configured_hour_in_hanoi(app):
    hanoi_0030 = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)
    assert not services.nightly_due(db.session, hanoi_0030, 1)
    assert services.nightly_due(db.session, hanoi_0030 + timedelta(minutes=40), 1)
    db.session.add(FixityRun(trigger="nightly", started_at=hanoi_0030 + timedelta(minutes=40)))
    db.session.commit()
    assert not services.nightly_due(db.session, hanoi_0030 + timedelta(hours=12), 1)
    assert services.nightly_due(db.session, hanoi_0030 + timedelta(days=1, minutes=40), 1)


def test_the_periodic_task_runs_the_slice_when_due(make_app, monkeypatch):
    app = make_app(FIXITY_CYCLE_DAYS=2, FIXITY_HOUR=1)
    with app.app_context():
        stored(app, 5)
        monkeypatch.setattr(fixity_tasks, "utcnow", lambda: datetime(2026, 12, 4, 17, 30, tzinfo=UTC))
        assert fixity_tasks.nightly_slice.call_local() == 0  # 00:30 in Hanoi: not yet
        monkeypatch.setattr(fixity_tasks, "utcnow", lambda: datetime(2026, 12, 4, 18, 30, tzinfo=UTC))
        assert fixity_tasks.nightly_slice.call_local() == 3  # ceil(5 / 2)
        assert fixity_tasks.nightly_slice.call_local() == 0  # done for today
        assert db.session.scalars(select(FixityRun.trigger)).all() == ["nightly"]


def test_a_failed_run_mails_each_admin_once_and_is_audited(make_app, smtp_server, make_staff):
    app = make_app(**smtp_server.config(ADMIN_EMAILS="ops@example.vn, OPS@example.vn"))
    with app.app_context():
        admin = make_staff(role="admin")
        make_staff(role="clerk")
        make_staff(role="admin", active=False)
        hashes = stored(app, 3)
        alter(app, hashes[0])
        path_of(app, hashes[1]).unlink()

        result = app.test_cli_runner().invoke(args=["files", "audit"])

        assert result.exit_code == 1
        assert sorted(m["To"] for m in smtp_server.messages) == sorted(["ops@example.vn", admin.email])
        for message in smtp_server.messages:
            subject = message["Subject"]
            assert "2 tệp mất hoặc bị thay đổi / Fixity check: 2 files missing or altered" in subject
            body = message.get_body(("plain",)).get_content()
            assert str(path_of(app, hashes[0])) in body and str(path_of(app, hashes[1])) in body
            assert "Restore them from the backup" in body and hashes[2] not in body
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "files.audit")).one()
        assert entry.details["altered"] == 1 and entry.details["missing"] == 1 and entry.channel == "cli"

        shutil.copy(path_of(app, hashes[2]), path_of(app, hashes[1]))  # the wrong bytes back: still bad
        assert app.test_cli_runner().invoke(args=["files", "audit"]).exit_code == 1
        assert len(smtp_server.messages) == 4  # one more mail per admin for the second run, no more


def test_a_good_run_mails_nobody(make_app, smtp_server, make_staff):
    app = make_app(**smtp_server.config())
    with app.app_context():
        make_staff(role="admin")
        stored(app, 2)
        assert app.test_cli_runner().invoke(args=["files", "audit"]).exit_code == 0
        assert smtp_server.messages == []


def test_check_file_tells_unreadable_from_missing(app):
    [sha256] = stored(app, 1)
    store = FileStore.from_config(app.config)
    path = path_of(app, sha256)
    path.unlink()
    assert check_file(store, sha256).outcome is Outcome.MISSING
    path.mkdir()  # something is there, but not a file that can be read
    finding = check_file(store, sha256)
    assert finding.outcome is Outcome.UNREADABLE and "IsADirectoryError" in finding.found


def test_admins_see_the_runs_and_what_they_found(app, client, runner, make_staff, login_staff):
    hashes = stored(app, 2)
    alter(app, hashes[1])
    runner.invoke(args=["files", "audit"])
    run = db.session.scalars(select(FixityRun)).one()

    clerk_client = app.test_client()
    login_staff(clerk_client, make_staff(role="clerk"))
    assert clerk_client.get("/staff/admin/fixity").status_code == 403
    assert clerk_client.get(f"/staff/admin/fixity/{run.id}").status_code == 403
    assert app.test_client().get("/staff/admin/fixity").status_code == 302

    login_staff(client, make_staff(role="admin"))
    page = client.get("/staff/admin/fixity").get_data(as_text=True)
    assert f"/staff/admin/fixity/{run.id}" in page and "Có tệp lỗi" in page  # "Problems found"
    detail = client.get(f"/staff/admin/fixity/{run.id}").get_data(as_text=True)
    assert hashes[1] in detail and str(path_of(app, hashes[1])) in detail and hashes[0] not in detail
    assert client.get("/staff/admin/fixity/999999").status_code == 404


@pytest.fixture
def make_record(db_session, app):
    from tests.web.conftest import make_record as build_records

    return build_records.__wrapped__(db_session, _add_document(db_session, app))


def _add_document(db_session, app):
    from tests.web.conftest import add_document

    return add_document.__wrapped__(db_session, FileStore.from_config(app.config))
