"""API verification of signed copies (issue 15): by code and by upload, the same verdicts as /verify,
each check in the holder's access log with channel "api" and the key as the reader."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from portal.audit import AuditEntry
from portal.extensions import db
from portal.records import access_log
from tests.api_keys.test_api_keys import bearer, issue
from tests.copy_requests.signing_builders import stored_bytes
from tests.files.hostile import many_pages_pdf
from tests.web.conftest import pdf_bytes

JSON = {"Accept": "application/json"}
PROBLEM = "application/problem+json"
UPLOAD = "/api/v1/verifications"


@pytest.fixture
def issued(app, issuable, issue):
    def build(**fields):
        request, clerk = issuable(**fields)
        return issue(request, clerk)

    return build


@pytest.fixture
def verifier():
    """Headers of a bank's key with the scope verify."""
    return bearer(issue(scopes=("verify",), quota=100).secret)


def _raw(client, data: bytes, headers, content_type: str = "application/pdf"):
    return client.post(UPLOAD, data=data, content_type=content_type, headers=headers)


def _form(client, data: bytes, headers, field: str = "file"):
    return client.post(UPLOAD, data={field: (io.BytesIO(data), "ban-sao.pdf", "application/pdf")},
                       content_type="multipart/form-data", headers=headers)


def _checks():
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "copy.verify")
                                   .order_by(AuditEntry.id)))


def test_by_code_an_issued_copy_is_authentic_with_its_status_as_verify_says(client, issued):
    copy = issued()
    answer = client.get(f"/api/v1/verifications/{copy.code}")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["RateLimit-Limit"]  # anonymous: the per-address API limit
    body = answer.get_json()
    assert body["outcome"] == "valid" and body["authentic"] is True and body["source"] == "code"
    assert body["issued"]["reference"] == copy.request.reference
    assert body["result"]["status"] == "valid"
    page = client.get(f"/verify/{copy.code}", headers=JSON).get_json()
    assert {k: v for k, v in body.items() if k != "as_of"} == {k: v for k, v in page.items() if k != "as_of"}


def test_an_unknown_code_is_200_with_the_negative_verdict_as_verify(client, issued):
    issued()
    for code in ("NoSuchCode-0000000000", "x"):
        answer = client.get(f"/api/v1/verifications/{code}")
        assert answer.status_code == 200
        body = answer.get_json()
        assert body["outcome"] == "unknown" and body["authentic"] is False
        assert body["code"] is None and body["issued"] is None and body["result"] is None
    assert _checks() == []  # an unknown code names no result: nothing to log


def test_a_keyed_check_is_in_the_holders_access_log_with_channel_api(client, issued, verifier):
    copy = issued(access="personal", id_number="001085077777", subject_kind="individual")
    client.get(f"/api/v1/verifications/{copy.code}", headers=verifier)
    client.get(f"/api/v1/verifications/{copy.code}")  # anonymous, through the API
    client.get(f"/verify/{copy.code}")  # the page: still "web"
    checks = _checks()
    assert [(e.channel, e.actor.split(":")[0]) for e in checks] == [
        ("api", "apikey"), ("api", "anonymous"), ("web", "anonymous")]
    assert all(e.subject_id == copy.request.record.subject_id and e.details["copy"] == copy.code
               for e in checks)
    rows = access_log.list_for_citizen(db.session, copy.request.requester).rows
    assert [(r.channel, r.who) for r in rows][-1] == ("api", "Ngân hàng Thử nghiệm")


