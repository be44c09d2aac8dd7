"""Issue, rotate, revoke and check API keys; count each key's requests per Hanoi day.

A key reads ``hnp_<prefix>_<secret>``: the prefix (8 characters) finds the row, the whole key's
SHA-256 is compared in constant time. Rotation gives a new key and revokes the old one at once, with
no grace period: a key is rotated mostly because it leaked, and then the leak must close now (an
organization that wants a smooth switch asks for a second key, deploys it, then has the first
revoked).

Like the other services: an explicit session and actor, audited, never committed here. The
counting of each key's requests against its quota is in `portal.api_keys.quota`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit, clock
from portal.api_keys.models import ApiKey
from portal.db import utcnow
from portal.errors import InvalidInput, NotFound

#: Scope name → what it allows (English; the admin form shows it next to the Vietnamese one).
SCOPES = {
    "search": "Tra cứu, gợi ý / search and suggestions",
    "status:batch": "Kiểm tra tình trạng theo lô / batch status checks",
    "verify": "Xác minh bản sao có chữ ký / verify signed copies",
    "personal:read": "Hiệu lực kết quả cá nhân, ghi vào nhật ký của người được cấp / status of personal "
                     "results, logged for their holder",
}
PREFIX = "hnp"
MAX_QUOTA = 10_000_000


@dataclass(frozen=True)
class Issued:
    key: ApiKey
    #: The whole key, ``hnp_<prefix>_<secret>``: shown once, never stored.
    secret: str


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _validate(organization: str, scopes: list[str], daily_quota: int) -> tuple[str, list[str]]:
    organization = organization.strip()
    if not organization:
        raise InvalidInput("Cần tên tổ chức / an organization name is required.")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidInput(f"Phạm vi không có / unknown scopes: {', '.join(unknown)}")
    if not 1 <= daily_quota <= MAX_QUOTA:
        raise InvalidInput(f"Hạn mức/ngày phải từ 1 đến {MAX_QUOTA} / daily quota must be 1..{MAX_QUOTA}.")
    return organization, sorted(set(scopes))


def _new_key(session: Session, **fields) -> Issued:
    prefix = secrets.token_hex(4)
    while session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is not None:
        prefix = secrets.token_hex(4)
    whole = f"{PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(prefix=prefix, secret_hash=_hash(whole), created_at=utcnow(), **fields)
    session.add(key)
    session.flush()
    return Issued(key, whole)


def issue(session: Session, actor: str, *, organization: str, contact_email: str = "",
          scopes: list[str], daily_quota: int) -> Issued:
    organization, scopes = _validate(organization, scopes, daily_quota)
    issued = _new_key(session, organization=organization, contact_email=contact_email.strip(), scopes=scopes,
                      daily_quota=daily_quota, created_by=actor)
    audit.record(session, actor=actor, action="api_key.issued", object_ref=f"api_key:{issued.key.id}",
                 details={"organization": organization, "scopes": scopes, "daily_quota": daily_quota,
                          "prefix": issued.key.prefix})
    return issued


def get(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound()
    return key


def revoke(session: Session, actor: str, key: ApiKey) -> None:
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    audit.record(session, actor=actor, action="api_key.revoked", object_ref=f"api_key:{key.id}",
                 details={"prefix": key.prefix})


def rotate(session: Session, actor: str, key: ApiKey) -> Issued:
    """A new secret for the same organization, scopes and quota; the old key stops working now."""
    if key.revoked_at is not None:
        raise InvalidInput("Khóa đã bị thu hồi / this key is revoked.")
    key.revoked_at = utcnow()
    issued = _new_key(session, organization=key.organization, contact_email=key.contact_email,
                      scopes=list(key.scopes), daily_quota=key.daily_quota, created_by=actor,
                      rotated_from_id=key.id)
    audit.record(session, actor=actor, action="api_key.rotated", object_ref=f"api_key:{issued.key.id}",
                 details={"old": key.id, "old_prefix": key.prefix, "prefix": issued.key.prefix})
    return issued


def authenticate(session: Session, presented: str | None) -> ApiKey | None:
    """The active key ``presented`` is, or None (unknown, malformed, revoked)."""
    parts = (presented or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 8:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(presented.strip())):
        return None
    return key if key.revoked_at is None else None


def all_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())))
