"""Share links (issue 17, item 2): one row per link a holder made for one named recipient.

Only the SHA-256 of the link's token is stored: the token itself is shown to the holder once.
The privacy export reads these rows (a holder's own links), nothing else does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.identity.models import Citizen
from portal.records.models import Record


class ShareLink(Base):
    """A link showing chosen fields of one result to ``recipient`` until ``expires_at``."""

    __tablename__ = "share_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The holder who made it (their own result, or their organization's).
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), index=True)
    #: SHA-256 (hex) of the token in the link; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Who the holder made it for, as they named them ("Ngân hàng A, chi nhánh Cầu Giấy").
    recipient: Mapped[str] = mapped_column(String(120))
    #: Optional fields shown besides the ones always shown (services.OPTIONAL_FIELDS).
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Opened once, then spent: ``used_at`` is set by the first opening.
    one_time: Mapped[bool] = mapped_column(Boolean, default=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Openings by anyone but the holder (page, scans, API), and the last one.
    openings: Mapped[int] = mapped_column(Integer, default=0)
    last_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    #: Joined: whether its maker still holds the result is checked at every opening.
    citizen: Mapped[Citizen] = relationship(lazy="joined")
    record: Mapped[Record] = relationship(lazy="joined")
