"""Corrections of a result (portal.feedback.corrections), service level: what is kept, what is
refused, what is reindexed, and what the reporter is told."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from portal import outbox
from portal.errors import Forbidden, NotFound
from portal.feedback import corrections, reports
from portal.feedback.models import ReportState
from portal.records.models import Record
from portal.search.service import search_records
from portal.search.tasks import nudge as search_nudge
from portal.text import ident_key
from portal.units.models import AdminUnit, UnitLevel, UnitSystem
from tests.web.conftest import legacy_unit_with_successor

AT = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def ward(db_session):
    (link,) = legacy_unit_with_successor(db_session, partial=False).successor_links
    return link.new_unit


@pytest.fixture
def clerk(make_staff, ward):
    return make_staff(role="clerk", units=[ward], full_name="Phạm Thu Hà")


def pending(session, topic: str) -> list[str]:
    return list(session.scalars(select(outbox.OutboxItem.key).where(outbox.OutboxItem.topic == topic)
                                .order_by(outbox.OutboxItem.id)))


def test_a_correction_keeps_the_previous_values_the_reason_and_the_clerk(db_session, make_record, clerk):
    record = make_record(valid_to=None)
    correction = corrections.correct(db_session, clerk, record, {
        "issued_date": "2019-05-15", "valid_to": "31/12/2029", "doc_notation": "GPXD-UBND",
        "summary": record.summary, "unknown": "ignored"}, "Sai ngày cấp so với bản gốc", now=AT)
    db_session.commit()
    assert correction.before == {"issued_date": "2019-05-14", "valid_to": None, "doc_notation": "GPXD"}
    assert correction.after == {"issued_date": "2019-05-15", "valid_to": "2029-12-31",
                                "doc_notation": "GPXD-UBND"}
    assert (correction.staff_id, correction.reason, correction.at) == \
        (clerk.id, "Sai ngày cấp so với bản gốc", AT)
    assert record.issued_date == date(2019, 5, 15) and record.number_display.endswith("/GPXD-UBND")
    assert record.number_key == ident_key(record.number_display)  # found by its new number too
    assert pending(db_session, "search.upsert") == [record.source_id]
    second = corrections.correct(db_session, clerk, record, {"signer_title": "Chủ tịch"}, "Sai chức vụ")
    db_session.commit()
    assert [c.id for c in corrections.list_history(db_session, record)] == [correction.id, second.id]


def test_the_holders_name_is_corrected_on_every_result_of_the_holder(app, db_session, make_record, clerk):
    first = make_record(holder="Công ty TNHH Hoa Sen", id_number="0101999888")
    second = make_record(holder="x", id_number="0101999887")
    second.subject = first.subject  # the same enterprise holds both
    db_session.commit()
    corrections.correct(db_session, clerk, first, {"holder_name": "Công ty TNHH Bạch Dương"}, "Sai tên")
    db_session.commit()
    assert sorted(pending(db_session, "search.upsert")) == sorted([first.source_id, second.source_id])
    search_nudge()
    found = search_records(db_session, "Bạch Dương", today=date(2026, 12, 2))
    assert sorted(hit.record.source_id for hit in found.hits) == sorted([first.source_id, second.source_id])


def test_a_status_correction_appends_to_the_status_history(db_session, make_record, clerk):
    record = make_record(history=[])
    corrections.correct(db_session, clerk, record, {"status": "annulled"}, "Quyết định hủy số 5/QĐ", now=AT)
    db_session.commit()
    db_session.expire_all()
    record = db_session.get(Record, record.id)
    [change] = record.status_history
    assert (change.old_status, change.new_status, change.actor) == ("valid", "annulled", clerk.audit_name)
    assert "Quyết định hủy số 5/QĐ" in change.reason and record.status_changed_at == AT


@pytest.mark.parametrize(("changes", "reason", "field", "code"), [
    ({"summary": "Khác"}, "  ", "reason", "reason"),
    ({"summary": ""}, "Lý do", "summary", "required"),
    ({"doc_number": "1" * 12}, "Lý do", "doc_number", "too_long"),
    ({"issued_date": "32/13/2019"}, "Lý do", "issued_date", "date"),
    ({"valid_to": "2019-01-01"}, "Lý do", "valid_to", "date_order"),
    ({"status": "lost"}, "Lý do", "status", "status"),
    ({"holder_name": " Công ty  TNHH   Hoa Sen "}, "Lý do", "", "no_change"),
])
def test_refusals_name_the_field_and_change_nothing(app, db_session, make_record, clerk, changes, reason,
                                                   field, code):
    record = make_record(holder="Công ty TNHH Hoa Sen")
    with pytest.raises(corrections.InvalidCorrection) as refused:
        corrections.correct(db_session, clerk, record, changes, reason)
    assert (refused.value.field, refused.value.code) == (field, code)
    with app.test_request_context():
        assert refused.value.message() not in ("", code)  # a sentence for the form, never a code
    db_session.rollback()
    assert corrections.list_history(db_session, record) == []
    assert pending(db_session, "search.upsert") == []


def test_only_clerks_of_the_handling_unit_may_correct(db_session, make_record, make_staff, clerk):
    record = make_record()
    admin = make_staff(role="admin", units=list(clerk.units))
    elsewhere = db_session.scalar(select(AdminUnit).where(
        AdminUnit.system == UnitSystem.CURRENT, AdminUnit.level == UnitLevel.COMMUNE,
        AdminUnit.id != clerk.units[0].id).order_by(AdminUnit.code))
    for someone in (admin, make_staff(role="clerk", units=[elsewhere])):
        with pytest.raises(Forbidden):
            corrections.correct(db_session, someone, record, {"summary": "Khác"}, "Lý do")
        with pytest.raises(NotFound):
            corrections.get_correctable(db_session, someone, record.source_id)
    supervisor = make_staff(role="supervisor", units=list(clerk.units))
    assert corrections.correct(db_session, supervisor, record, {"summary": "Khác hẳn"}, "Lý do").id


def test_a_correction_closes_its_report_and_queues_the_mail(db_session, make_record, clerk):
    record = make_record()
    report = reports.submit_report(db_session, None, record.source_id, "wrong_date", "Ngày cấp bị sai.",
                                   reporter_name="Lan", reporter_email="lan@example.vn")
    other = reports.submit_report(db_session, None, make_record().source_id, "other", "Thiếu thông tin.",
                                  reporter_name="Lan", reporter_email="lan@example.vn")
    db_session.commit()
    with pytest.raises(NotFound):  # a report about another result
        corrections.correct(db_session, clerk, record, {"summary": "Khác"}, "Lý do", report=other)
    correction = corrections.correct(db_session, clerk, record, {"issued_date": "2019-05-15"}, "Theo bản gốc",
                                     report=report, now=AT)
    db_session.commit()
    assert (report.state, report.resolved_by_id, report.resolved_at) == (ReportState.CORRECTED, clerk.id, AT)
    assert correction.report_id == report.id
    assert f"report:corrected:{report.id}" in pending(db_session, "email.feedback")
    with pytest.raises(reports.CaseClosed):
        corrections.correct(db_session, clerk, record, {"summary": "Khác"}, "Lý do", report=report)
