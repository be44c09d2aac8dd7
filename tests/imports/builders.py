"""Builders for import tests: real batches on disk with real scans (Pillow, reportlab).

A plain module (not conftest.py) so test modules can import the builders by name.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from PIL import Image


def png_scan(dpi: int = 300, size: tuple[int, int] = (120, 170), shade: int = 255) -> bytes:
    """A small PNG that says it was scanned at ``dpi``; ``shade`` makes distinct contents."""
    buffer = io.BytesIO()
    Image.new("L", size, shade).save(buffer, "PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def jpeg_scan(dpi: int = 300, size: tuple[int, int] = (120, 170), shade: int = 200) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, shade).save(buffer, "JPEG", dpi=(dpi, dpi))
    return buffer.getvalue()


def pdf_scan(dpi: int = 300, pages: int = 1, size: tuple[int, int] = (120, 170), shade: int = 128) -> bytes:
    """A PDF whose pages are images drawn at ``dpi`` (Pillow's PDF writer sizes the page from it)."""
    buffer = io.BytesIO()
    frames = [Image.new("L", size, (shade + i) % 256) for i in range(pages)]
    frames[0].save(buffer, "PDF", resolution=dpi, save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def born_digital_pdf(text: str = "Giay phep") -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def corrupt_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\nthis is not a PDF any more\n"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


BASE_LINE: dict[str, Any] = {
    "procedure_code": "1.013225",
    "result_type_code": "KQ.H26.000123",
    "dossier_code": "000.20.05.H26-190502-0007",
    "doc_type_name": "Giấy phép xây dựng",
    "doc_number": "123",
    "doc_notation": "GPXD",
    "issued_date": "2019-05-14",
    "issuer_name": "Ủy ban nhân dân quận Cầu Giấy",
    "admin_unit": {"code": "167", "level": "commune", "system": "legacy"},
    "signer": {"name": "Trần Văn Bình", "title": "Phó Chủ tịch"},
    "summary": "Cấp phép xây dựng nhà ở riêng lẻ tại số 12 ngõ 34 phố Trần Thái Tông",
    "subject": {
        "type": "individual",
        "id_number": "001085012345",
        "name": "Nguyễn Thị Lan",
        "birth_date": "1985-03-02",
    },
    "valid_from": "2019-05-14",
    "valid_to": None,
    "scope": None,
    "status": "valid",
    "replaces": None,
    "access": "personal",
    "archive": {
        "fonds_code": "P05",
        "file_code": "P05.2019.GPXD.12",
        "doc_seq": 3,
        "language": "vi",
        "pages": 1,
    },
    "digitization": {
        "digitized_at": "2025-10-21T09:12:00+07:00",
        "operator": "op-17",
        "source_form": "original",
        "dpi": 300,
    },
}


class BatchBuilder:
    """A batch folder: ``add()`` a good line (overrides per field), ``raw()`` any text, ``write()``."""

    def __init__(self, root: Path):
        self.root = root
        self.lines: list[str] = []
        self.files: dict[str, bytes] = {}

    def file(self, path: str, data: bytes) -> dict[str, str]:
        self.files[path] = data
        return {"path": path, "sha256": sha256(data), "role": "result"}

    def add(self, source_id: str, *, files: list[dict] | None = None, **overrides: Any) -> dict:
        line = copy.deepcopy(BASE_LINE)
        line["source_id"] = source_id
        line["files"] = files if files is not None else [self.file("files/default.png", png_scan())]
        for key, value in overrides.items():
            if value is _DROP:
                line.pop(key, None)
            elif isinstance(value, dict) and isinstance(line.get(key), dict):
                line[key] = {**line[key], **value}
            else:
                line[key] = value
        self.lines.append(json.dumps(line, ensure_ascii=False))
        return line

    def raw(self, text: str) -> None:
        self.lines.append(text)

    def write(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        for path, data in self.files.items():
            target = self.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (self.root / "manifest.jsonl").write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return self.root


_DROP = object()
#: Pass as an override to leave a field out of the line: ``add("X", summary=DROP)``.
DROP = _DROP


def zip_batch(folder: Path, target: Path, *, top: str | None = "batch") -> Path:
    """Zip a batch folder, under a top folder as senders usually do (or at the root)."""
    with zipfile.ZipFile(target, "w") as zipped:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(folder).as_posix()
                zipped.write(path, f"{top}/{name}" if top else name)
    return target


#: Tables an import writes, and the columns that differ between two equivalent runs.
IMPORT_TABLES = (
    "record_file",
    "status_change",
    "record",
    "subject",
    "document",
    "import_line",
    "import_batch",
    "outbox",
    "audit_log",
)


def dump(session) -> dict[str, list]:
    """What an import wrote, without ids and timestamps, in a stable order: compare two runs with it."""
    conn = session.connection()
    records = (
        conn.execute(
            sa.text(
                "SELECT r.*, s.kind AS s_kind, s.id_number AS s_id FROM record r "
                "JOIN subject s ON s.id = r.subject_id ORDER BY r.source_id"
            )
        )
        .mappings()
        .all()
    )
    skip = {"id", "created_at", "updated_at", "status_changed_at", "subject_id", "import_batch_id"}
    result = {
        "record": [{k: str(v) for k, v in row.items() if k not in skip} for row in records],
        "subject": [
            tuple(map(str, row))
            for row in conn.execute(
                sa.text("SELECT kind, id_number, name, birth_date FROM subject ORDER BY kind, id_number")
            )
        ],
        "document": [
            tuple(row)
            for row in conn.execute(
                sa.text("SELECT sha256, size, media_type, pages, dpi FROM document ORDER BY sha256")
            )
        ],
        "record_file": [
            tuple(row)
            for row in conn.execute(
                sa.text(
                    "SELECT r.source_id, f.position, f.document_sha256, f.role, f.original_path "
                    "FROM record_file f JOIN record r ON r.id = f.record_id ORDER BY r.source_id, f.position"
                )
            )
        ],
        "status_change": [
            tuple(row)
            for row in conn.execute(
                sa.text(
                    "SELECT r.source_id, c.old_status, c.new_status, c.reason FROM status_change c "
                    "JOIN record r ON r.id = c.record_id ORDER BY r.source_id, c.id"
                )
            )
        ],
        "import_line": [
            (
                row[0],
                row[1],
                row[2],
                json.dumps(row[3] if not isinstance(row[3], str) else json.loads(row[3]), sort_keys=True),
            )
            for row in conn.execute(
                sa.text("SELECT line_no, source_id, outcome, errors FROM import_line ORDER BY line_no")
            )
        ],
        "outbox": sorted(tuple(row) for row in conn.execute(sa.text("SELECT topic, key FROM outbox"))),
    }
    return result


def forget_new_procedures(database) -> None:
    """Delete the procedures a test created beyond the shipped list. On PostgreSQL the procedure
    table is reference data that outlives each test (not truncated); SQLite tests get a fresh copy."""
    import os

    import sqlalchemy as sa

    from portal.procedures.loader import read_procedures

    if os.environ.get("PORTAL_TEST_DB", "sqlite") != "postgresql":
        return
    shipped = [row["code"] for row in read_procedures()]
    engine = sa.create_engine(database())
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM procedure WHERE code NOT IN :codes")
                     .bindparams(sa.bindparam("codes", expanding=True)), {"codes": shipped})
    engine.dispose()
