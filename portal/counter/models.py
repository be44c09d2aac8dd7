"""Tables of the area (see __init__.py): one row per assisted session at the counter."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.identity.models import StaffUser, Subject
from portal.units.models import AdminUnit


class CounterState(StrEnum):
    #: Opened by the clerk, waiting for the person's consent (a code or a signed form).
    PENDING = "pending"
    #: Consent given: the clerk acts for the person until ``expires_at``.
    ACTIVE = "active"
    #: Ended by the clerk, by time, by a new session of the clerk, or refused (too many wrong codes).
    ENDED = "ended"


class CounterSession(Base):
    """A clerk acting for one person, in one unit, for a limited time, with their consent."""

    __tablename__ = "counter_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    #: The current unit whose counter serves the person: the session reaches the results of this
    #: unit and of the old units merged into it, no others.
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    state: Mapped[str] = mapped_column(String(10), default=CounterState.PENDING.value, index=True)
    #: "code" (a one-time code sent to the contact on file) or "form" (a signed consent form, scanned).
    consent_method: Mapped[str | None] = mapped_column(String(10))
    #: The contact on file when the session was opened (where the code and the summary go); "" if none.
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    #: HMAC of the one-time code under the app's secret key; "" when none was sent.
    code_hash: Mapped[str] = mapped_column(String(64), default="")
    code_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    code_sends: Mapped[int] = mapped_column(Integer, default=0)
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: The scanned consent form (in the file store under its SHA-256).
    consent_sha256: Mapped[str | None] = mapped_column(String(64))
    consent_media_type: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: clerk, expired, replaced, too_many_codes, abandoned.
    ended_reason: Mapped[str | None] = mapped_column(String(20))
    #: When the summary mail was queued (once per session).
    summary_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    staff: Mapped[StaffUser] = relationship(lazy="joined")
    subject: Mapped[Subject] = relationship(lazy="joined")
    unit: Mapped[AdminUnit] = relationship(lazy="joined")
