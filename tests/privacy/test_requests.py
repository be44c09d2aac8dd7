"""Correction, objection and restriction requests from /my/data, their deadlines from the data file,
and the staff side: the list with what is overdue, the answer mailed, the role guard."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import flask_babel
import pytest
from sqlalchemy import select

from portal import clock
from portal.audit import AuditEntry
from portal.feedback.models import ProblemReport
from portal.identity.models import Citizen
from portal.privacy import deadlines, services
from portal.privacy.models import DataRightsRequest
from tests.conftest import csrf_token
from tests.privacy.conftest import CITIZEN_ID, OTHER_ID


def send(client, url: str, **fields):
    return client.post(url, data={"csrf_token": csrf_token(client, "/my/data"), **fields})


def requests(db_session) -> list[DataRightsRequest]:
    db_session.expire_all()
    return db_session.scalars(select(DataRightsRequest).order_by(DataRightsRequest.id)).all()


def test_the_deadlines_file_is_complete_and_says_what_is_unconfirmed():
    table = deadlines.load()
    assert set(table) == {"export", "correction", "objection", "restriction"}
    for deadline in table.values():
        assert "91/2025/QH15" in deadline.basis_vi and "91/2025/QH15" in deadline.basis_en
        assert deadline.confirmed or "pháp chế" in deadline.basis_vi
    assert (table["objection"].days, table["objection"].unit) == (15, "days")
    with pytest.raises(ValueError):
        deadlines.parse({"x": {"days": 0, "unit": "days", "acknowledge_working_days": 2,
                               "basis_vi": "", "basis_en": ""}})


def test_due_dates_count_days_working_days_and_hours():
    calendar = clock.load_calendar()
    friday = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # 10:00 in Hanoi
    days = deadlines.Deadline("k", 15, "days", 2, "", "", False)
    assert clock.in_hanoi(days.due_at(friday, calendar)) == datetime(2026, 12, 19, 17, 0, tzinfo=clock.HANOI)
    assert clock.in_hanoi(days.acknowledge_by(friday, calendar)).date().isoformat() == "2026-12-08"  # Tuesday
    working = deadlines.Deadline("k", 2, "working_days", 2, "", "", False)
    assert clock.in_hanoi(working.due_at(friday, calendar)).date().isoformat() == "2026-12-08"
    hours = deadlines.Deadline("k", 72, "hours", 0, "", "", False)
    assert hours.due_at(friday, calendar) == friday + timedelta(hours=72)


def test_a_correction_becomes_a_problem_report_case_and_a_request(client, login_citizen, own_record,
                                                                  db_session):
    record = own_record(CITIZEN_ID, access="personal", doc_type_name="Trích lục khai sinh")
    login_citizen(client, "citizen")
    page = client.get("/my/data").get_data(as_text=True)
    assert f'<option value="{record.source_id}">' in page
    answer = send(client, "/my/data/correction", result=record.source_id, problem="wrong_date",
                  description="Ngày sinh đúng là 12/03/1985, không phải 21/03/1985.", email="lan@example.vn")
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    [made] = requests(db_session)
    case = db_session.scalar(select(ProblemReport))
    assert (made.kind, made.state, made.case_reference) == ("correction", "in_progress", case.reference)
    assert (case.kind, case.record_id, case.reporter_email) == ("wrong_date", record.id, "lan@example.vn")
    assert made.due_at - made.received_at <= timedelta(days=11)
    listed = client.get("/my/data").get_data(as_text=True)
    assert made.reference in listed and case.reference in listed


def test_a_correction_of_someone_elses_result_is_refused(client, login_citizen, own_record, db_session):
    theirs = own_record(OTHER_ID, access="personal")
    own_record(CITIZEN_ID, access="personal")
    login_citizen(client, "citizen")
    answer = send(client, "/my/data/correction", result=theirs.source_id, problem="other",
                  description="Một mô tả đủ dài cho yêu cầu.")
    assert answer.status_code == 400 and 'class="field-error"' in answer.get_data(as_text=True)
    assert requests(db_session) == [] and db_session.scalar(select(ProblemReport)) is None
    short = send(client, "/my/data/correction", result="HN-NO-SUCH", problem="other", description="ngắn")
    assert short.status_code == 400


@pytest.mark.parametrize("kind", ["objection", "restriction"])
def test_an_objection_or_restriction_gets_the_deadline_of_the_data_file(kind, client, login_citizen,
                                                                        db_session):
    login_citizen(client, "citizen")
    answer = send(client, "/my/data/objection", kind=kind, scope="email_reminders",
                  reason="Tôi không muốn nhận thư nhắc.")
    assert answer.status_code == 303
    [made] = requests(db_session)
    deadline = deadlines.load()[kind]
    assert made.kind == kind and made.state == "received" and made.scope == "email_reminders"
    assert made.due_at == deadline.due_at(made.received_at, clock.load_calendar())
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.request"))
    assert entry.details == {"kind": kind, "scope": "email_reminders"}


def test_processing_required_by_law_cannot_be_objected_to(client, login_citizen, db_session):
    login_citizen(client, "citizen")
    for fields in ({"kind": "objection", "scope": "results"}, {"kind": "erasure", "scope": "email_reminders"},
                   {"kind": "objection", "scope": "public_search", "email": "not-an-address"},
                   {"kind": "objection", "scope": "public_search", "reason": "x" * 3001}):
        answer = send(client, "/my/data/objection", **fields)
        assert answer.status_code == 400, fields
        assert 'class="field-error"' in answer.get_data(as_text=True)
    assert requests(db_session) == []
    flask_babel.refresh()  # the test's app context outlives requests: forget the Vietnamese chosen above
    assert "cannot be stopped on request" in client.get("/my/data?lang=en").get_data(as_text=True)


def test_forms_need_their_token(client, login_citizen, db_session):
    login_citizen(client, "citizen")
    answer = client.post("/my/data/objection", data={"kind": "objection", "scope": "public_search"})
    assert answer.status_code == 400
    assert requests(db_session) == []


@pytest.fixture
def waiting(app, login_citizen, db_session):
    """Three open requests of the citizen: overdue, due soon, and due later."""
    client = app.test_client()
    login_citizen(client, "citizen")
    citizen = db_session.scalar(select(Citizen))
    now = datetime.now(UTC)
    with app.test_request_context():
        made = [services.request_objection(db_session, citizen, "objection", "public_search", "Lý do",
                                           email="lan@example.vn", now=now - timedelta(days=age))
                for age in (20, 14, 0)]
    db_session.commit()
    return made


def test_staff_see_the_requests_soonest_due_first_with_the_late_ones_marked(client, make_staff, login_staff,
                                                                           waiting):
    login_staff(client, make_staff(role="supervisor"))
    page = client.get("/staff/privacy/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    positions = [text.index(item.reference) for item in waiting]
    assert positions == sorted(positions)
    row = r'data-urgency="{}">\s*<th scope="row"><a href="/staff/privacy/{}"'
    assert re.search(row.format("overdue", waiting[0].reference), text)
    assert re.search(row.format("soon", waiting[1].reference), text)
    assert 'id="overdue-count"' in text


def test_a_supervisor_answers_and_the_person_is_mailed(client, make_staff, login_staff, waiting, db_session,
                                                       smtp_server):
    item = waiting[0]
    supervisor = make_staff(role="supervisor")
    login_staff(client, supervisor)
    url = f"/staff/privacy/{item.reference}"
    assert client.get(url).status_code == 200
    token = csrf_token(client, url)
    short = client.post(f"{url}/answer", data={"csrf_token": token, "note": "ngắn", "decision": "answer"})
    assert short.status_code == 400
    done = client.post(f"{url}/answer", data={"csrf_token": token, "decision": "refuse",
                                              "note": "Kết quả công khai phải hiển thị theo quy định."})
    assert done.status_code == 302
    db_session.expire_all()
    item = db_session.get(DataRightsRequest, item.id)
    assert (item.state, item.staff_id) == ("refused", supervisor.id) and item.answered_at is not None
    [message] = smtp_server.messages
    assert message["To"] == "lan@example.vn" and item.reference in message["Subject"]
    assert "phải hiển thị" in message.get_content()
    actions = db_session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_ref == f"data_rights_request:{item.reference}")).all()
    assert "privacy.refuse" in actions and "privacy.request_view" in actions
    again = client.post(f"{url}/answer", data={"csrf_token": token, "decision": "answer",
                                               "note": "Một câu trả lời khác đủ dài."})
    assert again.status_code == 400


@pytest.mark.parametrize("role", ["clerk", "operator"])
def test_other_roles_are_refused(role, client, make_staff, login_staff, waiting):
    login_staff(client, make_staff(role=role))
    assert client.get("/staff/privacy/").status_code == 403
    assert client.get(f"/staff/privacy/{waiting[0].reference}").status_code == 403


def test_an_admin_handles_them_and_an_unknown_reference_is_404(client, make_staff, login_staff, waiting):
    login_staff(client, make_staff(role="admin"))
    assert client.get("/staff/privacy/?tab=closed").status_code == 200
    assert client.get("/staff/privacy/DL-2026-999999").status_code == 404
    assert client.get("/staff/privacy/?tab=nonsense&page=x").status_code == 200


def test_list_pages_run_a_fixed_number_of_statements(app, client, login_citizen, make_staff, login_staff,
                                                      db_session):
    from tests.web.test_sql_budget import statements_for

    login_citizen(client, "citizen")
    citizen = db_session.scalar(select(Citizen))
    staff_client = app.test_client()
    login_staff(staff_client, make_staff(role="supervisor"))

    def add(n: int) -> None:
        with app.test_request_context():
            for _ in range(n):
                services.request_objection(db_session, citizen, "restriction", "usage_statistics", "")
        db_session.commit()

    add(1)
    few = statements_for(client, "/my/data"), statements_for(staff_client, "/staff/privacy/")
    add(9)
    many = statements_for(client, "/my/data"), statements_for(staff_client, "/staff/privacy/")
    assert few == many, (few, many)
    assert few[0] <= 25 and few[1] <= 12, few