def test_upload_of_the_signed_pdf_gives_the_verdict_of_verify(app, client, issued, verifier):
    copy = issued()
    data = stored_bytes(app, copy)
    page = client.post("/verify", data={"file": (io.BytesIO(data), "ban-sao.pdf", "application/pdf")},
                       content_type="multipart/form-data", headers=JSON).get_json()
    for answer in (_raw(client, data, verifier), _form(client, data, verifier),
                   _raw(client, data, verifier, content_type="application/octet-stream")):
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
        body = answer.get_json()
        assert body["outcome"] == "valid" and body["source"] == "upload" and body["code"] == copy.code
        assert {k: v for k, v in body.items() if k != "as_of"} == {
            k: v for k, v in page.items() if k != "as_of"}
    sources = [(e.channel, e.details["source"]) for e in _checks()]
    assert sources == [("web", "upload")] + [("api", "upload")] * 3
    # One byte changed: altered, as on the page.
    changed = bytearray(data)
    changed[data.index(b"stream", len(data) // 4) + 40] ^= 0x01
    assert _raw(client, bytes(changed), verifier).get_json()["outcome"] == "altered"
    # A PDF never issued here: unknown, 200.
    unknown = _raw(client, pdf_bytes(1), verifier)
    assert unknown.status_code == 200 and unknown.get_json()["outcome"] == "unknown"


def test_what_is_not_a_pdf_is_400_in_both_languages(client, verifier):
    for answer in (_raw(client, b"GIF89a not a pdf", verifier), _form(client, b"hello", verifier),
                   _raw(client, b"", verifier), _form(client, b"%PDF-1.7", verifier, field="other"),
                   _raw(client, b"%PDF-1.7\n", verifier, content_type="text/plain"),
                   client.post(UPLOAD, json={"file": "x"}, headers=verifier)):
        assert answer.status_code == 400 and answer.mimetype == PROBLEM, answer.get_data(as_text=True)
        messages = answer.get_json()["messages"]
        assert messages["vi"] and messages["en"] and messages["vi"] != messages["en"]
    not_pdf = _raw(client, b"GIF89a not a pdf", verifier).get_json()["messages"]
    assert not_pdf["en"] == "This file is not a PDF. Upload the PDF copy you received (ending in .pdf)."
    assert "PDF" in not_pdf["vi"] and not_pdf["vi"] != not_pdf["en"]
    # Over an inspection budget (the child process's refusal), in both languages too.
    pages = _raw(client, many_pages_pdf(501), verifier)
    messages = pages.get_json()["messages"]
    assert pages.status_code == 400 and messages["vi"] == "Tệp có 501 trang, tối đa 500 trang."
    assert "501" in messages["en"] and messages["en"] != messages["vi"]


class Endless(io.RawIOBase):
    """A body that never ends, counting what the server read of it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = b"0" * len(buffer)
        self.read_bytes += len(buffer)
        return len(buffer)


@pytest.mark.parametrize("content_type", ["application/pdf", "multipart/form-data; boundary=x"])
def test_over_the_budget_is_413_before_the_body_is_read(make_app, content_type):
    app = make_app(COPY_VERIFY_MAX_BYTES=2048)
    with app.app_context():
        headers = bearer(issue(scopes=("verify",)).secret)
        client = app.test_client()
        # Declared too large: refused on Content-Length, nothing read.
        body = Endless()
        answer = client.post(UPLOAD, content_type=content_type, headers=headers, environ_overrides={
            "wsgi.input": body, "CONTENT_LENGTH": str(50 * 1024 * 1024)})
        assert answer.status_code == 413 and answer.mimetype == PROBLEM
        assert "MB" in answer.get_json()["messages"]["en"] and body.read_bytes == 0
        # Not declared (chunked): read up to the budget (and a multipart's slack), then refused.
        body = Endless()
        answer = client.post(UPLOAD, content_type=content_type, headers=headers, environ_overrides={
            "wsgi.input": body, "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
        assert answer.status_code == 413 and answer.mimetype == PROBLEM
        assert 0 < body.read_bytes <= 2048 + 64 * 1024 + 64 * 1024
        # Just over the budget, declared honestly.
        answer = _raw(client, b"%PDF-1.7\n" + b"0" * 2048, headers)
        assert answer.status_code == 413


def test_an_upload_needs_a_key_with_the_verify_scope(app, client, issued):
    copy = issued()
    data = stored_bytes(app, copy)
    anonymous = _raw(client, data, {})
    assert anonymous.status_code == 401 and anonymous.mimetype == PROBLEM
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert "verify" in anonymous.get_json()["messages"]["en"]
    searcher = _raw(client, data, bearer(issue(scopes=("search",)).secret))
    assert searcher.status_code == 403 and searcher.mimetype == PROBLEM
    assert _raw(client, data, bearer("hnp_abcdefgh_wrong")).status_code == 401
    assert _checks() == []  # refused before anything was read or checked


def test_the_api_shows_no_personal_field_beyond_the_copy(client, issued):
    copy = issued(access="personal", id_number="001085099999", subject_kind="individual")
    text = json.dumps(client.get(f"/api/v1/verifications/{copy.code}").get_json(), ensure_ascii=False)
    assert copy.code in text and "001085099999" not in text and copy.request.record.subject.name not in text


def test_by_code_reads_what_the_page_reads(client, issued):
    """The same service, the same statements (the anonymous API counter aside: its own connection)."""
    from tests.web.test_sql_budget import counting

    code = issued().code
    counts = []
    for url, headers in ((f"/api/v1/verifications/{code}", {}), (f"/verify/{code}", JSON)):
        db.session.expire_all()
        with counting() as statements:
            assert client.get(url, headers=headers).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 12, counts  # the copy, request, result, signer; 3 for the log entry
