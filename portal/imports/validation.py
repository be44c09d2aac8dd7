"""Check one manifest line against the import format v1.1 (shared/spec/import-batch.md).

Every error names the field and says what is wrong in Vietnamese and English, precisely
enough for the sender to fix the line without asking. All errors of a line are reported at
once, not only the first. Unknown extra keys are ignored (newer senders may add fields).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.clock import HANOI
from portal.files.inspect import Budgets, FileInfo, UnreadableFile, inspect_file
from portal.files.store import sha256_of
from portal.procedures.models import Procedure
from portal.units.models import AdminUnit
from portal.units.services import find_unit, is_normal_code

PROCEDURE_CODE = re.compile(r"^\d\.\d{6}$")
RESULT_TYPE_CODE = re.compile(r"^KQ\.[A-Za-z0-9.]+\.\d{6}$")
SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
DIGITS = re.compile(r"^\d+$")
ID_NUMBER = {"individual": re.compile(r"^\d{12}$"), "organization": re.compile(r"^\d{10}(-\d{3})?$")}
ID_NUMBER_RULE = {
    "individual": ("12 chữ số", "12 digits"),
    "organization": ("10 chữ số hoặc dạng 10-3", "10 digits or 10-3 digits"),
}

STATUSES = ("valid", "expired", "revoked", "replaced", "annulled")
ACCESS = ("personal", "public")
SUBJECT_TYPES = ("individual", "organization")
LEVELS = ("province", "district", "commune")
SYSTEMS = ("legacy", "current")
ROLES = ("result", "attachment")
#: Digits of a stored unit code per level (as units.services.normalize_code pads them).
SOURCE_FORMS = ("original", "copy")
#: Naive timestamps in a batch are Hanoi time, as written by the digitization centres.


#: Vietnamese names of the fields, for messages a clerk at a digitization centre reads.
LABELS_VI = {
    "source_id": "Mã kết quả (source_id)",
    "procedure_code": "Mã thủ tục",
    "procedure_name": "Tên thủ tục",
    "result_type_code": "Mã loại kết quả",
    "dossier_code": "Mã hồ sơ",
    "doc_type_name": "Tên loại giấy tờ",
    "doc_number": "Số",
    "doc_notation": "Ký hiệu",
    "issued_date": "Ngày ban hành",
    "issuer_name": "Cơ quan ban hành",
    "admin_unit": "Đơn vị hành chính",
    "admin_unit.code": "Mã đơn vị hành chính",
    "admin_unit.level": "Cấp đơn vị hành chính",
    "admin_unit.system": "Hệ đơn vị hành chính",
    "signer": "Người ký",
    "signer.name": "Tên người ký",
    "signer.title": "Chức vụ người ký",
    "summary": "Trích yếu",
    "subject": "Chủ thể",
    "subject.type": "Loại chủ thể",
    "subject.id_number": "Số định danh",
    "subject.name": "Tên chủ thể",
    "subject.birth_date": "Ngày sinh",
    "valid_from": "Ngày có hiệu lực",
    "valid_to": "Ngày hết hiệu lực",
    "scope": "Phạm vi hiệu lực",
    "status": "Tình trạng",
    "replaces": "Kết quả được thay thế",
    "access": "Chế độ truy cập",
    "files": "Tệp",
    "archive": "Thông tin lưu trữ",
    "digitization": "Thông tin số hóa",
}


def _label(name: str) -> str:
    generic = re.sub(r"\[\d+\]", "", name)
    return LABELS_VI.get(name) or LABELS_VI.get(generic) or name


def error(field_name: str, code: str, vi: str, en: str) -> dict[str, str]:
    return {"severity": "error", "field": field_name, "code": code, "vi": vi, "en": en}


@dataclass
class CheckedFile:
    path: str  # as the manifest wrote it
    local: Path
    sha256: str
    role: str
    size: int
    info: FileInfo


@dataclass
class CheckedLine:
    """A line that passed every check, with what the checks resolved (unit id, files)."""

    line_no: int
    data: dict[str, Any]
    source_id: str
    unit_id: int
    files: list[CheckedFile]
    issued_date: date
    valid_from: date
    valid_to: date | None
    birth_date: date | None
    digitized_at: datetime | None
    #: False when the portal does not know ``procedure_code`` yet: the import creates it uncatalogued.
    procedure_known: bool = True


@dataclass
class BatchContext:
    """What checking needs across lines: caches so a million lines cost a few queries, not millions."""

    session: Session
    root: Path
    min_dpi: int = 200
    max_file_bytes: int = 200 * 1024 * 1024
    #: The upload budgets (UPLOAD_MAX_*), kept here by counting: an import inspects thousands of
    #: files, and a child process each (portal.files.isolated) would cost 0.1 s a file.
    budgets: Budgets = field(default_factory=Budgets)
    today: date = field(default_factory=date.today)
    #: (system, level, normalized code) → unit id, or None for an unknown unit.
    units: dict[tuple[str, str, str], int | None] = field(default_factory=dict)
    #: procedure code → catalogued? (codes the database holds; loaded once per run).
    procedures: dict[str, bool] | None = None
    #: Manifest path → resolved file (or why it can't be used), so paths are resolved once per run.
    located: dict[str, Path | tuple[str, str, str]] = field(default_factory=dict)
    #: Resolved path → (size, sha256), so a file named by many lines is read once per run.
    hashed: dict[Path, tuple[int, str]] = field(default_factory=dict)
    #: sha256 → FileInfo or UnreadableFile: each content inspected once per run.
    inspected: dict[str, FileInfo | UnreadableFile] = field(default_factory=dict)
    #: source_id → first line that used it in this batch (duplicates are refused).
    seen: dict[str, int] = field(default_factory=dict)
    #: Uncatalogued procedure codes the report of this run has warned about (once per code).
    warned_procedures: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()

    def unit_id(self, system: str, level: str, code: str) -> int | None:
        key = (system, level, str(int(code)))
        if not self.units:
            # Every unit in one query (a few thousand rows) instead of one query per distinct code.
            for unit_id, unit_system, unit_level, unit_code in self.session.execute(
                select(AdminUnit.id, AdminUnit.system, AdminUnit.level, AdminUnit.code)
            ):
                # Only codes stored the way find_unit looks them up; anything else still goes to it.
                if unit_code and is_normal_code(unit_code, str(unit_level)):
                    self.units[(str(unit_system), str(unit_level), str(int(unit_code)))] = unit_id
        if key not in self.units:
            unit = find_unit(self.session, system, level, code)
            self.units[key] = unit.id if unit is not None else None
        return self.units[key]

    def procedure_known(self, code: str) -> bool:
        if self.procedures is None:
            self.procedures = dict(self.session.execute(select(Procedure.code, Procedure.catalogued)).all())
        return code in self.procedures


class _Checker:
    """Collects the errors of one line; the small methods keep each rule one line long."""

    def __init__(self, ctx: BatchContext, data: dict[str, Any]):
        self.ctx, self.data, self.errors = ctx, data, []

    def add(self, field_name: str, code: str, vi: str, en: str) -> None:
        self.errors.append(error(field_name, code, vi, en))

    def text(self, obj: dict, key: str, name: str, *, required: bool, max_len: int | None) -> str | None:
        value = obj.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(name, "required", f"Thiếu {_label(name)} ({name})", f"{name} is required")
            return None
        if not isinstance(value, str):
            self.add(
                name,
                "type",
                f"{_label(name)} ({name}) phải là chuỗi ký tự",
                f"{name} must be a string, got {type(value).__name__}",
            )
            return None
        if max_len is not None and len(value) > max_len:
            self.add(
                name,
                "too_long",
                f"{_label(name)} dài {len(value)} ký tự, tối đa {max_len}",
                f"{name} is {len(value)} characters long, at most {max_len} allowed",
            )
            return None
        return value

    def choice(
        self, obj: dict, key: str, name: str, choices: tuple[str, ...], *, required: bool
    ) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.add(name, "required", f"Thiếu {_label(name)} ({name})", f"{name} is required")
            return None
        if value not in choices:
            allowed = ", ".join(choices)
            self.add(
                name,
                "invalid_choice",
                f"{_label(name)} {value!r} không hợp lệ; chấp nhận: {allowed}",
                f"{name} {value!r} is not one of: {allowed}",
            )
            return None
        return value

    def day(self, obj: dict, key: str, name: str, *, required: bool, not_future: bool) -> date | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.add(name, "required", f"Thiếu {_label(name)} ({name})", f"{name} is required")
            return None
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            parsed = date.fromisoformat(value)
        except ValueError:
            self.add(
                name,
                "date_format",
                f"{_label(name)} {value!r} không đúng dạng ngày YYYY-MM-DD",
                f"{name} {value!r} is not an ISO date (YYYY-MM-DD)",
            )
            return None
        if not_future and parsed > self.ctx.today:
            self.add(
                name, "future_date", f"{_label(name)} {value} ở tương lai", f"{name} {value} is in the future"
            )
            return None
        return parsed

    def obj(self, key: str, *, required: bool) -> dict | None:
        value = self.data.get(key)
        if value is None:
            if required:
                self.add(key, "required", f"Thiếu {_label(key)} ({key})", f"{key} is required")
            return None
        if not isinstance(value, dict):
            self.add(
                key,
                "type",
                f"{_label(key)} ({key}) phải là một đối tượng JSON",
                f"{key} must be a JSON object",
            )
            return None
        return value

    def integer(self, obj: dict, key: str, name: str, *, minimum: int) -> int | None:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.add(
                name,
                "integer",
                f"{_label(name)} ({name}) phải là số nguyên ≥ {minimum}",
                f"{name} must be an integer ≥ {minimum}, got {value!r}",
            )
            return None
        return value


def validate_line(ctx: BatchContext, line_no: int, data: dict[str, Any] | str) -> CheckedLine | list[dict]:
    """A CheckedLine, or the line's errors. ``data`` is the raw text when the JSON did not parse."""
    if isinstance(data, str):
        return [error("", "invalid_json", "Dòng không phải JSON hợp lệ", "the line is not valid JSON")]
    if not isinstance(data, dict):
        return [
            error(
                "", "not_object", "Dòng phải là một đối tượng JSON {…}", "the line must be a JSON object {…}"
            )
        ]
    c = _Checker(ctx, data)

    source_id = c.text(data, "source_id", "source_id", required=True, max_len=120)
    if source_id is not None:
        first = ctx.seen.get(source_id)
        if first is not None and first != line_no:
            c.add(
                "source_id",
                "duplicate",
                f"source_id {source_id} đã có ở dòng {first} của lô này",
                f"source_id {source_id} already appears on line {first} of this batch",
            )
        else:
            ctx.seen[source_id] = line_no

    # A well-formed code the portal does not know is no fault of the line (spec v1.1): the import
    # creates the procedure uncatalogued and the report warns. Only a malformed code is refused.
    procedure_code = c.text(data, "procedure_code", "procedure_code", required=True, max_len=None)
    if procedure_code is not None and not PROCEDURE_CODE.match(procedure_code):
        c.add(
            "procedure_code",
            "format",
            f"Mã thủ tục {procedure_code!r} không đúng dạng D.DDDDDD",
            f"procedure_code {procedure_code!r} is not of the form D.DDDDDD",
        )
    c.text(data, "procedure_name", "procedure_name", required=False, max_len=300)

    result_type = c.text(data, "result_type_code", "result_type_code", required=False, max_len=20)
    if result_type is not None and not RESULT_TYPE_CODE.match(result_type):
        c.add(
            "result_type_code",
            "format",
            f"Mã loại kết quả {result_type!r} không đúng dạng KQ.<cơ quan>.<6 chữ số>",
            f"result_type_code {result_type!r} is not of the form KQ.<agency>.<6 digits>",
        )
    c.text(data, "dossier_code", "dossier_code", required=False, max_len=80)
    c.text(data, "doc_type_name", "doc_type_name", required=True, max_len=100)
    c.text(data, "doc_number", "doc_number", required=True, max_len=11)
    c.text(data, "doc_notation", "doc_notation", required=False, max_len=30)
    issued = c.day(data, "issued_date", "issued_date", required=True, not_future=True)
    c.text(data, "issuer_name", "issuer_name", required=True, max_len=200)
    c.text(data, "summary", "summary", required=True, max_len=500)
    c.text(data, "scope", "scope", required=False, max_len=None)
    unit_id = _check_unit(c)

    signer = c.obj("signer", required=False)
    if signer is not None:
        c.text(signer, "name", "signer.name", required=False, max_len=120)
        c.text(signer, "title", "signer.title", required=False, max_len=120)

    birth_date = _check_subject(c)

    valid_from = c.day(data, "valid_from", "valid_from", required=True, not_future=False)
    valid_to = c.day(data, "valid_to", "valid_to", required=False, not_future=False)
    if valid_from and valid_to and valid_to < valid_from:
        c.add(
            "valid_to",
            "before_valid_from",
            f"Ngày hết hiệu lực {valid_to} trước ngày có hiệu lực {valid_from}",
            f"valid_to {valid_to} is before valid_from {valid_from}",
        )

    c.choice(data, "status", "status", STATUSES, required=True)
    c.choice(data, "access", "access", ACCESS, required=True)
    replaces = c.text(data, "replaces", "replaces", required=False, max_len=120)
    if replaces is not None and replaces == source_id:
        c.add("replaces", "self", "Kết quả không thể thay thế chính nó", "a result cannot replace itself")

    _check_archive(c)
    digitized_at = _check_digitization(c)
    files = _check_files(c)

    if c.errors:
        return c.errors
    return CheckedLine(
        line_no=line_no,
        data=data,
        source_id=source_id,
        unit_id=unit_id,
        files=files,
        issued_date=issued,
        valid_from=valid_from,
        valid_to=valid_to,
        birth_date=birth_date,
        digitized_at=digitized_at,
        procedure_known=ctx.procedure_known(procedure_code),
    )


