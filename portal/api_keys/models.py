"""An organization's API key and its count of requests per Hanoi day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow


class ApiKey(Base):
    """A key of one organization. Only the SHA-256 of its secret is kept: the secret is shown once.

    ``prefix`` (8 characters, not secret) finds the row and is what admins and logs show.
    """

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    #: Scope names of `portal.api_keys.service.SCOPES`.
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    daily_quota: Mapped[int] = mapped_column(Integer)
    prefix: Mapped[str] = mapped_column(String(8), unique=True)
    #: Hex SHA-256 of the whole key: the secret is random (256 bits), so no slow hash is needed.
    secret_hash: Mapped[str] = mapped_column(String(64))
    #: "staff:3" or "cli", as the audit log names the actor.
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The key this one replaced (rotation); the old one is revoked at once.
    rotated_from_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"), nullable=True)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def audit_name(self) -> str:
        """How the audit and access logs name a read made with this key (the organization is found
        from the id: a holder's access log shows it)."""
        return f"apikey:{self.id}"


class ApiKeyUsage(Base):
    """Requests a key made on one Hanoi day (accepted ones and refused ones over the quota alike)."""

    __tablename__ = "api_key_usage"

    key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
