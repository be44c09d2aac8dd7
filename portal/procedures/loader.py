"""Loads national procedures: the curated list shipped in data/procedures.csv, or a catalogue
export of the National Database of Administrative Procedures (CSV or .xlsx).

Columns are found by their header, in English (the shipped file) or as the national database's
export names them in Vietnamese, with or without tone marks (`HEADERS`); only ``code`` and
``name`` are required. A column the file does not have, or an empty cell, leaves what the portal
holds untouched: a partial export never blanks a procedure.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.procedures.models import Procedure
from portal.text import fold

DATA_FILE = Path(__file__).parent / "data" / "procedures.csv"
FIELDS = ("name", "field", "level", "result_doc_type", "notation", "access")
CODE = re.compile(r"^\d\.\d{6}$")
#: Column → headers that name it (folded: lower case, no tone marks, đ → d).
HEADERS = {
    "code": ("code", "ma thu tuc", "ma tthc", "ma thu tuc hanh chinh", "ma so", "ma"),
    "name": ("name", "ten thu tuc", "ten tthc", "ten thu tuc hanh chinh", "ten"),
    "field": ("field", "linh vuc", "ten linh vuc"),
    "level": ("level", "cap thuc hien", "cap"),
    "result_doc_type": ("result_doc_type", "ket qua thuc hien", "ket qua", "ten ket qua"),
    "notation": ("notation", "ky hieu"),
    "access": ("access", "che do truy cap"),
}
#: Longest text each column holds (the model's lengths).
LENGTHS = {"name": 400, "field": 200, "level": 10, "result_doc_type": 100, "notation": 30, "access": 10}


class CatalogueError(ValueError):
    """The file is not a catalogue the loader can read (no code and name columns, unreadable)."""

    def __init__(self, vi: str, en: str):
        super().__init__(en)
        self.vi, self.en = vi, en


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    #: Uncatalogued procedures (met first in an import) this file completed.
    completed: int = 0
    unchanged: int = 0
    #: (row number, why) for rows left out: a malformed code, no name.
    skipped: list[tuple[int, str]] = field(default_factory=list)
    #: Codes whose name changed: their results' search documents show the name.
    renamed: set[str] = field(default_factory=set)


def _level(value: str) -> str:
    """"Cấp Xã", "Cấp Tỉnh, Cấp Xã"… → the level that issues results now; "" when unclear."""
    folded = fold(value)
    if folded in ("commune", "province", "district"):
        return folded
    if re.search(r"\bxa\b", folded):  # several levels: the commune is where a citizen gets it
        return "commune"
    if re.search(r"\btinh\b", folded):
        return "province"
    return ""


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):  # a code typed as a number in a spreadsheet: 1.0001 is "1.000100"
        return f"{value:.6f}"
    return str(value).strip()


def _columns(header: list[str]) -> dict[str, int] | None:
    folded = [re.sub(r"\s+", " ", fold(_cell(h))).strip(" *:") for h in header]
    found = {}
    for name, names in HEADERS.items():
        for index, text in enumerate(folded):
            if text in names and index not in found.values():
                found[name] = index
                break
    return found if {"code", "name"} <= found.keys() else None


def _rows_from(table: list[list]) -> list[tuple[int, dict[str, str]]]:
    """(row number, values by column) under the first row that names the code and name columns
    (an export may open with a title and a blank line)."""
    for position, header in enumerate(table[:30]):
        columns = _columns(list(header))
        if columns is None:
            continue
        rows = []
        for number, row in enumerate(table[position + 1:], start=position + 2):
            values = {name: _cell(row[index]) if index < len(row) else "" for name, index in columns.items()}
            if any(values.values()):
                rows.append((number, values))
        return rows
    raise CatalogueError("Không thấy dòng tiêu đề có cột mã thủ tục và tên thủ tục",
                         "no header row naming the procedure code and name columns")


def read_catalogue(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The rows of a catalogue file, CSV (UTF-8, with or without BOM; comma, semicolon or tab)
    or .xlsx (first sheet). Raises CatalogueError."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as problem:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
            raise CatalogueError(f"Không đọc được tệp .xlsx: {problem}", f"cannot read the .xlsx: {problem}") from None
        try:
            return _rows_from([list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)])
        finally:
            workbook.close()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as problem:
        raise CatalogueError(f"Không đọc được tệp CSV (UTF-8): {problem}",
                             f"cannot read the CSV (UTF-8): {problem}") from None
    sample = text[:8192]  # the header may follow a title line without any delimiter
    delimiter = max(",;\t", key=sample.count)
    return _rows_from(list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)))


def read_procedures(path: Path = DATA_FILE) -> list[dict[str, str]]:
    return [{"code": values["code"], **values} for _number, values in read_catalogue(path)]


def load_catalogue(session: Session, path: Path) -> LoadReport:
    """Create or complete every procedure the file lists; idempotent. Every listed procedure is
    catalogued afterwards; one met only in imports becomes catalogued with the file's values."""
    report = LoadReport()
    existing = {p.code: p for p in session.scalars(select(Procedure))}
    for number, row in read_catalogue(path):
        code = row.get("code", "")
        if not CODE.match(code):
            report.skipped.append((number, f"mã thủ tục / code {code!r}"))
            continue
        values = {}
        for name in FIELDS:
            value = row.get(name, "")
            if name == "level":
                value = _level(value) if value else ""
            if name == "access" and value not in ("personal", "public"):
                value = ""
            if value:
                values[name] = value[: LENGTHS[name]]
        if "name" not in values:
            report.skipped.append((number, "thiếu tên / no name"))
            continue
        procedure = existing.get(code)
        if procedure is None:
            procedure = Procedure(code=code, **{"field": "", "level": "", "result_doc_type": "", "notation": "",
                                                "access": "personal", **values}, catalogued=True)
            session.add(procedure)
            existing[code] = procedure
            report.created += 1
            continue
        changed = {k: v for k, v in values.items() if getattr(procedure, k) != v}
        if "name" in changed:
            report.renamed.add(code)
        for k, v in changed.items():
            setattr(procedure, k, v)
        if not procedure.catalogued:
            procedure.catalogued = True
            report.completed += 1
        elif changed:
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    return report


def sync_procedures(session: Session, path: Path = DATA_FILE) -> tuple[int, int]:
    """Create or update every listed procedure; returns (created, updated). Idempotent."""
    report = load_catalogue(session, path)
    return report.created, report.updated + report.completed
