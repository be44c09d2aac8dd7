"""Public verification of a copy, by its code or by the PDF itself: is it authentic and unaltered,
who issued it, and what is the result's status now.

An uploaded file is authentic when its signature validates against the trust roots AND its
SHA-256 is that of a copy we issued: a one-byte change breaks both, and a file re-signed by
anyone else matches no issued copy. A file that names one of our codes but is not that copy is
"altered"; anything else is "unknown".
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import clock
from portal.copy_requests import keys, pdfcopy
from portal.copy_requests.models import IssuedCopy
from portal.copy_requests.signing import KIND_TITLES
from portal.db import utcnow
from portal.errors import InvalidInput
from portal.files.inspect import Budgets, UnreadableFile, sniff
from portal.files.isolated import inspect_upload, refusal_text
from portal.files.store import FileStore
from portal.records.access_log import record_access
from portal.records.models import Record, ResultStatus

log = logging.getLogger(__name__)
CODE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


class Outcome(StrEnum):
    #: Authentic and unaltered, and the result is valid now.
    VALID = "valid"
    #: Authentic and unaltered, but the result is no longer valid (expired, revoked, replaced, annulled).
    NOT_VALID = "authentic_not_valid"
    #: It names a copy we issued but is not that file (a byte changed, re-signed, pages added…).
    ALTERED = "altered"
    #: Not a copy issued here (or a code that does not exist).
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SignatureCheck:
    intact: bool
    valid: bool
    trusted: bool
    whole_file: bool
    certificate_subject: str
    signing_time: datetime | None

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and self.whole_file


@dataclass
class Verification:
    outcome: Outcome
    source: str  # "code" or "upload"
    as_of: datetime  # Hanoi time
    code: str | None = None
    issued: IssuedCopy | None = None
    signature: SignatureCheck | None = None
    #: The file checked hashes to the SHA-256 recorded when the copy was issued.
    unaltered: bool | None = None
    status: str | None = None
    #: When the result stopped being valid (revoked / replaced / annulled on, expired after).
    status_since: date | None = None
    replaced_by: list[Record] = field(default_factory=list)

    @property
    def authentic(self) -> bool:
        return self.outcome in (Outcome.VALID, Outcome.NOT_VALID)

    @property
    def record(self) -> Record | None:
        return self.issued.request.record if self.issued else None

    def as_json(self) -> dict:
        issued, record, sig = self.issued, self.record, self.signature
        return {
            "outcome": self.outcome.value,
            "authentic": self.authentic,
            "source": self.source,
            "as_of": self.as_of.isoformat(timespec="seconds"),
            "code": self.code if issued else None,
            "signature": None if sig is None else {
                "valid": sig.ok, "intact": sig.intact, "trusted": sig.trusted, "whole_file": sig.whole_file,
                "certificate_subject": sig.certificate_subject,
                "signing_time": sig.signing_time.isoformat(timespec="seconds") if sig.signing_time else None,
            },
            "unaltered": self.unaltered,
            "issued": None if issued is None else {
                "unit": issued.unit.name, "clerk": issued.signer.full_name,
                "signed_at": clock.in_hanoi(issued.signed_at).isoformat(timespec="seconds"),
                "reference": issued.request.reference, "kind": issued.request.kind,
                "kind_label": KIND_TITLES.get(issued.request.kind, issued.request.kind),
                "certificate_subject": issued.certificate_subject, "status_at_issue": issued.status_at_issue,
            },
            "result": None if record is None else {
                "document_type": record.doc_type_name, "number": record.number_display,
                "issued_date": record.issued_date.isoformat(), "issuer": record.issuer_name,
                "status": self.status,
                "status_since": self.status_since.isoformat() if self.status_since else None,
                "replaced_by": [{"document_type": r.doc_type_name, "number": r.number_display,
                                 "issued_date": r.issued_date.isoformat()} for r in self.replaced_by],
            },
        }


def check_signature(data: bytes, roots) -> SignatureCheck | None:
    """The last signature of ``data`` checked against ``roots``; None when it has none or is unreadable."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
        if not signatures:
            return None
        context = ValidationContext(trust_roots=list(roots), allow_fetching=False,
                                    revocation_mode="soft-fail")
        status = validate_pdf_signature(signatures[-1], context)
    except Exception as error:  # a damaged file breaks pyhanko in many ways; it is just not authentic
        log.info("signature check failed: %s", error)
        return None
    return SignatureCheck(intact=bool(status.intact), valid=bool(status.valid), trusted=bool(status.trusted),
                          whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
                          certificate_subject=status.signing_cert.subject.human_friendly,
                          signing_time=status.signer_reported_dt)


def _status_now(session: Session, result: Verification, record: Record, today: date) -> None:
    status = record.effective_status(today)
    result.status = status
    if status == ResultStatus.EXPIRED and record.valid_to:
        result.status_since = record.valid_to + timedelta(days=1)
    elif status != ResultStatus.VALID:
        changes = [c for c in record.status_history if c.new_status == record.status]
        moment = changes[-1].changed_at if changes else record.status_changed_at
        result.status_since = clock.in_hanoi(moment).date() if moment else None
    if status == ResultStatus.REPLACED or record.status == ResultStatus.REPLACED:
        result.replaced_by = list(session.scalars(
            select(Record).where(Record.replaces_source_id == record.source_id).order_by(Record.issued_date)))


