"""Digitized results, their subjects, their files and their status history."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    not_,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, TimestampMixin, UTCDateTime, utcnow
from portal.identity.models import Subject
from portal.procedures.models import Procedure
from portal.units.models import AdminUnit


class ResultStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REPLACED = "replaced"
    ANNULLED = "annulled"


class Access(StrEnum):
    PERSONAL = "personal"  # only the subject, their representatives and staff
    PUBLIC = "public"  # public registers: anyone sees the public fields


class Document(Base):
    """A stored file, addressed by its content: the same scan sent twice is stored once."""

    __tablename__ = "document"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(40))
    pages: Mapped[int] = mapped_column(Integer)
    #: Lowest resolution over the pages; None for born-digital pages with no raster image.
    dpi: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    #: The words read off its pages (portal/ocr); None until read.
    reading: Mapped[DocumentText | None] = relationship(lazy="select", viewonly=True)


class TextStatus(StrEnum):
    PENDING = "pending"  # stored, not read yet (a stored file with no DocumentText row is pending too)
    RUNNING = "running"  # a worker claimed it at claimed_at; past OCR_STALL_SECONDS it is pending again
    DONE = "done"
    FAILED = "failed"


class DocumentText(Base, TimestampMixin):
    """The words on a stored file's pages: its PDF text layer, or Tesseract's reading of its images.

    Kept here, beside `Document`, because the search document (`documents.py`) reads it; the
    reading itself is portal/ocr's. Also the OCR queue: pending work is found from these rows, so
    a killed worker loses nothing.
    """

    __tablename__ = "document_text"

    document_sha256: Mapped[str] = mapped_column(
        ForeignKey("document.sha256", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), index=True, default=TextStatus.PENDING)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    text: Mapped[str | None] = mapped_column(Text)
    #: "text-layer" (every page had one), "ocr" (none had), "mixed".
    method: Mapped[str | None] = mapped_column(String(12))
    #: "tesseract 5.3.0 vie" when any page was read by OCR, else the PDF library.
    engine: Mapped[str | None] = mapped_column(String(60))
    #: Pages read (at most OCR_MAX_PAGES of the file's pages) and how long it took.
    pages: Mapped[int | None] = mapped_column(Integer)
    seconds: Mapped[float | None] = mapped_column(Float)
    #: Why it failed, or what was left out (pages past the limit).
    note: Mapped[str | None] = mapped_column(String(300))


class Record(Base, TimestampMixin):
    """One digitized result (kết quả giải quyết TTHC), every field of the import format v1."""

    __tablename__ = "record"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The sender's stable id: the import key.
    source_id: Mapped[str] = mapped_column(String(120), unique=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedure.code"), index=True)
    result_type_code: Mapped[str | None] = mapped_column(String(20))
    dossier_code: Mapped[str | None] = mapped_column(String(80))
    doc_type_name: Mapped[str] = mapped_column(String(100))
    doc_number: Mapped[str] = mapped_column(String(11))
    doc_notation: Mapped[str | None] = mapped_column(String(30))
    issued_date: Mapped[date] = mapped_column(Date, index=True)
    issuer_name: Mapped[str] = mapped_column(String(200))
    #: The unit that issued it, as it was then (legacy or current).
    issuing_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    signer_name: Mapped[str | None] = mapped_column(String(120))
    signer_title: Mapped[str | None] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(500))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    scope: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: source_id of the result this one replaces; kept as text so the order of arrival doesn't matter.
    replaces_source_id: Mapped[str | None] = mapped_column(String(120), index=True)
    access: Mapped[str] = mapped_column(String(10))

    # Circular 02/2019/TT-BNV archive fields.
    archive_fonds_code: Mapped[str | None] = mapped_column(String(40))
    archive_file_code: Mapped[str | None] = mapped_column(String(80))
    archive_doc_seq: Mapped[int | None] = mapped_column(Integer)
    archive_language: Mapped[str | None] = mapped_column(String(20))
    archive_pages: Mapped[int | None] = mapped_column(Integer)
    archive_physical_condition: Mapped[str | None] = mapped_column(String(200))
    archive_keywords: Mapped[str | None] = mapped_column(String(300))

    digitized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    digitization_operator: Mapped[str | None] = mapped_column(String(60))
    digitization_source_form: Mapped[str | None] = mapped_column(String(10))
    digitization_dpi: Mapped[int | None] = mapped_column(Integer)

    #: Folded identifiers for exact lookups in any spacing or case ("123/GPXD" → "123gpxd").
    number_key: Mapped[str] = mapped_column(String(60), index=True)
    dossier_key: Mapped[str | None] = mapped_column(String(80), index=True)
    #: Hash of the line as imported: the same line sent again is "unchanged".
    content_hash: Mapped[str] = mapped_column(String(64))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))

    procedure: Mapped[Procedure] = relationship(lazy="joined")
    issuing_unit: Mapped[AdminUnit] = relationship(lazy="joined")
    subject: Mapped[Subject] = relationship(lazy="joined")
    files: Mapped[list[RecordFile]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="RecordFile.position",
        lazy="selectin",
    )
    status_history: Mapped[list[StatusChange]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="StatusChange.id"
    )

    @property
    def number_display(self) -> str:
        return f"{self.doc_number}/{self.doc_notation}" if self.doc_notation else self.doc_number

    # The effective status, once in Python and once in SQL: twins, kept side by side and checked
    # against each other for every status and end date around today (tests/search/test_documents.py).

    def effective_status(self, today: date) -> str:
        """The status as of today: a valid result past its end date has expired."""
        if self.status == ResultStatus.VALID and self.valid_to is not None and self.valid_to < today:
            return ResultStatus.EXPIRED
        return self.status

    @classmethod
    def effective_status_is(cls, status: str, today: date) -> ColumnElement[bool]:
        """SQL twin of `effective_status`: the results whose status as of ``today`` is ``status``.

        A condition on the stored status rather than a CASE over it, so the status index still serves.
        """
        lapsed = and_(cls.status == ResultStatus.VALID, cls.valid_to.is_not(None), cls.valid_to < today)
        if status == ResultStatus.EXPIRED:
            return or_(cls.status == ResultStatus.EXPIRED, lapsed)
        if status == ResultStatus.VALID:
            return and_(cls.status == ResultStatus.VALID, not_(lapsed))
        return cls.status == status

    #: Set when staff judged this result the same as another ("same result"): the row stays, with
    #: its files, history and copy requests, but leaves lists and search, and its source_id becomes
    #: an alias of the kept result (pages, lookups and re-imports by it reach the kept one).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"), index=True)


class RecordFile(Base):
    __tablename__ = "record_file"
    __table_args__ = (UniqueConstraint("record_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), index=True)
    document_sha256: Mapped[str] = mapped_column(ForeignKey("document.sha256"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(12))  # "result" or "attachment"
    #: Path as the batch named it, for tracing back to the sender.
    original_path: Mapped[str] = mapped_column(String(300))

    record: Mapped[Record] = relationship(back_populates="files")
    document: Mapped[Document] = relationship(lazy="joined")


class StatusChange(Base):
    """Who changed a result's status, when and why. Never updated, only appended."""

    __tablename__ = "status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), index=True)
    old_status: Mapped[str | None] = mapped_column(String(10))
    new_status: Mapped[str] = mapped_column(String(10))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: "import:<batch id>", "staff:<id>", "system"…
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(500), default="")

    record: Mapped[Record] = relationship(back_populates="status_history")


