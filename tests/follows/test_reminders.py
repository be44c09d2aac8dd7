"""The daily job: reminders 60, 30 and 7 days before a followed result ends, mails on a change of
status, a correction and a replacing result, each sent once, through the real SMTP server, with
Hanoi's clock moved by hand."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from portal import outbox
from portal.extensions import db
from portal.feedback.models import RecordCorrection
from portal.follows import events, services
from portal.follows import tasks as follow_tasks
from portal.follows.mails import TOPIC
from portal.follows.models import FollowNotice
from portal.identity.models import Citizen
from portal.procedures.models import Procedure
from portal.records.models import ResultStatus, StatusChange
from tests.at_once import run_at_once
from tests.follows.conftest import BASE, CITIZEN_ID, ENDS


def body(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def holder(own_record, db_session):
    """holder(**fields) → (account, its personal result, followed at lan@example.vn)."""

    def build(**fields):
        record = own_record(CITIZEN_ID, access="personal", valid_to=ENDS, doc_type_name="Giấy phép lái xe",
                            **fields)
        citizen = db_session.scalar(select(Citizen).where(Citizen.subject_id == record.subject_id))
        if citizen is None:
            citizen = Citizen(issuer="https://sso.example.vn", sub=CITIZEN_ID, name="Nguyễn Thị Lan",
                              subject=record.subject, loa=2)
            db_session.add(citizen)
            db_session.flush()
        services.follow(db_session, citizen, record.source_id, "lan@example.vn")
        db_session.commit()
        return citizen, record

    return build


@pytest.fixture
def catalogued(db_session):
    """catalogued(record, flag): whether the record's procedure is in the national catalogue, put
    back afterwards (procedures are reference data, kept between tests on PostgreSQL)."""
    changed = {}

    def put(record, flag: bool) -> Procedure:
        procedure = db_session.get(Procedure, record.procedure_code)
        changed.setdefault(procedure.code, procedure.catalogued)
        procedure.catalogued = flag
        db_session.commit()
        return procedure

    yield put
    for code, flag in changed.items():
        db_session.get(Procedure, code).catalogued = flag
    db_session.commit()


def run_job() -> int:
    return follow_tasks.send_follow_notices.call_local()


def test_reminders_60_30_and_7_days_before_the_end_each_once(holder, set_today, smtp_server):
    _, record = holder()
    set_today(ENDS - timedelta(days=61))
    assert run_job() == 0 and smtp_server.messages == []
    set_today(ENDS - timedelta(days=60))
    assert run_job() == 1
    set_today(ENDS - timedelta(days=59))
    assert run_job() == 0  # the 60-day reminder is sent once
    set_today(ENDS - timedelta(days=30))
    assert run_job() == 1
    assert run_job() == 0  # a second run the same morning sends nothing
    set_today(ENDS - timedelta(days=7))
    assert run_job() == 1
    set_today(ENDS)
    assert run_job() == 0
    assert [m["Subject"] for m in smtp_server.messages] == [
        f"Kết quả ông/bà theo dõi sắp hết hiệu lực ({days} ngày) / A result you follow expires in {days} days"
        for days in (60, 30, 7)]
    assert all(r.envelope_to == ["lan@example.vn"] for r in smtp_server.received)


def test_a_reminder_reads_vietnamese_then_english_and_links_the_renewal_procedure(
        holder, set_today, smtp_server, catalogued):
    _, record = holder()
    procedure = catalogued(record, True)
    set_today(ENDS - timedelta(days=30))
    run_job()
    [message] = smtp_server.messages
    text = body(message)
    assert text.index("sẽ hết hiệu lực ngày 30/06/2027") < text.index("expires on 30/06/2027")
    assert f"{BASE}/results/{record.source_id}" in text
    assert ("https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html"
            f"?ma_thu_tuc={procedure.code}") in text
    # E-mail is not a secure channel: a personal result is named by its type, never its number.
    assert "Giấy phép lái xe" in text and record.number_display not in text
    assert record.subject.id_number not in text
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<{BASE}/follows/unfollow/") and unsubscribe.strip("<>") in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_no_renewal_link_for_a_procedure_outside_the_national_catalogue(holder, set_today, smtp_server,
                                                                       catalogued):
    _, record = holder()
    catalogued(record, False)
    set_today(ENDS - timedelta(days=7))
    run_job()
    assert "dichvucong.gov.vn" not in body(smtp_server.messages[0])


def test_followed_late_one_reminder_not_three_and_none_for_a_result_no_longer_valid(holder, set_today,
                                                                                     smtp_server, db_session):
    _, record = holder()
    set_today(ENDS - timedelta(days=20))
    assert run_job() == 1
    assert "(30 ngày)" in smtp_server.messages[0]["Subject"]
    record.status = ResultStatus.REVOKED.value
    db_session.commit()
    set_today(ENDS - timedelta(days=7))
    run_job()
    assert "(7 ngày)" not in " ".join(m["Subject"] for m in smtp_server.messages)


def test_a_revocation_a_correction_and_a_replacement_are_each_mailed_once(holder, make_record, smtp_server,
                                                                          db_session, set_today, make_staff,
                                                                          catalogued):
    _, record = holder()
    catalogued(record, True)
    set_today(ENDS - timedelta(days=200))
    record.status_history.append(StatusChange(old_status="valid", new_status="revoked", actor="staff:1",
                                              reason="thu hồi"))
    record.status = "revoked"
    db_session.add(RecordCorrection(record_id=record.id, staff_id=make_staff().id, reason="sai ngày cấp",
                                    before={"issued_date": "2019-05-13"},
                                    after={"issued_date": "2019-05-14"}))
    db_session.commit()
    assert run_job() == 2
    # A replacing result arrives; the import marks the old one replaced: one mail for both.
    make_record(replaces_source_id=record.source_id, doc_number="900", doc_type_name="Giấy phép lái xe")
    record.status_history.append(StatusChange(old_status="revoked", new_status="replaced", actor="import:2"))
    record.status = "replaced"
    db_session.commit()
    assert run_job() == 1
    assert run_job() == 0
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert sorted(subjects) == sorted([
        "Kết quả ông/bà theo dõi đã bị thu hồi / A result you follow was revoked",
        "Kết quả ông/bà theo dõi đã được đính chính / A result you follow was corrected",
        "Đã có kết quả thay thế kết quả ông/bà theo dõi / A result replacing the one you follow has arrived"])
    replacement = body(smtp_server.messages[-1])
    assert replacement.count("900/GPXD") == 2  # the replacing result is public: named and linked, twice
    assert "dichvucong.gov.vn" not in replacement  # no renewal to make: the new result is there
    revoked = next(body(m) for m in smtp_server.messages if "thu hồi" in m["Subject"])
    assert "dichvucong.gov.vn" in revoked and "ngày" not in revoked.split("Dear Sir or Madam")[1]


def test_events_before_the_follow_began_are_not_news(own_record, db_session, smtp_server, set_today):
    record = own_record(CITIZEN_ID, access="personal", valid_to=ENDS)
    record.status_history.append(StatusChange(old_status="valid", new_status="revoked", actor="staff:1"))
    db_session.commit()
    citizen = Citizen(issuer="https://sso.example.vn", sub="lan", subject=record.subject, loa=2)
    db_session.add(citizen)
    services.follow(db_session, citizen, record.source_id, "lan@example.vn")
    db_session.commit()
    set_today(ENDS - timedelta(days=100))
    assert run_job() == 0 and smtp_server.messages == []


def test_two_runs_racing_for_the_same_events_queue_each_mail_once(holder, set_today, smtp_server, db_session):
    """Both runs found the same events; the second one's notices hit the unique constraint."""
    holder()
    set_today(ENDS - timedelta(days=30))
    found_by_first = events.find_due(db.session, ENDS - timedelta(days=30), [60, 30, 7])
    found_by_second = list(found_by_first)
    assert events.queue(db.session, found_by_first) == 1
    assert events.queue(db.session, found_by_second) == 0
    assert len(smtp_server.messages) == 1
    assert db_session.scalar(select(func.count()).select_from(FollowNotice)) == 1