def _check_unit(c: _Checker) -> int | None:
    unit = c.obj("admin_unit", required=True)
    if unit is None:
        return None
    before = len(c.errors)
    code = unit.get("code")
    if code is None:
        c.add(
            "admin_unit.code",
            "required",
            "Thiếu mã đơn vị hành chính (admin_unit.code)",
            "admin_unit.code is required",
        )
    elif not isinstance(code, str) or not DIGITS.match(code) or len(code) > 5:
        c.add(
            "admin_unit.code",
            "format",
            f"Mã đơn vị hành chính {code!r} phải là chuỗi tối đa 5 chữ số",
            f"admin_unit.code {code!r} must be a string of at most 5 digits",
        )
    level = c.choice(unit, "level", "admin_unit.level", LEVELS, required=True)
    system = c.choice(unit, "system", "admin_unit.system", SYSTEMS, required=True)
    if len(c.errors) > before:
        return None
    unit_id = c.ctx.unit_id(system, level, code)
    if unit_id is None:
        system_vi = "trước 01/07/2025" if system == "legacy" else "hiện hành"
        c.add(
            "admin_unit.code",
            "unknown_unit",
            f"Không có đơn vị hành chính mã {code} cấp {level} ({system_vi})",
            f"no {system} {level} unit with code {code}",
        )
    return unit_id


