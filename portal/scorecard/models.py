"""Scorecard snapshots: the figures of each scope and period, computed in the background and
served from here (portal/scorecard/snapshots.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime


class ScorecardSnapshot(Base):
    __tablename__ = "scorecard_snapshot"

    #: "city", or the code of a current commune or ward ("00637").
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    #: "last-12-months", or a year ("2026").
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: The `metrics.Scorecard`, encoded by `snapshots.encode` (its format number inside).
    figures: Mapped[dict] = mapped_column(JSON)
    #: When the figures were counted: "now" of the "now" figures, shown on the page and in the CSV.
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
