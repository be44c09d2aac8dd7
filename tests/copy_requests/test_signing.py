"""Issuing a signed copy: the PDF, its signature, the certification page, the dev CA, downloads."""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import itsdangerous
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.audit import AuditEntry
from portal.copy_requests import devca, keys, signing
from portal.copy_requests.models import IssuedCopy
from portal.copy_requests.workflow import InvalidTransition
from portal.db import utcnow
from portal.errors import Forbidden, InvalidInput
from portal.extensions import db
from tests.copy_requests.signing_builders import stored_bytes


def _validate(data: bytes, roots):
    reader = PdfFileReader(io.BytesIO(data))
    return validate_pdf_signature(reader.embedded_signatures[0],
                                  ValidationContext(trust_roots=roots, allow_fetching=False,
                                                    revocation_mode="soft-fail"))


def _text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_issued_copy_is_signed_by_the_unit_and_validates(app, issuable, issue):
    request, clerk = issuable()
    copy = issue(request, clerk)
    data = stored_bytes(app, copy)
    assert hashlib.sha256(data).hexdigest() == copy.sha256 and copy.size == len(data)
    status = _validate(data, keys.trust_roots(app.config))
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert request.unit.name in status.signing_cert.subject.human_friendly
    assert devca.DEV_MARK in copy.certificate_subject and request.unit.name in copy.certificate_subject
    assert copy.unit_id == request.unit_id and copy.signer_id == clerk.id and copy.status_at_issue == "valid"
    assert len(copy.code) >= 20 and copy.code != signing.new_code()
    # The same signature checked against a root that is not ours: not trusted.
    assert not _validate(data, []).trusted


def test_copy_holds_the_scans_and_a_certification_page(app, issuable, issue):
    request, clerk = issuable()
    copy = issue(request, clerk)
    pages = _text(stored_bytes(app, copy))
    assert len(pages) == 2 + 1 + 1  # the 2-page PDF, the JPEG on an A4 page, the certification page
    certification = pages[-1]
    for expected in ("CHỨNG NHẬN BẢN SAO", "Bản sao điện tử từ sổ gốc", request.unit.name, "Lê Thị Thu Hà",
                     request.reference, "08:30 ngày 23/11/2026", "CÒN HIỆU LỰC", copy.code,
                     f"/verify/{copy.code}", "DEVELOPMENT ONLY", request.record.number_display):
        assert expected in certification, expected
    # The holder's id number is not printed on what we add.
    assert request.record.subject.id_number not in certification
    for number, text in enumerate(pages, start=1):
        assert f"Mã kiểm tra: {copy.code}" in text and f"Trang {number}/4" in text


def test_certified_copy_says_so(app, issuable, issue):
    request, clerk = issuable(kind="certified")
    assert "Bản sao điện tử có chứng thực" in _text(stored_bytes(app, issue(request, clerk)))[-1]


def test_verify_url_uses_public_base_url(make_app, runner, issuable, issue, app):
    app.config["PUBLIC_BASE_URL"] = "https://ketqua.hanoi.gov.vn/"
    request, clerk = issuable()
    copy = issue(request, clerk)
    assert f"https://ketqua.hanoi.gov.vn/verify/{copy.code}" in _text(stored_bytes(app, copy))[-1]
    assert signing.download_url(copy).startswith(f"https://ketqua.hanoi.gov.vn/copies/{copy.code}/download?token=")


def test_only_a_clerk_of_the_unit_and_only_in_progress(app, issuable, issue, make_staff):
    request, clerk = issuable()
    stranger = make_staff(role="clerk", units=["phuong-hoan-kiem"], username="clerk.elsewhere")
    if stranger.units[0].id == request.unit_id:
        pytest.skip("the result's unit happens to be Hoàn Kiếm")
    with pytest.raises(Forbidden):
        signing.issue_copy(db.session, request, stranger, utcnow())
    issue(request, clerk)
    with pytest.raises(InvalidTransition):  # already issued
        signing.issue_copy(db.session, request, clerk, utcnow())
    assert db.session.scalar(select(func.count()).select_from(IssuedCopy)) == 1


def test_a_result_without_scans_gives_a_clear_refusal(app, issuable):
    request, clerk = issuable()
    request.record.files = []
    db.session.commit()
    with app.test_request_context("/?lang=en"), pytest.raises(InvalidInput, match="no scanned file"):
        signing.issue_copy(db.session, request, clerk, utcnow())
    assert db.session.scalar(select(func.count()).select_from(IssuedCopy)) == 0


def test_without_a_key_in_production_nothing_is_signed(app, issuable):
    request, clerk = issuable()
    # No dev CA and no configured key: refused with a message naming the unit, not a 500.
    app.config.update(ENV="production", TESTING=False)
    app.config["COPY_PKI_DIR"] = str(Path(app.config["DATA_DIR"]) / "empty-pki")
    with app.test_request_context("/?lang=en"), \
            pytest.raises(signing.SigningUnavailable, match=request.unit.name):
        signing.issue_copy(db.session, request, clerk, utcnow())


