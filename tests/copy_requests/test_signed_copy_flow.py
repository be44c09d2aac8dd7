"""The signed copy through the real services: requested (services.submit), assigned and issued by
a clerk (processing), downloaded through its link, validated, verified; then the result is revoked."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from portal.copy_requests import keys, processing, signing
from portal.extensions import db
from portal.records.models import StatusChange


def test_request_issue_download_verify_revoke(app, client, dev_ca, make_request, make_staff):
    request, _code = make_request()
    clerk = make_staff(role="clerk", units=[request.unit], username="clerk.flow", full_name="Phạm Minh Đức")
    processing.assign(db.session, clerk, request)
    copy = processing.issue(db.session, clerk, request)
    db.session.commit()
    assert request.state == "issued" and request.issued == [copy]

    with app.test_request_context():
        link = signing.download_url(copy)
    pdf = client.get(link.replace("http://localhost", "")).data
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0],
                                    ValidationContext(trust_roots=keys.trust_roots(app.config),
                                                      allow_fetching=False, revocation_mode="soft-fail"))
    assert status.bottom_line

    upload = {"file": (io.BytesIO(pdf), "ban-sao.pdf", "application/pdf")}
    answer = client.post("/verify", data=upload, content_type="multipart/form-data",
                         headers={"Accept": "application/json"}).get_json()
    assert answer["outcome"] == "valid" and answer["issued"]["clerk"] == "Phạm Minh Đức"

    record = request.record
    revoked_at = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    record.status, record.status_changed_at = "revoked", revoked_at
    db.session.add(StatusChange(record=record, old_status="valid", new_status="revoked",
                                changed_at=revoked_at, actor="system", reason="Thu hồi"))
    db.session.commit()
    page = client.get(f"/verify/{copy.code}").get_data(as_text=True)
    assert 'data-outcome="authentic_not_valid"' in page and "30/11/2026" in page