def _check_subject(c: _Checker) -> date | None:
    subject = c.obj("subject", required=True)
    if subject is None:
        return None
    kind = c.choice(subject, "type", "subject.type", SUBJECT_TYPES, required=True)
    id_number = c.text(subject, "id_number", "subject.id_number", required=True, max_len=None)
    if kind and id_number is not None and not ID_NUMBER[kind].match(id_number):
        vi_rule, en_rule = ID_NUMBER_RULE[kind]
        kind_vi = "cá nhân" if kind == "individual" else "tổ chức"
        c.add(
            "subject.id_number",
            "format",
            f"Số định danh {id_number!r} của {kind_vi} phải gồm {vi_rule}",
            f"subject.id_number {id_number!r} of an {kind} must be {en_rule}",
        )
    c.text(subject, "name", "subject.name", required=True, max_len=200)
    return c.day(subject, "birth_date", "subject.birth_date", required=False, not_future=True)


def _check_archive(c: _Checker) -> None:
    archive = c.obj("archive", required=False)
    if archive is None:
        return
    for key, max_len in (
        ("fonds_code", 40),
        ("file_code", 80),
        ("language", 20),
        ("physical_condition", 200),
    ):
        c.text(archive, key, f"archive.{key}", required=False, max_len=max_len)
    c.integer(archive, "doc_seq", "archive.doc_seq", minimum=0)
    c.integer(archive, "pages", "archive.pages", minimum=1)
    keywords = archive.get("keywords")
    if keywords is not None:
        if isinstance(keywords, list) and all(isinstance(k, str) for k in keywords):
            keywords = "; ".join(keywords)
        if not isinstance(keywords, str):
            c.add(
                "archive.keywords",
                "type",
                "Từ khóa (archive.keywords) phải là chuỗi hoặc danh sách chuỗi",
                "archive.keywords must be a string or a list of strings",
            )
        elif len(keywords) > 300:
            c.add(
                "archive.keywords",
                "too_long",
                f"Từ khóa dài {len(keywords)} ký tự, tối đa 300",
                f"archive.keywords is {len(keywords)} characters long, at most 300 allowed",
            )


