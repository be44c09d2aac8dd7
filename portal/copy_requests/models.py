"""Copy requests, their history, and the signed copies issued for them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.copy_requests.workflow import State
from portal.db import Base, TimestampMixin, UTCDateTime, utcnow
from portal.identity.models import Citizen, StaffUser
from portal.records.models import Record
from portal.units.models import AdminUnit


class CopyKind(StrEnum):
    #: An electronic copy issued from the master register (bản sao điện tử từ sổ gốc).
    ELECTRONIC = "electronic"
    #: A certified electronic copy (bản sao điện tử có chứng thực).
    CERTIFIED = "certified"
    #: A paper copy collected at the one-stop desk.
    PAPER_DESK = "paper_desk"
    #: A paper copy sent by public post (bưu chính công ích) to an address.
    PAPER_POST = "paper_post"


ELECTRONIC_KINDS = frozenset({CopyKind.ELECTRONIC, CopyKind.CERTIFIED})


class CopyRequest(Base, TimestampMixin):
    __tablename__ = "copy_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Shown to the requester and printed on the copy: "BS-2026-000123".
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    #: The current unit that handles it: the result's issuing unit or its successor (the first listed).
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    copies: Mapped[int] = mapped_column(Integer, default=1)
    purpose: Mapped[str] = mapped_column(String(300))
    #: Paper copies by post: where to.
    delivery_address: Mapped[str] = mapped_column(Text, default="")
    #: Where notifications go (from the form; the SSO does not always give one).
    email: Mapped[str] = mapped_column(String(200), default="")
    #: Pages of the result's scans, counted when the request was made (the fee depends on it).
    pages: Mapped[int] = mapped_column(Integer)
    fee_vnd: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default=State.SUBMITTED.value, index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    #: Rejections: a code from the list (REJECT_REASONS) plus free text.
    reject_reason: Mapped[str] = mapped_column(String(40), default="")
    reject_note: Mapped[str] = mapped_column(Text, default="")
    #: Paper copies by post: the postal tracking number.
    tracking_number: Mapped[str] = mapped_column(String(60), default="")
    #: Hash of the code sent to the requester, to follow the request without logging in.
    tracking_code_hash: Mapped[str] = mapped_column(String(128), default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    record: Mapped[Record] = relationship()
    requester: Mapped[Citizen] = relationship()
    unit: Mapped[AdminUnit] = relationship()
    assigned_to: Mapped[StaffUser | None] = relationship()
    events: Mapped[list[CopyRequestEvent]] = relationship(
        back_populates="request", order_by="CopyRequestEvent.id", cascade="all, delete-orphan")
    issued: Mapped[list[IssuedCopy]] = relationship(back_populates="request", order_by="IssuedCopy.id")


class CopyRequestEvent(Base):
    """One transition of a request: the requester's timeline and the staff's record of who did what."""

    __tablename__ = "copy_request_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("copy_request.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    #: "citizen:<id>", "staff:<id>", "system".
    actor: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[CopyRequest] = relationship(back_populates="events")


class IssuedCopy(Base):
    """A signed PDF issued for a request: what the verification page checks a copy against."""

    __tablename__ = "issued_copy"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("copy_request.id"), index=True)
    #: Printed on the copy and in its QR code: /verify/<code>. Random, unguessable.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    #: SHA-256 of the signed PDF as issued (also its key in the file store).
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    signer_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    #: Subject name of the signing certificate (the unit's), as it appears in the signature.
    certificate_subject: Mapped[str] = mapped_column(String(300))
    #: The result's status when the copy was made ("valid as of" on the certification page).
    status_at_issue: Mapped[str] = mapped_column(String(20))

    request: Mapped[CopyRequest] = relationship(back_populates="issued")
    signer: Mapped[StaffUser] = relationship()
    unit: Mapped[AdminUnit] = relationship()
