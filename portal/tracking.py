"""References and tracking codes: how a person finds again what they sent the portal.

Copy requests (``BS-``), petitions (``PA-``) and problem reports (``PB-``) get a reference made of
the prefix, the year they arrived (Hanoi time) and their row id: ``BS-2026-000123``. The id is
known only after the first flush, so a row starts with a random temporary reference (the column
is unique and required) and gets its final one right after.

Copy requests and petitions can also be followed without logging in, with the reference and a
tracking code shown once and e-mailed. Only ``sha256("<reference>:<code>")`` is stored: the
reference salts the hash, so one code never matches two cases. An unknown reference and a wrong
code get the same answer (`TrackingFailed`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from flask import session as browser_session
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import clock
from portal.errors import PortalError

#: Letters and digits that cannot be mistaken for one another when read from an e-mail.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # 31^10 ≈ 8·10^14 codes: guessing is hopeless even before the rate limit
#: Longer input is not read at all: no real code is near it.
MAX_TYPED = 40
#: Compared against when the reference is unknown, so that both failures take the same path.
_NO_HASH = "0" * 64


class TrackingFailed(PortalError):
    """Unknown reference, or a code that does not match it: one answer for both."""

    status = 400


# -- references -----------------------------------------------------------------------------------


def temporary_reference() -> str:
    """A unique placeholder until the first flush gives the row its id (see `final_reference`)."""
    return "tmp-" + secrets.token_hex(8)


def final_reference(prefix: str, received: datetime, row_id: int) -> str:
    """"BS-2026-000123": the prefix, the year of ``received`` in Hanoi, the id (six digits at least):
    unique and sequential without a counter to lock."""
    return f"{prefix}-{clock.in_hanoi(received).year}-{row_id:06d}"


def reference_pattern(prefix: str) -> re.Pattern[str]:
    """What a reference made by `final_reference` looks like (up to twelve digits of id)."""
    return re.compile(rf"{re.escape(prefix)}-\d{{4}}-\d{{6,12}}")


def normalize_reference(value: str | None) -> str:
    """A reference as typed or put in a URL, as stored: spaces around and case do not matter."""
    return (value or "").strip().upper()


# -- tracking codes -------------------------------------------------------------------------------


def normalize_code(code: str | None) -> str:
    """What the person typed, as issued: case, spaces and dashes do not matter."""
    return re.sub(r"[\s-]", "", code or "").upper()


def format_code(code: str) -> str:
    """"ABCDE-FGHJK": easier to read out and type."""
    return f"{code[:5]}-{code[5:]}" if len(code) == CODE_LENGTH else code


def client_tag(address: str, secret: str | bytes) -> str:
    """What the audit chain keeps of an address that tried a tracking code: a keyed hash, so the
    address (personal data) cannot be found again by hashing all 2^32 IPv4 addresses."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"track:{address}".encode(), hashlib.sha256).hexdigest()[:16]


def code_hash(reference: str, code: str) -> str:
    """What is stored of the code (``tracking_code_hash``): never the code itself."""
    return hashlib.sha256(f"{reference}:{code}".encode()).hexdigest()


def new_code(reference: str) -> tuple[str, str]:
    """A fresh tracking code for ``reference``: the code as shown once and e-mailed ("ABCDE-FGHJK"),
    and the hash to store."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return format_code(code), code_hash(reference, code)


def read_attempt(pattern: re.Pattern[str], reference: str | None, code: str | None) -> tuple[str, str]:
    """The reference and code someone typed, normalized. Raises TrackingFailed when the reference
    cannot be one of ``pattern`` or the code is empty or far too long (nothing is looked up then)."""
    reference, code = normalize_reference(reference), normalize_code(code)
    if not pattern.fullmatch(reference) or not code or len(code) > MAX_TYPED:
        raise TrackingFailed()
    return reference, code


def code_matches(stored_hash: str | None, reference: str, code: str) -> bool:
    """Whether ``code`` is the tracking code of ``reference`` whose stored hash is ``stored_hash``
    (None: no such reference; "": a case without a code). Constant time, and the hash is computed
    whatever ``stored_hash`` is, so timing does not tell an unknown reference from a wrong code."""
    same = hmac.compare_digest(stored_hash or _NO_HASH, code_hash(reference, code))
    return same and bool(stored_hash)


def find_tracked(session: Session, model: Any, pattern: re.Pattern[str], reference: str | None,
                 code: str | None, *options: Any) -> Any:
    """The case of ``model`` (columns ``reference`` and ``tracking_code_hash``) with this reference,
    loaded with ``options``, if ``code`` is its tracking code. Raises TrackingFailed, one answer
    for an unknown reference and a wrong code; the caller limits tries per address."""
    reference, code = read_attempt(pattern, reference, code)
    case = session.scalar(select(model).where(model.reference == reference).options(*options))
    if not code_matches(case.tracking_code_hash if case is not None else None, reference, code):
        raise TrackingFailed()
    return case


# -- the sender's address -------------------------------------------------------------------------


def valid_email(value: str) -> bool:
    """One plain address a person can be told at about their case: "ten@example.vn"."""
    name, address = parseaddr(value)
    return (address == value and len(value) <= 200 and value.count("@") == 1
            and "." in value.rsplit("@", 1)[1] and not any(c.isspace() for c in value))


def show_once(reference: str, code: str) -> None:
    """Keep ``code`` for this browser's next page only: the confirmation shows it once (the portal
    stores only its hash; the e-mail carries it too)."""
    browser_session[f"tracking_code:{reference}"] = code


def take_shown_once(reference: str) -> str | None:
    """The code `show_once` kept for ``reference``, forgotten as it is read (None on a reload)."""
    return browser_session.pop(f"tracking_code:{reference}", None)
