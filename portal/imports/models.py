"""Import batches and the outcome of each of their lines (the report kept with the batch)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow


class ImportBatch(Base):
    """One run of a batch. A run that stopped part-way is resumed by the next run of the same manifest."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: sha256 of manifest.jsonl: identifies "the same batch" across runs.
    manifest_sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(12), default="running")  # running, completed
    actor: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lines_total: Mapped[int] = mapped_column(Integer, default=0)
    #: Counts of read/created/updated/unchanged/refused, filled when the run completes.
    summary: Mapped[dict] = mapped_column(JSON, default=dict)

    lines: Mapped[list[ImportLine]] = relationship(
        back_populates="batch", order_by="ImportLine.line_no", cascade="all, delete-orphan"
    )


class ImportLine(Base):
    """Outcome of one manifest line, written in the same transaction as the record it touched."""

    __tablename__ = "import_line"
    __table_args__ = (UniqueConstraint("batch_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str] = mapped_column(String(10))  # created, updated, unchanged, refused
    #: What the report says about the line: [{"severity", "field", "code", "vi", "en", "ref"?}].
    #: Severity "error" on refused lines (entries written before v1.1 have no severity: errors
    #: too); "warning" on lines that went in (a new procedure, a possible duplicate), with "ref"
    #: naming what it refers to (the procedure code, the other result's source_id).
    errors: Mapped[list] = mapped_column(JSON, default=list)
    #: Number of warnings among ``errors``: the report finds the warned lines without reading all.
    warnings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    batch: Mapped[ImportBatch] = relationship(back_populates="lines")
