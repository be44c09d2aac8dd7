"""Results a holder follows, and the notices already queued for each (issue 17, item 1)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.identity.models import Citizen
from portal.records.models import Record


def _link_nonce() -> str:
    return secrets.token_urlsafe(12)


class Follow(Base):
    """A citizen or business account following one result, told at ``email``."""

    __tablename__ = "follow"
    __table_args__ = (UniqueConstraint("citizen_id", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), index=True)
    #: Accounts carry no e-mail address: the follower gives one with each follow.
    email: Mapped[str] = mapped_column(String(200))
    #: Signed into the unfollow link with the id: SQLite may give a deleted follow's id to a new
    #: one, and an old mail's link must not unfollow that one.
    link_nonce: Mapped[str] = mapped_column(String(24), default=_link_nonce)
    #: Events before this moment are not news to the follower: only later ones are mailed.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    citizen: Mapped[Citizen] = relationship(lazy="joined")
    record: Mapped[Record] = relationship(lazy="joined")
    #: Deleted with the follow by the ORM too: SQLite enforces no foreign key here.
    notices: Mapped[list[FollowNotice]] = relationship(back_populates="follow", cascade="all, delete-orphan",
                                                       lazy="select")


class FollowNotice(Base):
    """One event already queued for one follow. The unique (follow, event key) pair is what makes
    a re-run, or two workers at once, queue each notice once."""

    __tablename__ = "follow_notice"
    __table_args__ = (UniqueConstraint("follow_id", "event_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_id: Mapped[int] = mapped_column(ForeignKey("follow.id", ondelete="CASCADE"), index=True)
    #: "expiry:<days>:<valid_to>", "status:<status_change id>", "correction:<id>", "replacement:<record id>".
    event_key: Mapped[str] = mapped_column(String(80))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    follow: Mapped[Follow] = relationship(back_populates="notices", lazy="joined")
