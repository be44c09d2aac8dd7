"""Issued counts (how many results a unit issued, per procedure and year) and requests to digitize
a result the portal does not hold yet."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, TimestampMixin, UTCDateTime, utcnow
from portal.identity.models import Citizen, StaffUser
from portal.procedures.models import Procedure
from portal.records.models import Record
from portal.units.models import AdminUnit

#: The coverage page groups a unit's results by procedure and year of issue and takes the earliest
#: digitized (or imported) time: this index covers all five columns, so the GROUP BY reads the
#: index alone, never a row of the table (the busiest ward at a million results: 18 ms instead of
#: 78 ms with the first three columns only, SQLite). Declared here, beside the only query that
#: needs it, rather than in the records area.
RECORD_COVERAGE_INDEX = Index(
    "ix_record_coverage",
    Record.__table__.c.issuing_unit_id,
    Record.__table__.c.procedure_code,
    Record.__table__.c.issued_date,
    Record.__table__.c.digitized_at,
    Record.__table__.c.created_at,
)


class IssuedCount(Base):
    """How many results a current unit issued for a procedure in a year, as its staff uploaded it
    (one row per unit, procedure and year: a new upload replaces it)."""

    __tablename__ = "issued_count"

    #: A current commune or ward: the count covers its area, old units merged into it included.
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedure.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    issued: Mapped[int] = mapped_column(Integer)
    #: Who uploaded it; None when loaded with `flask coverage load-issued`.
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RequestState(StrEnum):
    RECEIVED = "received"  # waiting for a clerk of the handling unit
    CLAIMED = "claimed"  # a clerk is looking for it
    DIGITIZED = "digitized"  # found and digitized: ``record_id`` is the result
    NOT_FOUND = "not_found"  # the unit's archive does not hold it
    NOT_OURS = "not_ours"  # the unit did not issue it


OPEN_STATES = frozenset({RequestState.RECEIVED, RequestState.CLAIMED})


class DigitizationRequest(Base, TimestampMixin):
    """ "Không tìm thấy? Đề nghị số hóa kết quả của bạn": a case for the clerks of the unit that
    handles the issuing unit's results now. The requester's name and contacts are personal data."""

    __tablename__ = "digitization_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Shown to the requester: "SH-2026-000123".
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    doc_number: Mapped[str] = mapped_column(String(60))
    issued_date: Mapped[date] = mapped_column(Date)
    #: The unit as the requester chose it (an old or a current one).
    issuing_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    #: The current unit whose clerks handle it (`units.services.handling_unit`).
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    procedure_code: Mapped[str | None] = mapped_column(ForeignKey("procedure.code"))
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_email: Mapped[str] = mapped_column(String(200), default="")
    requester_phone: Mapped[str] = mapped_column(String(20), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    #: Logged in when sending; None for anyone else.
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default=RequestState.RECEIVED.value, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    #: What the clerk tells the requester.
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The result, once digitized.
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"))
    #: Hash of the code given to the requester (`portal.tracking`), never the code.
    tracking_code_hash: Mapped[str] = mapped_column(String(128), default="")

    issuing_unit: Mapped[AdminUnit] = relationship(foreign_keys=[issuing_unit_id])
    unit: Mapped[AdminUnit] = relationship(foreign_keys=[unit_id])
    procedure: Mapped[Procedure | None] = relationship()
    citizen: Mapped[Citizen | None] = relationship()
    claimed_by: Mapped[StaffUser | None] = relationship()
    record: Mapped[Record | None] = relationship()
    events: Mapped[list[DigitizationRequestEvent]] = relationship(
        back_populates="request", order_by="DigitizationRequestEvent.id", cascade="all, delete-orphan"
    )


class DigitizationRequestEvent(Base):
    """One step: received, claimed, answered (with the outcome as ``action``)."""

    __tablename__ = "digitization_request_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("digitization_request.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(20))
    #: "citizen:<id>", "staff:<id>", "anonymous".
    actor: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[DigitizationRequest] = relationship(back_populates="events")
