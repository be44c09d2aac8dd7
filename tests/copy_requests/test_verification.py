"""Public verification of copies: by code, by upload, as a page and as JSON, and its access log."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic

import pytest
from pyhanko.pdf_utils.generic import NameObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select

from portal.audit import AuditEntry
from portal.copy_requests import devca, keys, signing, verification
from portal.extensions import db
from portal.records import access_log
from portal.records.models import StatusChange
from tests.copy_requests.signing_builders import stored_bytes
from tests.files.hostile import html_polyglot, many_pages_pdf, page_tree_bomb
from tests.web.conftest import pdf_bytes

JSON = {"Accept": "application/json"}


@pytest.fixture
def issued(app, issuable, issue):
    def build(**fields):
        request, clerk = issuable(**fields)
        return issue(request, clerk)

    return build


def _upload(client, data: bytes, name: str = "ban-sao.pdf", mimetype: str = "application/pdf", headers=None):
    return client.post("/verify", data={"file": (io.BytesIO(data), name, mimetype)},
                       content_type="multipart/form-data", headers=headers or {})


def _revoke(record, on: datetime, reason: str = "Thu hồi theo quyết định số 12/QĐ-UBND"):
    record.status = "revoked"
    record.status_changed_at = on
    db.session.add(StatusChange(record=record, old_status="valid", new_status="revoked", changed_at=on,
                                actor="staff:1", reason=reason))
    db.session.commit()


def test_by_code_an_issued_copy_is_authentic_and_valid(client, issued):
    copy = issued()
    response = client.get(f"/verify/{copy.code}")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert 'data-outcome="valid"' in html
    for shown in (copy.unit.name, "Lê Thị Thu Hà", copy.request.reference, copy.request.record.number_display,
                  "23/11/2026", devca.DEV_MARK):
        assert shown in html, shown
    body = client.get(f"/verify/{copy.code}", headers=JSON).get_json()
    assert body["outcome"] == "valid" and body["authentic"] is True and body["unaltered"] is True
    assert body["signature"]["valid"] and body["signature"]["trusted"] and body["signature"]["whole_file"]
    assert body["issued"]["unit"] == copy.unit.name and body["issued"]["clerk"] == "Lê Thị Thu Hà"
    assert body["issued"]["signed_at"] == "2026-11-23T08:30:00+07:00"
    assert body["result"]["status"] == "valid"
    assert body["result"]["number"] == copy.request.record.number_display


def test_by_upload_the_downloaded_copy_is_authentic(app, client, issued):
    copy = issued()
    data = stored_bytes(app, copy)
    body = _upload(client, data, headers=JSON).get_json()
    assert body["outcome"] == "valid" and body["code"] == copy.code and body["source"] == "upload"
    assert 'data-outcome="valid"' in _upload(client, data).get_data(as_text=True)


def test_the_same_copy_after_the_result_is_revoked(app, client, issued):
    copy = issued()
    data = stored_bytes(app, copy)
    _revoke(copy.request.record, datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    for body in (client.get(f"/verify/{copy.code}", headers=JSON).get_json(),
                 _upload(client, data, headers=JSON).get_json()):
        assert body["outcome"] == "authentic_not_valid" and body["authentic"] is True
        assert body["result"]["status"] == "revoked" and body["result"]["status_since"] == "2026-11-25"
        assert body["issued"]["status_at_issue"] == "valid"
    html = client.get(f"/verify/{copy.code}").get_data(as_text=True)
    assert 'data-outcome="authentic_not_valid"' in html and "25/11/2026" in html


def test_an_expired_and_a_replaced_result(app, client, issued, make_record):
    end = date.today() + timedelta(days=30)
    expired = issued(valid_to=end)
    body = client.get(f"/verify/{expired.code}", headers=JSON).get_json()
    assert body["outcome"] == "valid" and body["result"]["status"] == "valid"
    later = verification.verify_code(db.session, expired.code, None, app.config,
                                     now=datetime.combine(end + timedelta(days=3), time(9), tzinfo=UTC))
    assert later.outcome == "authentic_not_valid" and later.status == "expired"
    assert later.status_since == end + timedelta(days=1)

    replaced = issued()
    record = replaced.request.record
    record.status = "replaced"
    newer = make_record(replaces_source_id=record.source_id, doc_number="777")
    db.session.commit()
    body = client.get(f"/verify/{replaced.code}", headers=JSON).get_json()
    assert body["outcome"] == "authentic_not_valid" and body["result"]["status"] == "replaced"
    assert [r["number"] for r in body["result"]["replaced_by"]] == [newer.number_display]


def test_one_byte_changed_is_altered(app, client, issued):
    copy = issued()
    data = bytearray(stored_bytes(app, copy))
    # A byte inside the first scan page's content: the file still opens, the signature breaks.
    position = data.index(b"stream", len(data) // 4) + 40
    data[position] ^= 0x01
    body = _upload(client, bytes(data), headers=JSON).get_json()
    assert body["outcome"] == "altered" and body["authentic"] is False
    assert body["code"] == copy.code and body["unaltered"] is False
    html = _upload(client, bytes(data)).get_data(as_text=True)
    assert 'data-outcome="altered"' in html and f"/verify/{copy.code}" in html


def test_pages_added_after_signing_is_altered(app, client, issued):
    # An incremental update after the signature: the signature still covers its own bytes, not the file.
    copy = issued()
    writer = IncrementalPdfFileWriter(io.BytesIO(stored_bytes(app, copy)))
    writer.root["/PageMode"] = NameObject("/UseOutlines")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    assert _upload(client, out.getvalue(), headers=JSON).get_json()["outcome"] == "altered"


def test_a_pdf_never_issued_here_is_unknown(app, client, issued, tmp_path):
    copy = issued()
    assert _upload(client, pdf_bytes(1), headers=JSON).get_json()["outcome"] == "unknown"
    # Signed with a key of another authority, by the same software: still nothing we issued.
    other = {"COPY_PKI_DIR": str(tmp_path / "elsewhere"), "ENV": "testing"}
    devca.ensure_unit(other, copy.unit)
    plain = io.BytesIO()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(1))))
    writer.write(plain)
    foreign = signing.sign_pdf(plain.getvalue(), keys.find_signer(other, copy.unit), reason="x", name="y")
    body = _upload(client, foreign, headers=JSON).get_json()
    assert body["outcome"] == "unknown" and body["issued"] is None and body["result"] is None
    html = _upload(client, foreign).get_data(as_text=True)
    assert 'data-outcome="unknown"' in html
    assert client.get("/verify/NoSuchCode-0000000000", headers=JSON).get_json()["outcome"] == "unknown"
    assert 'data-outcome="unknown"' in client.get("/verify/x").get_data(as_text=True)


def test_the_page_shows_no_personal_field_beyond_the_copy(app, client, issued):
    copy = issued(access="personal", id_number="001085099999", subject_kind="individual")
    html = client.get(f"/verify/{copy.code}").get_data(as_text=True)
    body = client.get(f"/verify/{copy.code}", headers=JSON).get_data(as_text=True)
    for text in (html, body):
        assert "001085099999" not in text
        assert copy.request.record.subject.name not in text  # nor the holder's name
        assert copy.request.record.summary not in text


def test_upload_errors_are_explained(make_app):
    app = make_app(COPY_VERIFY_MAX_BYTES=2048)
    client = app.test_client()
    with app.app_context():
        missing = client.post("/verify", data={}, content_type="multipart/form-data")
        assert missing.status_code == 400 and 'class="field-error"' in missing.get_data(as_text=True)
        text = _upload(client, b"hello, not a pdf", name="note.txt", mimetype="text/plain")
        assert text.status_code == 400
        disguised = _upload(client, b"GIF89a not a pdf", headers=JSON)
        assert disguised.status_code == 400 and "PDF" in disguised.get_json()["message"]
        big = _upload(client, b"%PDF-1.7\n" + b"0" * 4096, headers=JSON)
        assert big.status_code == 400 and "MB" in big.get_json()["message"]
        damaged = _upload(client, b"%PDF-1.7\n garbage that is no pdf", headers=JSON)
        assert damaged.status_code == 200 and damaged.get_json()["outcome"] == "unknown"


def test_hostile_uploads_are_refused_in_time_with_the_budget(app, client, issued):
    # The security test's PDF (one page listed 200 times, 60 KB of drawing), naming a real copy's
    # code so that it would reach the signature checker; and an HTML page carrying a PDF.
    copy = issued()
    bomb = page_tree_bomb(200, 60_000) + b"%% /PortalCopyCode (%s)\n" % copy.code.encode()
    for headers in (JSON, {}):
        started = monotonic()
        response = _upload(client, bomb, name="ban-sao.pdf", headers=headers)
        assert monotonic() - started < 5
        assert response.status_code == 400
        text = response.get_json()["message"] if headers else response.get_data(as_text=True)
        assert "Danh sách trang của tệp PDF không hợp lệ" in text
    polyglot = _upload(client, html_polyglot(pdf_bytes(1)), name="polyglot.html.pdf", headers=JSON)
    assert polyglot.status_code == 400 and "PDF" in polyglot.get_json()["message"]
    many = _upload(client, many_pages_pdf(501), headers=JSON)
    assert many.status_code == 400 and many.get_json()["message"] == "Tệp có 501 trang, tối đa 500 trang."
    assert db.session.query(AuditEntry).filter_by(action="copy.verify").count() == 0


def test_form_page_and_code_redirect(client):
    html = client.get("/verify").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'name="code"' in html and 'name="file"' in html
    response = client.get("/verify?code=abcDEF123456")
    assert response.status_code == 302 and response.headers["Location"].endswith("/verify/abcDEF123456")


def test_each_verification_is_in_the_holders_access_log(app, client, issued, make_staff):
    copy = issued(access="personal", id_number="001085088888", subject_kind="individual")
    client.get(f"/verify/{copy.code}")
    _upload(client, stored_bytes(app, copy))
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "copy.verify")))
    assert [e.details["copy"] for e in entries] == [copy.code, copy.code]
    assert [e.details["source"] for e in entries] == ["code", "upload"]
    assert all(e.actor == "anonymous" and e.subject_id == copy.request.record.subject_id for e in entries)
    holder = copy.request.requester
    rows = access_log.list_for_citizen(db.session, holder).rows
    assert [r.action for r in rows] == ["copy.verify", "copy.verify"]
    # An unknown code names no result: nothing to log.
    client.get("/verify/NoSuchCode-0000000000")
    assert db.session.query(AuditEntry).filter_by(action="copy.verify").count() == 2


def test_qr_code_and_footer_point_to_the_verification_page(app, issued):
    copy = issued()
    reader = PdfReader(io.BytesIO(stored_bytes(app, copy)))
    assert reader.metadata["/PortalCopyCode"] == copy.code
    assert f"/verify/{copy.code}" in reader.pages[0].extract_text()
