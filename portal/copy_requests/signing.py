"""Issuing a signed copy: scans + certification page + QR code, signed PAdES by the unit's key,
stored in the file store and recorded as an IssuedCopy; and the expiring links that download it.

The texts printed on the copy are Vietnamese whatever the clerk's UI language: the copy is an
administrative document.
"""

from __future__ import annotations

import io
import secrets
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from sqlalchemy.orm import Session

from portal import clock
from portal.config import allows_development_shortcuts
from portal.copy_requests import devca, keys, pdfcopy
from portal.copy_requests.models import CopyKind, CopyRequest, IssuedCopy
from portal.copy_requests.workflow import Action, InvalidTransition, State
from portal.errors import Forbidden, InvalidInput, NotFound, PortalError
from portal.files.store import FileStore
from portal.identity.access import serves_unit
from portal.identity.models import StaffUser
from portal.mail import public_base_url
from portal.records.access_log import record_access
from portal.records.models import Record, ResultStatus
from portal.security import secret_keys

#: Printed on the copy as its kind.
KIND_TITLES = {
    CopyKind.ELECTRONIC: "Bản sao điện tử từ sổ gốc",
    CopyKind.CERTIFIED: "Bản sao điện tử có chứng thực",
    CopyKind.PAPER_DESK: "Bản sao từ sổ gốc (bản in, nhận tại bộ phận một cửa)",
    CopyKind.PAPER_POST: "Bản sao từ sổ gốc (bản in, gửi qua bưu chính công ích)",
}
#: A result's status as printed on the copy.
STATUS_TEXT = {
    ResultStatus.VALID: "Còn hiệu lực",
    ResultStatus.EXPIRED: "Hết hiệu lực",
    ResultStatus.REVOKED: "Đã bị thu hồi",
    ResultStatus.REPLACED: "Đã được thay thế",
    ResultStatus.ANNULLED: "Đã bị hủy bỏ",
}
#: Salt of download-link tokens: a token made for anything else never opens a copy.
LINK_SALT = "copy-download"


class SigningUnavailable(PortalError):
    """No signing key or certificate for the request's unit: the copy cannot be issued now."""

    status = 503


#: Letters and digits that cannot be mistaken for one another when typed from paper (no 0/O, 1/l/I).
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
CODE_LENGTH = 22


def new_code() -> str:
    # 22 symbols of 57: 128 random bits, so /verify/<code> cannot be guessed and tells a prober nothing.
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def verify_url(code: str, config=None, base_url: str | None = None) -> str:
    return f"{public_base_url(config or current_app.config, base_url)}/verify/{code}"


def signer_for(config, request: CopyRequest) -> keys.UnitSigner:
    """The unit's signer; in development and tests, a dev CA in place gives a unit its key on demand.

    Raises SigningUnavailable.
    """
    unit = request.unit
    try:
        signer = keys.find_signer(config, unit)
    except keys.SigningKeyMissing as error:
        current_app.logger.error("signing key: %s", error)
        raise SigningUnavailable(_("The signing certificate of this unit could not be loaded. "
                                   "Please tell the administrator.")) from error
    if signer is None and allows_development_shortcuts(config) and devca.has_root(config):
        devca.ensure_unit(config, unit)
        signer = keys.find_signer(config, unit)
    if signer is None:
        raise SigningUnavailable(_("%(unit)s has no signing certificate yet. Please tell the administrator.",
                                   unit=unit.name))
    return signer


def certification(record: Record, request: CopyRequest, clerk: StaffUser, now: datetime, code: str,
                  url: str, signer: keys.UnitSigner) -> pdfcopy.CertificationPage:
    local = clock.in_hanoi(now)
    when = clock.spoken(now)
    status = record.effective_status(local.date())
    lines = [
        ("Loại bản sao", KIND_TITLES.get(request.kind, request.kind)),
        ("Giấy tờ", f"{record.doc_type_name} số {record.number_display}"),
        ("Ngày cấp", record.issued_date.strftime("%d/%m/%Y")),
        ("Cơ quan cấp", record.issuer_name),
        ("Người được cấp", record.subject.name),
        ("Đơn vị cấp bản sao", request.unit.name),
        ("Cán bộ thực hiện", clerk.full_name),
        ("Thời gian cấp bản sao", f"{when} (giờ Hà Nội)"),
        ("Số yêu cầu", request.reference),
        ("Số bản", str(request.copies)),
        ("Ký số bởi", signer.common_name),
    ]
    statement = (f"Tại thời điểm {when}, theo Cơ sở dữ liệu kết quả giải quyết thủ tục hành chính "
                 "của thành phố Hà Nội, kết quả này có tình trạng:")
    note = ("Quét mã QR hoặc mở địa chỉ dưới đây, nhập mã kiểm tra, để biết bản sao có xác thực, "
            "chưa bị sửa đổi, và tình trạng hiện tại của kết quả.")
    development = devca.DEV_MARK in signer.subject
    return pdfcopy.CertificationPage(
        title="CHỨNG NHẬN BẢN SAO", lines=lines, statement=statement,
        status=STATUS_TEXT.get(status, status).upper(), code=code, verify_url=url, note=note,
        warning="MÔI TRƯỜNG THỬ NGHIỆM — DEVELOPMENT ONLY — KHÔNG CÓ GIÁ TRỊ PHÁP LÝ" if development else "",
        footer=(f"{KIND_TITLES.get(request.kind, '')} · Mã kiểm tra: {{code}} · {url} "
                "· Trang {page}/{pages}"),
    )