def test_a_mail_waiting_when_the_follow_stops_is_not_sent(holder, set_today, smtp_server, db_session):
    citizen, _ = holder()
    smtp_server.stop()  # the mail waits in the outbox
    set_today(ENDS - timedelta(days=7))
    run_job()
    assert outbox.pending(db_session, [TOPIC]) == 1
    (follow,) = services.list_follows(db_session, citizen).follows
    services.unfollow_own(db_session, citizen, follow.id)
    db_session.commit()
    smtp_server.start()
    from portal.mail_outbox import drain_mail

    report = drain_mail(db_session)
    assert (report.sent, report.skipped) == (0, 1) and smtp_server.messages == []


def test_the_reminder_days_are_a_setting(make_app):
    app = make_app(FOLLOW_REMINDER_DAYS="90, 14")
    assert follow_tasks.reminder_days(app.config) == [90, 14]
    assert follow_tasks.reminder_days(make_app(FOLLOW_REMINDER_DAYS=30).config) == [30]
    for bad in ("", "30,abc", "0", "-7"):
        with pytest.raises(RuntimeError, match="FOLLOW_REMINDER_DAYS"):
            make_app(FOLLOW_REMINDER_DAYS=bad)


@pytest.mark.skipif(os.environ.get("PORTAL_TEST_DB", "sqlite") != "postgresql",
                    reason="two writers at once need a server database (SQLite serializes writes)")
def test_two_workers_at_the_same_moment_send_one_mail(app, holder, set_today, smtp_server, db_session):
    """Two connections insert the same notice at once: PostgreSQL makes the second wait for the
    first's commit, then refuses it on the unique constraint; one mail leaves."""
    holder()
    due = events.find_due(db.session, ENDS - timedelta(days=30), [60, 30, 7])
    db.session.rollback()
    start = threading.Barrier(2)
    queued: list[int] = []

    def worker() -> None:
        with app.app_context():
            start.wait()
            queued.append(events.queue(db.session, list(due)))
            db.session.remove()

    run_at_once(worker, worker)
    assert sorted(queued) == [0, 1]
    assert len(smtp_server.messages) == 1