def test_one_configured_key_signs_for_every_unit(app, issuable, issue, tmp_path):
    # A city-wide key from config (here made by another authority, trusted through COPY_TRUST_ROOTS).
    other = {"COPY_PKI_DIR": str(tmp_path / "city")}
    request, clerk = issuable()
    devca.ensure_unit(other, request.unit)
    unit_dir = keys.unit_dir(other, request.unit)
    app.config.update(COPY_SIGNING_KEY=str(unit_dir / "key.pem"),
                      COPY_SIGNING_CERT=str(unit_dir / "cert.pem"),
                      COPY_TRUST_ROOTS=str(tmp_path / "city" / "root.crt"))
    copy = issue(request, clerk)
    status = _validate(stored_bytes(app, copy), keys.trust_roots(app.config))
    assert status.trusted
    assert status.signing_cert.dump() == keys.find_signer(app.config, request.unit).certificate.dump()


def test_dev_ca_is_idempotent_and_marked(app, runner):
    first = runner.invoke(args=["copies", "dev-ca", "--unit", "00004"])
    assert first.exit_code == 0, first.output
    pki = Path(app.config["COPY_PKI_DIR"])
    root = (pki / "root.crt").read_bytes()
    unit_cert = (pki / "units" / "00004" / "cert.pem").read_bytes()
    second = runner.invoke(args=["copies", "dev-ca", "--unit", "00004"])
    assert second.exit_code == 0 and "root (kept)" in second.output and "0 new unit key(s)" in second.output
    assert (pki / "root.crt").read_bytes() == root
    assert (pki / "units" / "00004" / "cert.pem").read_bytes() == unit_cert
    assert (pki / "units" / "00004" / "key.pem").stat().st_mode & 0o077 == 0
    assert devca.DEV_MARK in keys.trust_roots(app.config)[0].subject.human_friendly
    unknown = runner.invoke(args=["copies", "dev-ca", "--unit", "99999"])
    assert unknown.exit_code != 0 and "no current unit" in unknown.output


@pytest.mark.parametrize("env", ["production", "staging"])
def test_dev_ca_refused_outside_development(make_app, env):
    app = make_app(TESTING=False, ENV=env, SECRET_KEY="s" * 40)
    result = app.test_cli_runner().invoke(args=["copies", "dev-ca"])
    assert result.exit_code != 0 and f"PORTAL_ENV={env}" in result.output
    assert not Path(app.config["COPY_PKI_DIR"], "root.key").exists()


def test_a_dev_ca_left_on_disk_signs_nothing_in_staging(app, runner, issuable):
    """Keys of the development authority are used only in development and testing."""
    assert runner.invoke(args=["copies", "dev-ca"]).exit_code == 0  # made while testing
    request, clerk = issuable()
    devca.ensure_unit(app.config, request.unit)  # the unit's development key is on disk too
    assert keys.find_signer(app.config, request.unit) is not None
    assert keys.trust_roots(app.config)
    app.config.update(ENV="staging", TESTING=False)
    assert keys.trust_roots(app.config) == []  # its root vouches for nothing either
    with app.test_request_context("/?lang=en"), \
            pytest.raises(signing.SigningUnavailable, match="could not be loaded"):
        signing.issue_copy(db.session, request, clerk, utcnow())
    assert db.session.scalar(select(func.count()).select_from(IssuedCopy)) == 0


# -- downloads ------------------------------------------------------------------------------------

def _downloads(record) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "record.download", AuditEntry.object_ref == f"record:{record.source_id}")))


def test_download_link_works_without_login_and_is_logged(app, client, issuable, issue):
    request, clerk = issuable(access="personal")
    copy = issue(request, clerk)
    with app.test_request_context():
        url = signing.download_url(copy)
    response = client.get(url.replace("http://localhost", ""))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data == stored_bytes(app, copy)
    assert "no-store" in response.headers["Cache-Control"]
    assert f"ban-sao-{request.reference}.pdf" in response.headers["Content-Disposition"]
    entries = _downloads(request.record)
    assert len(entries) == 1 and entries[0].details["copy"] == copy.code and entries[0].actor == "anonymous"


def test_expired_link_explains_how_to_get_the_copy(app, client, issuable, issue, monkeypatch):
    request, clerk = issuable()
    copy = issue(request, clerk)
    four_days_ago = int(time.time()) - 4 * 24 * 3600
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: four_days_ago)
    with app.test_request_context():
        url = signing.download_url(copy)
    monkeypatch.undo()
    response = client.get(url.replace("http://localhost", ""))
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert request.reference in html and "/login" in html
    assert _downloads(request.record) == []


def test_forged_or_foreign_links_open_nothing(app, client, issuable, issue):
    request, clerk = issuable()
    copy = issue(request, clerk)
    other, other_clerk = issuable()
    other_copy = issue(other, other_clerk)
    with app.test_request_context():
        token_of_other = signing.download_token(other_copy)
    assert client.get(f"/copies/{copy.code}/download?token={token_of_other}").status_code == 404
    assert client.get(f"/copies/{copy.code}/download?token=forged").status_code == 404
    # No token, not logged in: the login page, coming back here.
    response = client.get(f"/copies/{copy.code}/download")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/copies/no-such-code/download?token=x").status_code == 404


def test_the_requester_downloads_when_logged_in(app, client, issuable, issue, login_citizen):
    login_citizen(client, "citizen")
    from portal.identity.models import Citizen

    citizen = db.session.scalar(select(Citizen).where(Citizen.sub == "vneid-7f3a9c21"))
    request, clerk = issuable()
    request.requester = citizen
    db.session.commit()
    copy = issue(request, clerk)
    response = client.get(f"/copies/{copy.code}/download")
    assert response.status_code == 200 and response.data[:5] == b"%PDF-"
    # Not the holder of this (business) result: the download is in the holder's access log.
    assert len(_downloads(request.record)) == 1
