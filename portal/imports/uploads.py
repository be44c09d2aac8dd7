"""The server side of staff batch uploads: the tus 1.0.0 protocol (core, creation, termination).

Why tus (https://tus.io/protocols/resumable-upload): a batch of scans is gigabytes, and an office
connection breaks. tus is an open, stable protocol with a well-kept browser client
(tus-js-client, vendored under static/vendor/); its server side is four small requests, written
here because the Python tus servers are either for another framework (tuspyserver: FastAPI) or
unmaintained (flask-tus: 2016). What this module owes the protocol:

- creation: an upload announces its length (Upload-Length, at most UPLOAD_BATCH_MAX_BYTES) and
  its file name and unit (Upload-Metadata); it gets an unguessable id;
- HEAD: the offset is the size of DATA_DIR/uploads/<id>.part, so whatever reached the disk before
  a connection broke counts, and the client resumes from there;
- PATCH: bytes are appended only at the current offset (409 otherwise), one writer at a time
  (an exclusive lock on the file), never past the announced length;
- termination: DELETE removes an unfinished upload.

Every call names the staff member: an upload is theirs alone (another's id is "not found").
When the last byte arrives the file becomes <id>.zip and an import job is queued for it.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit
from portal.db import utcnow
from portal.errors import Forbidden, NotFound
from portal.identity.models import StaffRole, StaffUser
from portal.imports.job_models import BatchUpload
from portal.units.models import AdminUnit

#: Bytes read from the request and written at a time.
BLOCK = 1024 * 1024


class UploadRefused(Exception):
    """The request is not acceptable: ``status`` is the HTTP status tus expects, with a reason."""

    def __init__(self, status: int, vi: str, en: str):
        super().__init__(en)
        self.status, self.vi, self.en = status, vi, en


def uploads_dir(config) -> Path:
    path = Path(config["DATA_DIR"]) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def part_path(config, upload: BatchUpload) -> Path:
    return uploads_dir(config) / f"{upload.id}.part"


def zip_path(config, upload: BatchUpload) -> Path:
    return uploads_dir(config) / f"{upload.id}.zip"


def units_for(session: Session, staff: StaffUser) -> list[AdminUnit]:
    """The units ``staff`` may upload for: an operator's own, every current unit for an admin."""
    if staff.role == StaffRole.ADMIN:
        return list(session.scalars(
            select(AdminUnit).where(AdminUnit.system == "current", AdminUnit.level == "commune")
            .order_by(AdminUnit.name)))
    if staff.role == StaffRole.OPERATOR and staff.active:
        return sorted(staff.units, key=lambda unit: unit.name)
    return []


def parse_metadata(header: str) -> dict[str, str]:
    """Upload-Metadata: ``key base64value,key2 base64value2`` (tus 1.0.0, creation extension)."""
    values: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            values[key] = base64.b64decode(encoded, validate=True).decode() if encoded else ""
        except (binascii.Error, UnicodeDecodeError):
            raise UploadRefused(400, "Upload-Metadata không hợp lệ", "Upload-Metadata is not valid") from None
    return values


def create(session: Session, staff: StaffUser, config, *, length: int, filename: str,
           unit_id: int | None) -> BatchUpload:
    """A new upload of ``length`` bytes for one of the staff member's units (tus creation)."""
    limit = int(config["UPLOAD_BATCH_MAX_BYTES"])
    if length < 1:
        raise UploadRefused(400, "Tệp rỗng", "the file is empty")
    if length > limit:
        raise UploadRefused(413, f"Lô quá lớn: tối đa {limit:,} byte",
                            f"the batch is too large: at most {limit:,} bytes")
    name = Path(filename.replace("\\", "/")).name.strip()[:200]
    if not name.lower().endswith(".zip"):
        raise UploadRefused(415, "Hãy nén thư mục lô thành tệp .zip rồi tải lên",
                            "zip the batch folder and upload the .zip")
    unit = next((u for u in units_for(session, staff) if u.id == unit_id), None)
    if unit is None:
        raise Forbidden("unit")
    directory = uploads_dir(config)
    if shutil.disk_usage(directory).free < length * 2:  # the zip, then its extracted files
        raise UploadRefused(507, "Máy chủ không đủ chỗ cho lô này", "not enough disk space on the server")
    upload = BatchUpload(id=secrets.token_urlsafe(32), staff_id=staff.id, unit_id=unit.id, filename=name,
                         length=length)
    session.add(upload)
    session.flush()
    part_path(config, upload).touch(exist_ok=False)
    audit.record(session, staff.audit_name, "imports.upload_started", f"upload:{upload.id}", channel="web",
                 details={"filename": name, "length": length, "unit": unit.code})
    return upload