def _conclude(session: Session, result: Verification, actor, config, channel: str) -> Verification:
    issued = result.issued
    if issued is None:
        result.outcome = Outcome.UNKNOWN
        return result
    record = issued.request.record
    _status_now(session, result, record, result.as_of.date())
    if not (result.unaltered and result.signature is not None and result.signature.ok):
        result.outcome = Outcome.ALTERED
    elif result.status == ResultStatus.VALID:
        result.outcome = Outcome.VALID
    else:
        result.outcome = Outcome.NOT_VALID
    # Logged for the holder whether or not the result is personal: the copy carries their scans,
    # and "your copy was verified on …" is what they want to know (their own checks are not logged).
    record_access(session, actor, record, "copy.verify", channel=channel, personal_data=True,
                  details={"copy": issued.code, "outcome": result.outcome.value,
                           "source": result.source})
    return result


def find_issued(session: Session, code: str) -> IssuedCopy | None:
    if not CODE_SHAPE.match(code or ""):
        return None
    return session.scalar(select(IssuedCopy).where(IssuedCopy.code == code))


def verify_code(session: Session, code: str, actor, config, *, now: datetime | None = None,
                channel: str = "web") -> Verification:
    """Check the stored copy with this code and the result's status now; logs the check (``channel``:
    how it came, "web" or "api", as the holder's access log shows it)."""
    result = Verification(outcome=Outcome.UNKNOWN, source="code", as_of=clock.in_hanoi(now or utcnow()),
                          code=code)
    issued = find_issued(session, code)
    if issued is None:
        return result
    result.issued = issued
    try:
        with FileStore.from_config(config).open(issued.sha256) as handle:
            data = handle.read()
    except FileNotFoundError:
        log.error("issued copy %s: file %s missing from the store", issued.code, issued.sha256)
        data = b""
    result.unaltered = hashlib.sha256(data).hexdigest() == issued.sha256
    result.signature = check_signature(data, keys.trust_roots(config)) if data else None
    return _conclude(session, result, actor, config, channel)


def check_upload(data: bytes, config) -> None:
    """Raises InvalidInput with a message for the person when ``data`` is not a PDF we can check.
    The message is lazy: it reads in the language in force where it is shown (the API shows both)."""
    if not data:
        raise InvalidInput(_l("Choose the PDF file of the copy to check."))
    limit = int(config["COPY_VERIFY_MAX_BYTES"])
    if len(data) > limit:
        raise InvalidInput(_l("The file is larger than %(size)s MB: a copy issued by the portal is much "
                              "smaller.",
                              size=limit // (1024 * 1024)))
    # By content: "%PDF-" at the first byte, no web-page markup in the head (an HTML page with a
    # PDF inside is not a copy, whatever its name).
    if sniff(data[:1024]) != "application/pdf":
        raise InvalidInput(_l("This file is not a PDF. Upload the PDF copy you received (ending in .pdf)."))


def inspect_within_budgets(data: bytes, config) -> None:
    """The upload inspection of every web upload (portal.files.isolated: a child process with the
    page, pixel, decoded-bytes, time and memory budgets), before pyhanko reads the file. Raises
    InvalidInput when the file is over a budget; a damaged file goes on (it is just not authentic)."""
    with tempfile.NamedTemporaryFile(prefix="verify-") as handle:
        handle.write(data)
        handle.flush()
        try:
            inspect_upload(Path(handle.name), Budgets.from_config(config),
                           max_bytes=int(config["COPY_VERIFY_MAX_BYTES"]),
                           types=frozenset({"application/pdf"}))
        except UnreadableFile as problem:
            if problem.over_budget:
                raise InvalidInput(LazyString(refusal_text, problem)) from problem


def verify_upload(session: Session, data: bytes, actor, config, *,
                  now: datetime | None = None, channel: str = "web") -> Verification:
    """Check an uploaded PDF; logs the check when it names a copy issued here. Raises InvalidInput."""
    check_upload(data, config)
    result = Verification(outcome=Outcome.UNKNOWN, source="upload", as_of=clock.in_hanoi(now or utcnow()))
    sha256 = hashlib.sha256(data).hexdigest()
    issued = session.scalar(select(IssuedCopy).where(IssuedCopy.sha256 == sha256).limit(1))
    if issued is None:
        # Not a file we made, byte for byte: anyone's, so bounded before anything parses it.
        inspect_within_budgets(data, config)
        code = pdfcopy.find_code(data)
        issued = find_issued(session, code) if code else None
    if issued is None:
        return result
    result.issued, result.code = issued, issued.code
    result.unaltered = issued.sha256 == sha256
    result.signature = check_signature(data, keys.trust_roots(config))
    return _conclude(session, result, actor, config, channel)
