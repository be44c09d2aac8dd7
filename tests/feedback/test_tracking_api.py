"""Status of a copy request or a petition by reference and tracking code through the API (issue 15):
the web tracking pages' answers and limits, as JSON, with no personal data."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from portal.audit import AuditEntry
from portal.copy_requests import events
from portal.copy_requests.workflow import Action
from portal.extensions import db
from portal.feedback import petitions
from tests.api_keys.test_api_keys import bearer, issue
from tests.conftest import csrf_token

COPY = "/api/v1/copy-requests/status"
PETITION = "/api/v1/petitions/status"
PROBLEM = "application/problem+json"
SENDER = {"sender_name": "Trần Thị Hoà", "sender_address": "Số 12 ngõ 34 phố Đội Cấn",
          "sender_phone": "0912 345 678", "sender_email": "hoa.tran@example.vn"}


def ask(client, url: str, reference: str, code: str, ip: str = "203.0.113.7", **kwargs):
    return client.post(url, json={"reference": reference, "code": code},
                       environ_base={"REMOTE_ADDR": ip}, **kwargs)


def web_track(client, reference: str, code: str, ip: str = "203.0.113.7"):
    client.environ_base["REMOTE_ADDR"] = ip
    token = csrf_token(client, "/copy-requests/track")
    return client.post("/copy-requests/track",
                       data={"csrf_token": token, "reference": reference, "code": code})


@pytest.fixture
def petition(db_session):
    petition, code = petitions.submit_petition(db_session, None, {
        **SENDER, "about": "application", "title": "Phản ánh về giấy tờ ngoài quy định",
        "content": "Cán bộ yêu cầu nộp thêm bản sao sổ hộ khẩu khi đăng ký khai sinh, trái quy định."})
    db_session.commit()
    return petition, code


def test_the_right_code_gives_the_copy_requests_status(client, make_request, db_session):
    request, code = make_request()
    events.transition(db_session, request, Action.REJECT, "staff:7", note="Kết quả đang được đính chính")
    db_session.commit()
    answer = ask(client, COPY, request.reference.lower(), code.lower().replace("-", " "))
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["reference"] == request.reference and body["state"] == "rejected"
    assert body["state_label"] == {"vi": "Bị từ chối", "en": "Refused"}
    assert body["document_type"] == request.record.doc_type_name and body["unit"] == request.unit.name
    assert body["received_at"].endswith("+07:00") and body["due_at"] and body["overdue"] is False
    assert body["copy_ready"] is False and body["kind"] == "electronic"
    assert [(s["action"], s["state"], s["by"]) for s in body["steps"]] == [
        ("submit", "submitted", "citizen"), ("reject", "rejected", "staff")]
    assert body["steps"][1]["note"] == "Kết quả đang được đính chính"
    assert body["steps"][0]["label"]["en"] == "Request received"
    assert body["updated_at"] == body["steps"][-1]["at"]


def test_no_personal_data_in_the_answers(client, make_request, petition):
    request, code = make_request(email="lan@example.vn", purpose="Bổ sung hồ sơ vay vốn ngân hàng")
    text = json.dumps(ask(client, COPY, request.reference, code).get_json(), ensure_ascii=False)
    assert request.reference in text
    record = request.record
    for personal in ("lan@example.vn", "Bổ sung hồ sơ vay vốn", record.subject.id_number, record.subject.name,
                     request.requester.name, record.number_display):
        assert personal not in text, personal
    found, petition_code = petition
    text = json.dumps(ask(client, PETITION, found.reference, petition_code).get_json(), ensure_ascii=False)
    assert found.reference in text
    for personal in (*SENDER.values(), "0912345678", found.content):
        assert personal not in text, personal


@pytest.mark.parametrize("url", [COPY, PETITION])
def test_a_wrong_code_and_an_unknown_reference_get_one_answer(client, make_request, petition, url):
    request, code = make_request()
    found, petition_code = petition
    reference, right = (request.reference, code) if url == COPY else (found.reference, petition_code)
    unknown_reference = reference[:-6] + "999999"
    answers = [ask(client, url, reference, "AAAAA-BBBBB"), ask(client, url, unknown_reference, right),
               ask(client, url, "hello", right)]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert all(a.mimetype == PROBLEM for a in answers)
    assert answers[0].get_json()["messages"] == answers[1].get_json()["messages"] == answers[2].get_json()[
        "messages"]
    assert ask(client, url, reference, right).status_code == 200


@pytest.mark.parametrize("body", [None, [], {"reference": "BS-2026-000001"}, {"reference": 1, "code": "A"},
                                  {"reference": "BS-2026-000001", "code": "A" * 41}])
def test_a_body_that_is_not_a_reference_and_code_is_400(client, body):
    answer = client.post(COPY, json=body) if body is not None else client.post(COPY, data="x")
    assert answer.status_code == 400 and answer.mimetype == PROBLEM
    assert answer.get_json()["messages"]["en"].startswith("Send JSON")


def test_wrong_codes_on_the_page_and_the_api_count_together(client, make_request, db_session):
    request, code = make_request()
    for _ in range(3):
        assert web_track(client, request.reference, "AAAAA-BBBBB").status_code == 400
    for _ in range(2):
        assert ask(client, COPY, request.reference, "AAAAA-BBBBB").status_code == 404
    refused = ask(client, COPY, request.reference, code)  # five failures in the window: even the right code
    assert refused.status_code == 429 and refused.mimetype == PROBLEM
    # The failures' window (COPY_TRACK_WINDOW_MINUTES), or the form's cap's if it ends later.
    assert int(refused.headers["Retry-After"]) >= 15 * 60
    assert web_track(client, request.reference, code).status_code == 429  # and the page says the same
    assert db_session.scalar(select(func.count()).where(AuditEntry.action == "copy.track_failed")) == 5
    assert ask(client, COPY, request.reference, code, ip="198.51.100.20").status_code == 200


@pytest.mark.parametrize("url, config_key, form", [
    (COPY, "COPY_TRACK_RATE_LIMIT", "/copy-requests/track"),
    (PETITION, "FEEDBACK_TRACK_RATE_LIMIT", "/feedback/petitions/track")])
def test_the_per_address_cap_is_the_forms_own(make_app, url, config_key, form):
    app = make_app(**{config_key: "4 per hour"})
    with app.app_context():
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
        token = csrf_token(client, form)
        for _ in range(2):
            page = client.post(form, data={"csrf_token": token, "reference": "XX-2026-000001", "code": "A"})
            assert page.status_code == 400
        answers = [ask(client, url, f"XX-2026-00000{n}", "AAAAA-BBBBB") for n in range(3)]
        assert [a.status_code for a in answers] == [404, 404, 429]
        assert answers[2].mimetype == PROBLEM and int(answers[2].headers["Retry-After"]) > 0
        assert ask(client, url, "XX-2026-000001", "A", ip="198.51.100.20").status_code == 404


def test_the_petitions_status(client, petition, db_session):
    found, code = petition
    answer = ask(client, PETITION, found.reference, code)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["reference"] == found.reference and body["state"] == "received"
    assert body["state_label"]["en"] == "Received, waiting to be classified" and body["state_label"]["vi"]
    assert body["unit"] is None and body["due_at"] and body["answered_at"] is None
    assert body["overdue"] is False and body["published"] is False and body["decline_reason"] == ""
    assert [(s["action"], s["to_unit"]) for s in body["steps"]] == [("receive", "")]
    assert body["steps"][0]["label"] == {"vi": body["steps"][0]["label"]["vi"], "en": "Petition received"}


def test_a_bad_key_is_401_and_a_key_is_counted(client, make_request):
    request, code = make_request()
    assert ask(client, COPY, request.reference, code, headers=bearer("hnp_abcdefgh_wrong")).status_code == 401
    key = issue(scopes=("search",), quota=5)
    keyed = ask(client, COPY, request.reference, code, headers=bearer(key.secret))
    assert keyed.status_code == 200 and keyed.headers["RateLimit-Remaining"] == "4"
    # Only the API's own headers: the form limit behind it adds no X-RateLimit-* and no Retry-After.
    assert not [name for name in keyed.headers.keys() if name.startswith("X-RateLimit")]
    assert "Retry-After" not in keyed.headers
    db.session.rollback()


def test_a_status_costs_a_few_statements(client, make_request, petition):
    """What one answer reads (the per-address counters aside: their own connection, Redis in production)."""
    from tests.web.test_sql_budget import counting

    request, code = make_request()
    reference = request.reference
    found, petition_code = petition
    petition_reference = found.reference
    db.session.expire_all()  # nothing left in the session from building the cases
    with counting() as statements:
        assert ask(client, COPY, reference, code).status_code == 200
    # failures in the window, the request, its unit, events and result (with the result's own eager loads)
    assert len(statements) <= 8, statements
    with counting() as statements:
        assert ask(client, PETITION, petition_reference, petition_code).status_code == 200
    assert len(statements) <= 2, statements  # the petition, its events
