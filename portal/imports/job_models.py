"""Staff batch uploads (tus, resumable) and the background import jobs they start.

A `BatchUpload` is one tus upload: its bytes are in DATA_DIR/uploads/<id>.part, and the file's
size on disk *is* the upload's offset (a PATCH that broke half-way leaves what arrived, and the
client resumes from there). An `ImportJob` runs the same import as `flask records import` on the
finished upload, in the import queue's worker; its progress columns are written after every chunk
so the page can show them, and ``heartbeat_at`` tells a live worker from a killed one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.identity.models import StaffUser
from portal.imports.models import ImportBatch
from portal.units.models import AdminUnit


class BatchUpload(Base):
    __tablename__ = "batch_upload"

    #: Random, unguessable (secrets.token_urlsafe): it is in the upload's URL.
    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    filename: Mapped[str] = mapped_column(String(200))
    #: Upload-Length announced at creation (bytes).
    length: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    staff: Mapped[StaffUser] = relationship()
    unit: Mapped[AdminUnit] = relationship()


class JobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"  # the batch itself was refused (not a zip, no manifest, over a budget)


class ImportJob(Base):
    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    upload_id: Mapped[str | None] = mapped_column(ForeignKey("batch_upload.id", ondelete="SET NULL"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(200))
    #: The finished upload's bytes (a .zip), under DATA_DIR/uploads.
    path: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12), default=JobStatus.QUEUED, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Written by the running worker every IMPORT_STALL_SECONDS / 3; older than IMPORT_STALL_SECONDS
    #: means the worker died and the job is taken up again (resumed where its batch stopped).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Times a worker took the job up (1 for a run that was never interrupted).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lines_total: Mapped[int] = mapped_column(Integer, default=0)
    lines_done: Mapped[int] = mapped_column(Integer, default=0)
    files_total: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    #: Lines done when this attempt started, and when: the rate (hence time left) is this attempt's.
    attempt_lines: Mapped[int] = mapped_column(Integer, default=0)
    attempt_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Why the batch was refused as a whole (status failed), in both languages.
    error_vi: Mapped[str] = mapped_column(String(500), default="")
    error_en: Mapped[str] = mapped_column(String(500), default="")

    unit: Mapped[AdminUnit] = relationship()
    staff: Mapped[StaffUser | None] = relationship()
    batch: Mapped[ImportBatch | None] = relationship()
