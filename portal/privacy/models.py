"""Tables of the area: the rights requests a person sends about their personal data (Law
91/2025/QH15 on personal data protection, Decree 356/2025/NĐ-CP), with the deadline each carries
(portal/privacy/data/deadlines.toml)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.identity.models import Citizen, StaffUser


class RightsKind(StrEnum):
    EXPORT = "export"
    CORRECTION = "correction"
    OBJECTION = "objection"
    RESTRICTION = "restriction"


class RightsState(StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    REFUSED = "refused"


#: States in which a request still waits for staff.
OPEN_STATES = (RightsState.RECEIVED.value, RightsState.IN_PROGRESS.value)


class DataRightsRequest(Base):
    """One request of a person about their data: a download (answered at once), a correction (a
    problem-report case, ``case_reference``), an objection to or a restriction of one processing."""

    __tablename__ = "data_rights_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "DL-2026-000123": DL for dữ liệu cá nhân; the year received (Hanoi time); the id.
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True)
    #: The person the request is about (the account's own subject), when the account has one.
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), index=True)
    #: RightsKind.
    kind: Mapped[str] = mapped_column(String(12), index=True)
    #: The processing concerned (objection, restriction: a key of services.SCOPES), or the format of
    #: a download ("json", "pdf"); "" for a correction.
    scope: Mapped[str] = mapped_column(String(30), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    #: Where the answer is mailed; "" for none (the person reads it on /my/data).
    email: Mapped[str] = mapped_column(String(200), default="")
    #: A correction's problem-report case ("PB-2026-000045").
    case_reference: Mapped[str] = mapped_column(String(20), default="")
    #: RightsState.
    state: Mapped[str] = mapped_column(String(12), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the person must have been told the request was received and how it proceeds.
    acknowledge_by: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    citizen: Mapped[Citizen] = relationship(lazy="joined")
    staff: Mapped[StaffUser | None] = relationship()