class DuplicateState(StrEnum):
    OPEN = "open"  # flagged at import, waiting for a person
    SAME = "same"  # judged the same result: merged (one kept, the other an alias of it)
    DIFFERENT = "different"  # judged different: never flagged again for this pair


class DuplicateFlag(Base):
    """A pair of results that look like one result digitized twice, for a person to decide.

    One row per pair, whichever arrived first: ``record_id`` < ``other_id``, unique, so two imports
    flagging the same pair at once write one row (INSERT … ON CONFLICT DO NOTHING).
    """

    __tablename__ = "duplicate_flag"
    __table_args__ = (UniqueConstraint("record_id", "other_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), index=True)
    #: Why they look alike: "number" (issuing unit, number, notation, issued date), "file" (same
    #: bytes), or "number file".
    reasons: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default=DuplicateState.OPEN.value, index=True)
    #: The import run and manifest line that raised it.
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id", ondelete="SET NULL"))
    line_no: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: "staff:<id>" of the person who decided.
    decided_by: Mapped[str | None] = mapped_column(String(80))
    #: Same result: the one kept (the other has merged_into_id pointing at it).
    kept_id: Mapped[int | None] = mapped_column(ForeignKey("record.id", ondelete="SET NULL"))

    record: Mapped[Record] = relationship(foreign_keys=[record_id], lazy="joined")
    other: Mapped[Record] = relationship(foreign_keys=[other_id], lazy="joined")


