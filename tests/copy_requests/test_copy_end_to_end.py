"""The issue's end to end, through the pages a citizen and a clerk use and a real SMTP server.

A citizen logged in through the real OpenID provider asks for a certified copy; a clerk logged in
with password and TOTP takes it and issues it; the e-mail arrives at the SMTP server with a link;
the PDF behind the link validates with pyhanko; the verification page says valid; the result is
revoked; the same copy now verifies as authentic but revoked.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import select

from portal.copy_requests import keys
from portal.copy_requests.models import CopyRequest
from portal.extensions import db
from portal.records.models import StatusChange
from tests.conftest import csrf_token
from tests.identity.oidc_fixtures import ACCOUNTS

CITIZEN_ID = ACCOUNTS["citizen"]["claims"]["SoDinhDanh"]


@pytest.fixture
def app(make_app, smtp_server):
    app = make_app(**smtp_server.config(PUBLIC_BASE_URL="http://localhost"))
    with app.app_context():
        yield app


def test_request_issue_mail_download_validate_verify_revoke(app, client, dev_ca, record_of, login_citizen,
                                                           make_staff, login_staff, smtp_server):
    record = record_of(CITIZEN_ID, access="personal", doc_type_name="Trích lục khai sinh")
    login_citizen(client, "citizen")
    form_url = f"/results/{record.source_id}/copy-request"
    answers = {"kind": "certified", "copies": "1", "purpose": "Nộp hồ sơ nhập học cho con",
               "email": "lan@example.vn", "delivery_address": ""}
    check = client.post(f"{form_url}/check", data={**answers, "csrf_token": csrf_token(client, form_url)})
    assert check.status_code == 200 and "4.000" in check.get_data(as_text=True)  # 2 pages, certified
    sent = client.post(form_url, data={**answers, "csrf_token": csrf_token(client, form_url)})
    assert sent.status_code == 303
    request = db.session.scalar(select(CopyRequest).where(CopyRequest.record_id == record.id))
    assert sent.location.endswith(f"/copy-requests/{request.reference}")
    assert "Đã nhận yêu cầu" in client.get(sent.location).get_data(as_text=True)

    clerk = make_staff(role="clerk", units=[request.unit], full_name="Phạm Minh Đức")
    desk = app.test_client()
    login_staff(desk, clerk)
    page = f"/staff/copy-requests/{request.reference}"
    for action, state in (("assign", "submitted"), ("issue", "in_progress")):  # the buttons, as seen
        answer = desk.post(f"{page}/{action}", data={"csrf_token": csrf_token(desk, page), "seen_state": state})
        assert answer.status_code == 302, action
    db.session.refresh(request)
    assert request.state == "issued" and len(request.issued) == 1
    copy = request.issued[0]

    subjects = [message["Subject"] for message in smtp_server.messages]
    assert len(subjects) == 3 and request.reference in subjects[-1]  # received, in progress, issued
    text = smtp_server.messages[-1].get_body(preferencelist=("plain",)).get_content()
    link = next(word for word in text.split() if "/download?token=" in word)
    download = client.get(urlsplit(link).path + "?" + urlsplit(link).query)
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    pdf = download.data
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    context = ValidationContext(trust_roots=keys.trust_roots(app.config), allow_fetching=False,
                                revocation_mode="soft-fail")
    assert validate_pdf_signature(signature, context).bottom_line

    # The requester's own page offers the same copy.
    mine = client.get(f"/copy-requests/{request.reference}").get_data(as_text=True)
    assert f"/copies/{copy.code}/download" in mine

    anyone = app.test_client()
    upload = {"file": (io.BytesIO(pdf), "ban-sao.pdf", "application/pdf")}
    answer = anyone.post("/verify", data=upload, content_type="multipart/form-data",
                         headers={"Accept": "application/json"}).get_json()
    assert answer["outcome"] == "valid"
    assert CITIZEN_ID not in anyone.get(f"/verify/{copy.code}").get_data(as_text=True)

    revoked_at = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    record = db.session.merge(record)
    record.status, record.status_changed_at = "revoked", revoked_at
    db.session.add(StatusChange(record=record, old_status="valid", new_status="revoked",
                                changed_at=revoked_at, actor="system", reason="Thu hồi"))
    db.session.commit()
    upload = {"file": (io.BytesIO(pdf), "ban-sao.pdf", "application/pdf")}
    answer = anyone.post("/verify", data=upload, content_type="multipart/form-data",
                         headers={"Accept": "application/json"}).get_json()
    assert answer["outcome"] == "authentic_not_valid"
    page = anyone.get(f"/verify/{copy.code}").get_data(as_text=True)
    assert re.search(r"30/11/2026", page)