def get(session: Session, staff: StaffUser, upload_id: str) -> BatchUpload:
    """The staff member's own upload; anyone else's, or none, is NotFound."""
    upload = session.get(BatchUpload, upload_id) if len(upload_id) <= 43 else None
    if upload is None or upload.staff_id != staff.id:
        raise NotFound("upload")
    return upload


def offset(config, upload: BatchUpload) -> int:
    if upload.completed_at is not None:
        return upload.length
    try:
        return part_path(config, upload).stat().st_size
    except FileNotFoundError:
        raise NotFound("upload") from None


def append(config, upload: BatchUpload, at: int, chunks: Iterator[bytes]) -> int:
    """Append the request body at offset ``at``; returns the new offset.

    What arrived before the client went away stays written (that is what makes a broken
    connection resumable). Raises UploadRefused 409 when ``at`` is not the current offset or
    another request is writing, 413 past the announced length.
    """
    if upload.completed_at is not None:
        raise UploadRefused(409, "Tệp đã tải lên xong", "the upload is already complete")
    path = part_path(config, upload)
    try:
        handle = open(path, "r+b")
    except FileNotFoundError:
        raise NotFound("upload") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadRefused(409, "Đang có một yêu cầu khác ghi vào tệp này",
                                "another request is writing this upload") from None
        current = os.fstat(handle.fileno()).st_size
        if at != current:
            raise UploadRefused(409, f"Upload-Offset phải là {current}", f"Upload-Offset must be {current}")
        handle.seek(current)
        written = current
        try:
            for block in chunks:
                if written + len(block) > upload.length:
                    raise UploadRefused(413, "Vượt quá độ dài đã khai báo", "more bytes than Upload-Length")
                handle.write(block)
                written += len(block)
        finally:
            handle.flush()
            os.fsync(handle.fileno())
    return written


def complete(session: Session, config, upload: BatchUpload) -> Path:
    """The last byte arrived: the file becomes <id>.zip and the upload is complete."""
    target = zip_path(config, upload)
    os.replace(part_path(config, upload), target)
    upload.completed_at = utcnow()
    return target


def terminate(session: Session, staff: StaffUser, config, upload: BatchUpload) -> None:
    """tus termination: an unfinished upload is removed (a finished one belongs to its import)."""
    if upload.completed_at is not None:
        raise UploadRefused(409, "Tệp đã tải lên xong", "the upload is already complete")
    part_path(config, upload).unlink(missing_ok=True)
    audit.record(session, staff.audit_name, "imports.upload_cancelled", f"upload:{upload.id}", channel="web")
    session.delete(upload)


def purge_abandoned(session: Session, config) -> int:
    """Remove unfinished uploads older than UPLOAD_BATCH_KEEP_HOURS; returns how many."""
    cutoff = utcnow() - timedelta(hours=float(config["UPLOAD_BATCH_KEEP_HOURS"]))
    old = session.scalars(select(BatchUpload).where(BatchUpload.completed_at.is_(None),
                                                    BatchUpload.created_at < cutoff)).all()
    for upload in old:
        part_path(config, upload).unlink(missing_ok=True)
        session.delete(upload)
    return len(old)


def read_body(stream, length: int | None) -> Iterator[bytes]:
    """The request body in blocks, up to its Content-Length. A body that ends early is a broken
    connection: what arrived is kept (append writes it), and the request is answered 400."""
    left = length
    while left is None or left > 0:
        block = stream.read(BLOCK if left is None else min(BLOCK, left))
        if not block:
            if left:
                raise UploadRefused(400, "Kết nối bị ngắt giữa chừng", "the connection broke off")
            return
        if left is not None:
            left -= len(block)
        yield block