def _check_digitization(c: _Checker) -> datetime | None:
    digitization = c.obj("digitization", required=False)
    if digitization is None:
        return None
    c.text(digitization, "operator", "digitization.operator", required=False, max_len=60)
    c.choice(digitization, "source_form", "digitization.source_form", SOURCE_FORMS, required=False)
    c.integer(digitization, "dpi", "digitization.dpi", minimum=1)
    value = digitization.get("digitized_at")
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        parsed = datetime.fromisoformat(value)
    except ValueError:
        c.add(
            "digitization.digitized_at",
            "datetime_format",
            f"Thời điểm số hóa {value!r} không đúng dạng ISO 8601",
            f"digitization.digitized_at {value!r} is not an ISO 8601 date-time",
        )
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=HANOI)


def _check_files(c: _Checker) -> list[CheckedFile]:
    files = c.data.get("files")
    if files is None or files == []:
        c.add("files", "required", "Phải có ít nhất một tệp (files)", "files must list at least one file")
        return []
    if not isinstance(files, list):
        c.add("files", "type", "files phải là một danh sách", "files must be a list")
        return []
    checked = []
    for index, entry in enumerate(files):
        name = f"files[{index}]"
        if not isinstance(entry, dict):
            c.add(name, "type", f"{name} phải là một đối tượng JSON", f"{name} must be a JSON object")
            continue
        result = _check_file(c, name, entry)
        if result is not None:
            checked.append(result)
    return checked


