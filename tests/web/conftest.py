"""Builders for page tests: real records, with real scans written into the app's file store."""

from __future__ import annotations

import hashlib
import io
import itertools
from datetime import UTC, date, datetime

import pytest
from PIL import Image
from sqlalchemy import select

from portal.files.store import FileStore
from portal.identity.models import Subject
from portal.procedures.models import Procedure
from portal.records.models import Document, Record, RecordFile, StatusChange
from portal.text import ident_key
from portal.units.models import AdminUnit, UnitSuccession


def pdf_bytes(pages: int = 2) -> bytes:
    """A small scanned-looking PDF: each page an image with a dark band (so previews aren't blank)."""
    frames = []
    for i in range(pages):
        frame = Image.new("RGB", (300, 420), "white")
        frame.paste((160 + 20 * i, 20, 30), (20, 20, 280, 60 + 10 * i))
        frames.append(frame)
    buffer = io.BytesIO()
    frames[0].save(buffer, "PDF", resolution=200, save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (1200, 1700), (250, 248, 240))
    image.paste((30, 30, 120), (100, 100, 1100, 300))
    image.save(buffer, "JPEG", quality=80, dpi=(300, 300))
    return buffer.getvalue()


def legacy_unit_with_successor(session, partial: bool | None = None) -> AdminUnit:
    """A pre-2025 commune that has a successor (a partial one when ``partial`` is True)."""
    query = select(AdminUnit).join(UnitSuccession, UnitSuccession.old_unit_id == AdminUnit.id) \
        .where(AdminUnit.system == "legacy", AdminUnit.level == "commune").order_by(AdminUnit.code)
    if partial is not None:
        query = query.where(UnitSuccession.partial.is_(partial))
    return session.scalars(query).first()


@pytest.fixture
def store(app) -> FileStore:
    return FileStore.from_config(app.config)


@pytest.fixture
def add_document(db_session, store):
    """add_document(data, media_type, pages) → a Document whose bytes are in the app's file store."""

    def build(data: bytes, media_type: str, pages: int) -> Document:
        sha = store.put_bytes(data)
        document = db_session.get(Document, sha)
        if document is None:
            document = Document(sha256=sha, size=len(data), media_type=media_type, pages=pages, dpi=200)
            db_session.add(document)
        return document

    return build


@pytest.fixture
def make_record(db_session, add_document):
    """make_record(**fields) → a committed public, valid building permit of a legacy commune.

    ``files=True`` attaches a 2-page PDF and a JPEG; ``history`` adds status changes.
    """
    counter = itertools.count(1)
    procedure = db_session.scalars(select(Procedure).order_by(Procedure.code)).first()

    def build(*, unit: AdminUnit | None = None, holder: str = "Công ty TNHH Hoa Sen",
              id_number: str | None = None, files: bool = False,
              history: list[tuple[str | None, str, str]] = (), **fields) -> Record:
        n = next(counter)
        subject = Subject(kind="organization", id_number=id_number or f"01012{n:05}", name=holder)
        values = dict(
            source_id=f"HN-WEB-{n:06}", procedure_code=procedure.code, doc_type_name="Giấy phép xây dựng",
            doc_number=str(400 + n), doc_notation="GPXD", issued_date=date(2019, 5, 14),
            issuer_name="Ủy ban nhân dân quận Cầu Giấy", signer_name="Trần Văn Bình",
            signer_title="Phó Chủ tịch",
            summary="Cấp phép xây dựng nhà ở riêng lẻ tại số 12 ngõ 34 phố Trần Thái Tông",
            valid_from=date(2019, 5, 14), valid_to=None, status="valid", access="public",
            dossier_code=f"000.20.05.H26-190502-{n:04}",
            content_hash=hashlib.sha256(str(n).encode()).hexdigest(),
            archive_fonds_code="F-UBND-CG", archive_file_code="HS-2019-017", digitization_dpi=300,
            digitized_at=datetime(2024, 3, 1, 2, 0, tzinfo=UTC), digitization_source_form="original",
        )
        values.update(fields)
        record = Record(**values, subject=subject,
                        issuing_unit=unit or legacy_unit_with_successor(db_session, partial=False))
        record.number_key = ident_key(record.number_display)
        record.dossier_key = ident_key(record.dossier_code) if record.dossier_code else None
        if files:
            pdf = add_document(pdf_bytes(2), "application/pdf", 2)
            jpeg = add_document(jpeg_bytes(), "image/jpeg", 1)
            record.files = [
                RecordFile(document=pdf, position=1, role="result", original_path="files/a.pdf"),
                RecordFile(document=jpeg, position=2, role="attachment", original_path="files/b.jpg"),
            ]
        record.status_history = [StatusChange(old_status=old, new_status=new, actor="system", reason=reason)
                                 for old, new, reason in ((None, "valid", ""), *history)] if history else []
        db_session.add(record)
        db_session.commit()
        return record

    return build
