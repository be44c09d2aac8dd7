"""The counter's pages end to end with the test client: opening, consent by code, what the session
reaches, actions on the person's access log and the audit chain, the end and its summary mail."""

from __future__ import annotations

import io

from flask import g
from sqlalchemy import func, select

from portal.audit import AuditEntry
from portal.counter.models import CounterSession
from tests.counter.conftest import CONTACT, OTHER_ID, PERSON_ID, last_code, post
from tests.web.conftest import pdf_bytes


def test_a_session_by_code_lists_and_opens_the_persons_results(client, world, open_counter, smtp_server,
                                                               db_session):
    message = open_counter(client)
    assert message["To"] == CONTACT
    page = client.get("/staff/counter/session")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert world.mine.doc_type_name in text
    assert world.mine_elsewhere.doc_type_name not in text  # another unit
    assert world.other.doc_type_name not in text  # another person
    response = client.get(f"/staff/counter/results/{world.mine.source_id}")
    assert response.status_code == 200 and world.mine.summary in response.get_data(as_text=True)
    entry = db_session.scalar(select(AuditEntry).where(
        AuditEntry.object_ref == f"record:{world.mine.source_id}", AuditEntry.channel == "counter"))
    assert entry.subject_id == world.person.id and entry.actor == f"staff:{world.clerk.id}"
    assert entry.purpose == ("Cán bộ Trần Văn Minh (bộ phận một cửa "
                             f"{world.ward.name}) thay mặt Nguyễn Thị Lan")
    assert entry.details["counter_session"] == db_session.scalar(select(func.max(CounterSession.id)))


def test_a_signed_form_when_no_contact_is_on_file_and_the_summary_is_printed(client, world, login_staff,
                                                                            smtp_server, db_session):
    login_staff(client, world.clerk)
    response = post(client, "/staff/counter/start", {"id_number": OTHER_ID, "unit_id": world.ward.id})
    page = client.get(response.location).get_data(as_text=True)
    assert "không gửi mã được" in page and "SMS" in page  # no address on file; no phone channel
    refused = post(client, "/staff/counter/consent/form",
                   {"consent": (io.BytesIO(b"<html><body>not a scan</body></html>"), "phieu.pdf")},
                   token_page="/staff/counter/consent", content_type="multipart/form-data")
    assert refused.status_code == 400
    scan = {"consent": (io.BytesIO(pdf_bytes(1)), "phieu.pdf")}
    response = post(client, "/staff/counter/consent/form", scan,
                    token_page="/staff/counter/consent", content_type="multipart/form-data")
    assert response.status_code == 303 and response.location.endswith("/staff/counter/session")
    assert world.other.doc_type_name in client.get("/staff/counter/session").get_data(as_text=True)
    response = post(client, "/staff/counter/end", token_page="/staff/counter/session")
    summary = client.get(response.location).get_data(as_text=True)
    assert "hãy in trang này" in summary and world.other.doc_type_name not in summary  # nothing done
    assert smtp_server.messages == []  # no address: nothing mailed
    counter = db_session.scalar(select(CounterSession))
    assert counter.consent_method == "form" and counter.consent_sha256


def test_wrong_codes_on_the_page_then_the_session_is_refused(client, world, login_staff, smtp_server):
    login_staff(client, world.clerk)
    post(client, "/staff/counter/start", {"id_number": PERSON_ID, "unit_id": world.ward.id})
    post(client, "/staff/counter/consent/send-code", token_page="/staff/counter/consent")
    code = last_code(smtp_server)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    consent = "/staff/counter/consent"
    for remaining in (4, 3, 2, 1):
        response = post(client, f"{consent}/code", {"code": wrong}, token_page=consent)
        assert response.status_code == 400 and f"Còn {remaining} lần thử" in response.get_data(as_text=True)
    response = post(client, f"{consent}/code", {"code": wrong}, token_page=consent)
    assert response.status_code == 303 and response.location.endswith("/staff/counter")
    assert "quá số lần" in client.get(response.location).get_data(as_text=True)
    assert client.get("/staff/counter/session").status_code == 303


def test_the_pages_are_vietnamese_by_default_and_english_on_request(client, world, open_counter):
    open_counter(client)
    page = client.get("/staff/counter/session").get_data(as_text=True)
    assert "Đang hỗ trợ thay mặt Nguyễn Thị Lan" in page and "Hỗ trợ tại quầy" in page  # banner, menu
    g.pop("_flask_babel", None)  # the test's app context outlives requests: forget the locale found
    page = client.get("/staff/counter/session?lang=en").get_data(as_text=True)
    assert "Acting for Nguyễn Thị Lan" in page and "End the session" in page
    assert "Assisted service at the counter" in page and "The person's copy requests" in page
    assert "Đang hỗ trợ" not in page
