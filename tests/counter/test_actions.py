"""Actions for the person: a copy request filed in her account with the citizen's rules, a rating,
each on her access log and the audit chain as done by the clerk for her; the summary lists them;
the results list runs a fixed number of statements."""

from __future__ import annotations

from sqlalchemy import select

from portal.audit import AuditEntry
from portal.copy_requests.models import CopyRequest
from portal.feedback import ratings
from portal.feedback.models import Rating
from tests.counter.conftest import CONTACT, post
from tests.web.test_sql_budget import counting


def _entries(db_session, action: str) -> list[AuditEntry]:
    db_session.expire_all()
    return list(db_session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_copy_request_and_a_rating_for_the_person_are_on_her_access_log(
        app, client, world, open_counter, db_session, smtp_server, login_citizen):
    open_counter(client)
    page = f"/staff/counter/results/{world.mine.source_id}/copy-request"
    form = client.get(page)
    # Prefilled with the contact on file.
    assert form.status_code == 200 and CONTACT in form.get_data(as_text=True)
    response = post(client, page, {"kind": "electronic", "copies": "1", "purpose": "Vay vốn ngân hàng",
                                   "email": CONTACT}, token_page=page)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    made = db_session.scalar(select(CopyRequest))
    assert made.requester_id == world.account.id and made.fee_vnd >= 0 and made.email == CONTACT
    [entry] = _entries(db_session, "counter.copy_request")
    assert entry.subject_id == world.person.id and entry.details["copy_request"] == made.reference
    assert entry.object_ref == f"record:{world.mine.source_id}" and entry.channel == "counter"

    # Not rateable until handled; then the clerk rates it as the person says.
    rating_page = f"/staff/counter/copy-requests/{made.reference}/rating"
    assert client.get(rating_page).status_code == 409
    made.state = "issued"
    db_session.commit()
    assert client.get(rating_page).status_code == 200
    scales = ratings.current_scales()
    answers = {f"score_{c.id}": str(scales.default.size) for c in scales.criteria}
    response = post(client, rating_page, {"scale": scales.default.id, **answers}, token_page=rating_page)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    assert db_session.scalar(select(Rating)).citizen_id == world.account.id
    [entry] = _entries(db_session, "counter.rate")
    assert entry.subject_id == world.person.id and entry.details["copy_request"] == made.reference

    # The person, logged in herself, reads who did it and for whom.
    post(client, "/staff/counter/end", token_page="/staff/counter/session")
    person = app.test_client()
    login_citizen(person, "citizen")
    log = person.get("/my/access-log").get_data(as_text=True)
    assert "Trần Văn Minh" in log and "thay mặt Nguyễn Thị Lan" in log
    [summary] = [m for m in smtp_server.messages if "What the one-stop desk did" in m["Subject"]]
    body = summary.get_content()
    assert "Đề nghị cấp bản sao" in body and made.reference in body and "Đánh giá" in body


def test_a_person_without_an_account_gets_no_copy_request_filed(client, world, open_counter, db_session):
    open_counter(client)
    db_session.delete(world.account)
    db_session.commit()
    page = f"/staff/counter/results/{world.mine.source_id}/copy-request"
    assert client.get(page).status_code == 409
    assert db_session.scalar(select(CopyRequest)) is None


def test_someone_elses_request_cannot_be_rated(client, world, open_counter):
    open_counter(client)
    assert client.get("/staff/counter/copy-requests/BS-2026-000001/rating").status_code == 404


def test_the_results_list_runs_the_same_statements_for_1_or_12_results(client, world, open_counter,
                                                                     own_record):
    open_counter(client)
    client.get("/staff/counter/session")
    with counting() as few:
        assert client.get("/staff/counter/session").status_code == 200
    old_unit = world.mine.issuing_unit
    for n in range(11):
        own_record(world.person.id_number, access="personal", unit=old_unit, doc_number=str(900 + n))
    with counting() as many:
        assert client.get("/staff/counter/session").status_code == 200
    assert len(many) == len(few), (len(few), len(many))
    # The staff member and units, the session, the units' merged ones, count and page, the audit entry
    # of the listing (lock, head, insert), the person's requests and account: 14 when measured.
    assert len(many) <= 14, many

