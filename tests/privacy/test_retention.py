"""The daily retention job with a clock set by hand: what is older than its period goes, what is
recent stays, a file another row still uses stays, the audit chain is never touched, each run is
audited with its counts; bad settings are refused at boot."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal import audit, outbox
from portal.audit import AuditEntry
from portal.db import utcnow
from portal.feedback.models import ProblemReport
from portal.files.store import FileStore
from portal.privacy import retention, tasks
from portal.records import services as record_services
from tests.privacy.conftest import CITIZEN_ID

#: "Now" for the job: far enough ahead that what the test makes today is old.
AHEAD = timedelta(days=400)


def _case(db_session, record, store, *, content: bytes | None, state: str, resolved_at) -> ProblemReport:
    sha = store.put_bytes(content) if content is not None else None
    case = ProblemReport(reference=f"PB-T-{record.id}-{state[:3]}-{len(content or b'')}", record=record,
                         unit=record.issuing_unit, kind="other", description="Mô tả sai sót đủ dài",
                         state=state, resolved_at=resolved_at, attachment_sha256=sha,
                         attachment_name="anh.jpg" if sha else "",
                         attachment_media_type="image/jpeg" if sha else "")
    db_session.add(case)
    return case


def test_old_things_go_recent_ones_stay_and_the_chain_holds(app, own_record, make_staff, db_session):
    config = app.config
    now = utcnow() + AHEAD
    store = FileStore.from_config(config)
    record = own_record(CITIZEN_ID, access="personal", files=True)
    record_services.view_record(db_session, record.source_id, actor=make_staff(role="clerk"))
    audit.record(db_session, "system", "privacy.retention", "retention:earlier", channel="worker")
    db_session.commit()  # a later entry: the clerk's look is not the chain's head, which always stays
    scan_sha = record.files[0].document_sha256
    old_case = _case(db_session, record, store, content=b"old attachment", state="dismissed",
                     resolved_at=utcnow())
    recent_case = _case(db_session, record, store, content=b"recent attachment", state="corrected",
                        resolved_at=now - timedelta(days=10))
    open_case = _case(db_session, record, store, content=b"open attachment", state="open", resolved_at=None)
    # The same bytes as a result's scan: the case forgets it, the store keeps it.
    with store.open(scan_sha) as handle:
        scan_bytes = handle.read()
    shared_case = _case(db_session, record, store, content=scan_bytes, state="dismissed",
                        resolved_at=utcnow())
    outbox.add(db_session, "email.follow", 1)
    outbox.add(db_session, "search.index", 2)  # not a mail: not this job's
    db_session.commit()
    db_session.add(outbox.OutboxItem(topic="email.privacy", key="3", payload={},
                                     created_at=now - timedelta(days=1)))
    db_session.commit()
    folder = Path(config["DATA_DIR"]) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    old_eml, new_eml, other = folder / "old.eml", folder / "new.eml", folder / "notes.txt"
    for path in (old_eml, new_eml, other):
        path.write_text("x")
    os.utime(old_eml, (now.timestamp() - 91 * 86400,) * 2)
    os.utime(other, (now.timestamp() - 91 * 86400,) * 2)
    os.utime(new_eml, (now.timestamp() - 89 * 86400,) * 2)
    config.update(RETENTION_MAIL_DAYS=90, RETENTION_UPLOAD_DAYS=365, RETENTION_ACCESS_LOG_DAYS=300)
    entries_before = db_session.scalar(select(func.count()).select_from(AuditEntry))
    old_sha, recent_sha, open_sha = (old_case.attachment_sha256, recent_case.attachment_sha256,
                                     open_case.attachment_sha256)

    report = retention.run(db_session, config, now)

    counts = (report.mail_files, report.unsent_mails, report.attachments, report.attachment_files)
    assert counts == (1, 1, 2, 1)
    assert report.access_log_removed >= 1
    looks = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "record.view")
    assert db_session.scalar(looks) == 0  # the clerk's look, older than RETENTION_ACCESS_LOG_DAYS, left
    assert not old_eml.exists() and new_eml.exists() and other.exists()
    topics = db_session.scalars(select(outbox.OutboxItem.topic).order_by(outbox.OutboxItem.id)).all()
    assert topics == ["search.index", "email.privacy"]
    db_session.expire_all()
    assert db_session.get(ProblemReport, old_case.id).attachment_sha256 is None
    assert db_session.get(ProblemReport, old_case.id).attachment_name == "anh.jpg"
    assert db_session.get(ProblemReport, shared_case.id).attachment_sha256 is None
    assert not store.exists(old_sha) and store.exists(scan_sha)
    assert store.exists(recent_sha) and store.exists(open_sha)
    # The old entries went, after the marker of where the chain starts; it still holds end to end.
    after = db_session.scalar(select(func.count()).select_from(AuditEntry))
    assert after == entries_before - report.access_log_removed + 2  # + the marker + the run's entry
    run_entry = db_session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert run_entry.action == "privacy.retention" and run_entry.details["attachments"] == 2
    assert audit.verify(db_session).ok

    again = retention.run(db_session, config, now)  # nothing twice
    assert (again.mail_files, again.unsent_mails, again.attachments) == (0, 0, 0)


def test_the_daily_task_runs_the_job(app, db_session):
    assert tasks.enforce_retention.call_local()["attachments"] == 0
    last = db_session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1))
    assert last == "privacy.retention"


@pytest.mark.parametrize("bad", [0, -3, "30", 1.5, True, None])
def test_a_bad_retention_setting_is_refused_at_boot(bad, make_app):
    with pytest.raises(RuntimeError, match="RETENTION_MAIL_DAYS"):
        make_app(RETENTION_MAIL_DAYS=bad)


def test_the_notice_shows_the_live_settings_and_the_contact(make_app):
    app = make_app(RETENTION_MAIL_DAYS=45, RETENTION_UPLOAD_DAYS=200, LOGIN_SESSION_RETENTION_DAYS=12,
                   PRIVACY_CONTACT_EMAIL="dpo@example.vn", PRIVACY_CONTROLLER="UBND thành phố Hà Nội")
    with app.app_context():
        page = app.test_client().get("/privacy?lang=en")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-setting="mail">45 days' in text and 'data-setting="uploads">200 days' in text
    assert 'data-setting="sessions">12 days' in text and 'data-setting="access_log">1825 days' in text
    assert 'href="mailto:dpo@example.vn"' in text and "UBND thành phố Hà Nội" in text
    assert "91/2025/QH15" in text and "356/2025/ND-CP" in text
    assert 'href="/privacy"' in app.test_client().get("/").get_data(as_text=True)  # the footer's link