def scans_of(record: Record, store: FileStore) -> list[pdfcopy.Scan]:
    """The result's stored files in order. Raises InvalidInput when there are none or one is missing."""
    scans = []
    for record_file in record.files:
        try:
            with store.open(record_file.document_sha256) as handle:
                scans.append(pdfcopy.Scan(handle.read(), record_file.document.media_type))
        except FileNotFoundError:
            current_app.logger.warning("copy: file %s of %s missing from the store",
                                       record_file.document_sha256, record.source_id)
            raise InvalidInput(_("A scanned file of this result is missing from the store: the copy "
                                 "cannot be made. Please tell the administrator.")) from None
    if not scans:
        raise InvalidInput(_("This result has no scanned file: no copy can be made of it."))
    return scans


def sign_pdf(data: bytes, signer: keys.UnitSigner, *, reason: str, name: str) -> bytes:
    """PAdES B-B signature over the whole file (no time-stamp authority: fully offline)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(field_name="ChungNhanBanSao", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, reason=reason,
                                        location="Hà Nội", name=name)
    out = io.BytesIO()
    signers.sign_pdf(writer, meta, signer=signer.signer, output=out)
    return out.getvalue()


def issue_copy(session: Session, request: CopyRequest, clerk: StaffUser, now: datetime) -> IssuedCopy:
    """Make, sign and store the copy of ``request``'s result; returns the IssuedCopy (flushed).

    The caller moves the request to "issued" (events.transition) and commits. Raises Forbidden
    (the clerk does not serve the request's unit), InvalidTransition (request not in progress),
    InvalidInput (no or missing scans), SigningUnavailable (no key for the unit).
    """
    if not serves_unit(clerk, request.unit):
        raise Forbidden()
    if request.state != State.IN_PROGRESS:
        raise InvalidTransition(State(request.state), Action.ISSUE)
    config = current_app.config
    store = FileStore.from_config(config)
    record = request.record
    scans = scans_of(record, store)
    signer = signer_for(config, request)
    code = new_code()
    url = verify_url(code, config)
    page = certification(record, request, clerk, now, code, url, signer)
    try:
        unsigned = pdfcopy.build_copy(scans, page, title=f"{KIND_TITLES.get(request.kind, '')} "
                                      f"{record.doc_type_name} {record.number_display}")
    except Exception as error:  # a damaged scan: pypdf and Pillow raise many kinds
        current_app.logger.warning("copy of %s: scan unreadable: %s", record.source_id, error)
        raise InvalidInput(_("A scanned file of this result could not be read: the copy cannot be made. "
                             "Please tell the administrator.")) from error
    signed = sign_pdf(unsigned, signer, reason=f"{KIND_TITLES.get(request.kind, '')} — {request.reference}",
                      name=clerk.full_name)
    sha256 = store.put_bytes(signed)
    issued = IssuedCopy(request=request, code=code, sha256=sha256, size=len(signed), signed_at=now,
                        signer=clerk, unit=request.unit, certificate_subject=signer.subject[:300],
                        status_at_issue=record.effective_status(clock.in_hanoi(now).date()))
    session.add(issued)
    session.flush()
    return issued


def _serializer(config) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_keys(config), salt=LINK_SALT)


def download_token(issued: IssuedCopy, config=None) -> str:
    return _serializer(config or current_app.config).dumps(issued.code)


def download_url(issued: IssuedCopy, *, base_url: str | None = None, config=None) -> str:
    """An absolute link that downloads the copy without logging in, for COPY_LINK_MINUTES."""
    config = config or current_app.config
    return (f"{public_base_url(config, base_url)}/copies/{issued.code}/download"
            f"?token={download_token(issued, config)}")


class LinkExpired(Exception):
    """A genuine download link past its lifetime."""


def may_download(issued: IssuedCopy, citizen, token: str, config=None) -> bool:
    """The requester, logged in (``citizen``), or anyone holding a link made for this copy.
    Raises LinkExpired for a genuine link past its lifetime (unless the requester holds it)."""
    if citizen is not None and citizen.id == issued.request.requester_id:
        return True
    return bool(token) and check_download_token(token, issued.code, config)


def read_for_download(session: Session, actor, issued: IssuedCopy, config=None) -> bytes:
    """The signed PDF, its download written to the access log (the copy carries the result's
    scans). Read whole: a copy is a few megabytes at most, and no file handle outlives the request.
    Raises NotFound when the stored file is missing (logged at ERROR)."""
    try:
        with FileStore.from_config(config or current_app.config).open(issued.sha256) as handle:
            data = handle.read()
    except FileNotFoundError:
        current_app.logger.error("issued copy %s: file %s missing from the store", issued.code, issued.sha256)
        raise NotFound() from None
    record_access(session, actor, issued.request.record, "record.download", personal_data=True,
                  details={"copy": issued.code})
    return data


def check_download_token(token: str, code: str, config=None) -> bool:
    """True when ``token`` was made for ``code`` and has not expired. Raises LinkExpired."""
    config = config or current_app.config
    try:
        value = _serializer(config).loads(token, max_age=int(config["COPY_LINK_MINUTES"]) * 60)
    except SignatureExpired as error:
        if error.payload is not None and _serializer(config).loads_unsafe(token)[1] == code:
            raise LinkExpired() from error
        return False
    except BadSignature:
        return False
    return value == code
