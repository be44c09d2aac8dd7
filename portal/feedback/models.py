"""What people tell the city: ratings of handled copy requests, problem reports on results (and the
corrections they lead to), and petitions (phản ánh, kiến nghị, Decree 20/2008/NĐ-CP).

Complaints (khiếu nại) and denunciations (tố cáo) follow other laws and other procedures: they are
not petitions, and staff classify such a message as ``declined`` with guidance, never as a petition.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, TimestampMixin, UTCDateTime, utcnow
from portal.identity.models import Citizen, StaffUser
from portal.records.models import Record
from portal.units.models import AdminUnit

# -- satisfaction ratings -------------------------------------------------------------------------


class Rating(Base, TimestampMixin):
    """One rating per copy request, by its requester, once it was issued or rejected.

    ``updated_at`` moves when the requester changes it (allowed for RATING_CHANGE_DAYS after
    ``created_at``).
    """

    __tablename__ = "rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_request_id: Mapped[int] = mapped_column(ForeignKey("copy_request.id"), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    #: The unit that handled the request (copied from it: the scorecard groups by it).
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    #: Id of the scale in data/rating_scales.json ("5-levels", "3-levels"…).
    scale_id: Mapped[str] = mapped_column(String(20))
    #: How many levels the scale has, kept so scores stay comparable if the configuration changes.
    scale_levels: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")

    citizen: Mapped[Citizen] = relationship()
    unit: Mapped[AdminUnit] = relationship()
    scores: Mapped[list[RatingScore]] = relationship(
        back_populates="rating", cascade="all, delete-orphan", order_by="RatingScore.id", lazy="selectin")


class RatingScore(Base):
    """One criterion of a rating: an ordinal value 1..scale_levels (1 = worst)."""

    __tablename__ = "rating_score"
    __table_args__ = (UniqueConstraint("rating_id", "criterion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("rating.id", ondelete="CASCADE"), index=True)
    #: Criterion id from data/rating_scales.json ("overall", "on_time", "staff_attitude"…).
    criterion: Mapped[str] = mapped_column(String(30))
    value: Mapped[int] = mapped_column(Integer)

    rating: Mapped[Rating] = relationship(back_populates="scores")


# -- problem reports and corrections --------------------------------------------------------------


class ProblemKind(StrEnum):
    WRONG_NAME = "wrong_name"
    WRONG_DATE = "wrong_date"
    MISSING_PAGE = "missing_page"
    UNREADABLE_SCAN = "unreadable_scan"
    WRONG_STATUS = "wrong_status"
    OTHER = "other"


class ReportState(StrEnum):
    OPEN = "open"  # waiting for a clerk of the result's unit
    CORRECTED = "corrected"  # fixed by a correction (RecordCorrection.report_id)
    DISMISSED = "dismissed"  # nothing was wrong, with the clerk's explanation


class ProblemReport(Base, TimestampMixin):
    """"Report a problem with this result": a case for the clerks of the result's unit."""

    __tablename__ = "problem_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Shown to the reporter: "PB-2026-000123".
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    #: The current unit whose clerks handle it (the result's issuing unit or its successor).
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    #: A logged-in reporter; None for an anonymous one (public results), who leaves an e-mail.
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    reporter_name: Mapped[str] = mapped_column(String(200), default="")
    reporter_email: Mapped[str] = mapped_column(String(200), default="")
    #: Optional attachment, in the content-addressed file store.
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    attachment_name: Mapped[str] = mapped_column(String(200), default="")
    attachment_media_type: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[str] = mapped_column(String(12), default=ReportState.OPEN.value, index=True)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    record: Mapped[Record] = relationship()
    unit: Mapped[AdminUnit] = relationship()
    reporter: Mapped[Citizen | None] = relationship()
    resolved_by: Mapped[StaffUser | None] = relationship()
    corrections: Mapped[list[RecordCorrection]] = relationship(
        back_populates="report", order_by="RecordCorrection.id")


class RecordCorrection(Base):
    """One edit of a result by a clerk: the fields before and after, why, and who.

    ``before``/``after`` map field names to values as JSON (dates as ISO strings); together the
    rows of a result are its version history. Field values of personal results are shown only to
    those who may read them.
    """

    __tablename__ = "record_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    #: The report that led to it, if any.
    report_id: Mapped[int | None] = mapped_column(ForeignKey("problem_report.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    reason: Mapped[str] = mapped_column(Text)
    before: Mapped[dict] = mapped_column(JSON, default=dict)
    after: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    record: Mapped[Record] = relationship()
    staff: Mapped[StaffUser] = relationship()
    report: Mapped[ProblemReport | None] = relationship(back_populates="corrections")


# -- petitions (phản ánh, kiến nghị) --------------------------------------------------------------


class PetitionAbout(StrEnum):
    #: On administrative rules themselves (quy định hành chính).
    RULES = "rules"
    #: On how they were applied (hành vi hành chính, e.g. a desk asking for papers not required).
    APPLICATION = "application"


class PetitionState(StrEnum):
    RECEIVED = "received"  # waiting for classification
    IN_PROGRESS = "in_progress"  # classified, handled by ``unit_id``
    ANSWERED = "answered"
    #: Not a petition (a complaint, a denunciation, no content): closed with guidance.
    DECLINED = "declined"


class Petition(Base, TimestampMixin):
    __tablename__ = "petition"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Shown to the sender: "PA-2026-000123".
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    about: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    sender_name: Mapped[str] = mapped_column(String(200))
    sender_address: Mapped[str] = mapped_column(String(300))
    sender_phone: Mapped[str] = mapped_column(String(20), default="")
    sender_email: Mapped[str] = mapped_column(String(200), default="")
    #: Logged in when sending; None for anyone else (the form is open to everyone).
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    #: The unit it is addressed to / handled by now (forwarding changes it); None: the city.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    #: Category id from data/petition_categories.json, set by staff; it sets the deadline.
    category: Mapped[str] = mapped_column(String(30), default="")
    state: Mapped[str] = mapped_column(String(12), default=PetitionState.RECEIVED.value, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: Handling deadline: received_at + the category's working days.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    #: The answer is on the public list of answers (with the sender's name and contacts left out).
    published: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Hash of the code given to the sender, to follow the petition without logging in.
    tracking_code_hash: Mapped[str] = mapped_column(String(128), default="")

    unit: Mapped[AdminUnit | None] = relationship()
    citizen: Mapped[Citizen | None] = relationship()
    answered_by: Mapped[StaffUser | None] = relationship()
    events: Mapped[list[PetitionEvent]] = relationship(
        back_populates="petition", order_by="PetitionEvent.id", cascade="all, delete-orphan")


class PetitionEvent(Base):
    """One step of a petition: received, classified, forwarded (from → to unit), answered, published,
    declined."""

    __tablename__ = "petition_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(20))
    #: "citizen:<id>", "staff:<id>", "anonymous", "system".
    actor: Mapped[str] = mapped_column(String(80))
    from_unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))
    to_unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    petition: Mapped[Petition] = relationship(back_populates="events")
    from_unit: Mapped[AdminUnit | None] = relationship(foreign_keys=[from_unit_id])
    to_unit: Mapped[AdminUnit | None] = relationship(foreign_keys=[to_unit_id])