def _locate(root: Path, path_text: str) -> Path | tuple[str, str, str]:
    """The file a manifest path names inside the batch, or (code, vi, en) saying why not."""
    relative = PurePosixPath(path_text)
    if (
        relative.is_absolute()
        or "\\" in path_text
        or ".." in relative.parts
        or re.match(r"^[A-Za-z]:", path_text)
    ):
        return (
            "outside_batch",
            f"Đường dẫn {path_text!r} phải nằm trong thư mục lô (không dùng .. hay đường dẫn tuyệt đối)",
            f"path {path_text!r} must be relative to the batch folder (no .., no absolute path)",
        )
    local = (root / relative).resolve()
    if not local.is_relative_to(root):  # a symlink pointing out of the batch
        return (
            "outside_batch",
            f"Đường dẫn {path_text!r} trỏ ra ngoài thư mục lô",
            f"path {path_text!r} points outside the batch folder",
        )
    if not local.is_file():
        return (
            "missing",
            f"Không tìm thấy tệp {path_text} trong lô",
            f"file {path_text} is not in the batch",
        )
    return local


def _check_file(c: _Checker, name: str, entry: dict) -> CheckedFile | None:
    ctx = c.ctx
    before = len(c.errors)
    role = c.choice(entry, "role", f"{name}.role", ROLES, required=True)
    declared = entry.get("sha256")
    if declared is None:
        c.add(f"{name}.sha256", "required", f"Thiếu mã băm ({name}.sha256)", f"{name}.sha256 is required")
    elif not isinstance(declared, str) or not SHA256.match(declared):
        c.add(
            f"{name}.sha256",
            "format",
            f"Mã băm {name}.sha256 phải gồm 64 ký tự hexa",
            f"{name}.sha256 must be 64 hexadecimal characters",
        )
    path_text = c.text(entry, "path", f"{name}.path", required=True, max_len=300)
    if path_text is None:
        return None
    if path_text not in ctx.located:
        ctx.located[path_text] = _locate(ctx.root, path_text)
    local = ctx.located[path_text]
    if isinstance(local, tuple):
        code, vi, en = local
        c.add(f"{name}.path", code, vi, en)
        return None
    if len(c.errors) > before:
        return None

    if local not in ctx.hashed:
        size = local.stat().st_size
        ctx.hashed[local] = (size, sha256_of(local) if size <= ctx.max_file_bytes else "")
    size, actual = ctx.hashed[local]
    if size > ctx.max_file_bytes:
        c.add(
            f"{name}.path",
            "too_large",
            f"Tệp {path_text} nặng {size} byte, vượt giới hạn {ctx.max_file_bytes} byte",
            f"file {path_text} is {size} bytes, more than the {ctx.max_file_bytes} allowed",
        )
        return None
    if actual != declared.lower():
        c.add(
            f"{name}.sha256",
            "checksum",
            f"Mã băm của tệp {path_text} không khớp: tệp có {actual}",
            f"sha256 of {path_text} does not match: the file hashes to {actual}",
        )
        return None

    if actual not in ctx.inspected:
        try:
            ctx.inspected[actual] = inspect_file(local, ctx.budgets)
        except UnreadableFile as problem:
            ctx.inspected[actual] = problem
    info = ctx.inspected[actual]
    if isinstance(info, UnreadableFile):
        c.add(
            f"{name}.path",
            f"unreadable_{info.code}",
            f"Tệp {path_text}: {info.vi}",
            f"file {path_text}: {info.en}",
        )
        return None
    if info.dpi is not None and info.dpi < ctx.min_dpi:
        c.add(
            f"{name}.path",
            "low_dpi",
            f"Tệp {path_text} quét ở {info.dpi} dpi, dưới mức tối thiểu {ctx.min_dpi} dpi",
            f"file {path_text} is scanned at {info.dpi} dpi, below the minimum of {ctx.min_dpi} dpi",
        )
        return None
    return CheckedFile(path=path_text, local=local, sha256=actual, role=role, size=size, info=info)
