"""What the fixity checks found: each run, each bad file of a run, and each file's last check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow


class FixityRun(Base):
    """One audit: `flask files audit` (trigger "cli") or the night's slice (trigger "nightly")."""

    __tablename__ = "fixity_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(10), index=True)
    #: The --sample N asked for; None: every file (cli) or the night's slice (nightly).
    sample: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: None while it runs, or when it stopped part-way (a killed worker): its checks are kept.
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Files in the store when the run began, and how many it set out to check.
    stored: Mapped[int] = mapped_column(Integer, default=0)
    planned: Mapped[int] = mapped_column(Integer, default=0)
    checked: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    altered: Mapped[int] = mapped_column(Integer, default=0)
    unreadable: Mapped[int] = mapped_column(Integer, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Addresses the failure mail went to (comma-separated); empty when none was due or known.
    notified: Mapped[str] = mapped_column(Text, default="")

    problems: Mapped[list[FixityProblem]] = relationship(
        back_populates="run", order_by="FixityProblem.id", cascade="all, delete-orphan")

    @property
    def failed(self) -> int:
        return self.missing + self.altered + self.unreadable


class FixityProblem(Base):
    """A file a run found missing, altered or unreadable."""

    __tablename__ = "fixity_problem"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("fixity_run.id", ondelete="CASCADE"), index=True)
    #: The recorded hash: what the bytes should hash to (and the file's name in the store).
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(12))
    #: The hash the bytes have now (altered) or the error (unreadable); empty when missing.
    found: Mapped[str] = mapped_column(String(300), default="")
    #: What records it ("document used by result HN-…", "issued copy …", "problem report PB-…").
    used_by: Mapped[str] = mapped_column(Text, default="")

    run: Mapped[FixityRun] = relationship(back_populates="problems")


class FixityFile(Base):
    """Each stored file's last check: the nightly slice takes the least recently checked first, so
    every file is checked once per cycle however the store grows."""

    __tablename__ = "fixity_file"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: ok, missing, altered, unreadable.
    last_outcome: Mapped[str] = mapped_column(String(12))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("fixity_run.id", ondelete="SET NULL"))
