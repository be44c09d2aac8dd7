"""Coverage: how many of a unit's results are digitized, per procedure and year of issue, since when,
and, where its staff uploaded how many were issued, the share.

The successor rule is the one of `portal.units.services`: a current commune or ward counts the
results of the old units merged into it (`within`); an old unit counts its own. Issued counts are
uploaded per *current* unit (they cover its area, old units included), so the share is shown on a
current unit's page only: an old unit split across several wards has no issued count of its own.

Module functions with an explicit session and actor; they flush, never commit.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Integer, cast, delete, func, select, tuple_
from sqlalchemy.orm import Session, joinedload

from portal import clock, figures
from portal.coverage.models import IssuedCount
from portal.db import utcnow
from portal.errors import InvalidInput
from portal.identity.models import StaffRole, StaffUser
from portal.procedures.models import Procedure
from portal.records.models import Record
from portal.text import fold
from portal.units.models import AdminUnit, UnitLevel, UnitSystem
from portal.units.services import ids_within, list_current_communes

#: A national procedure code: "1.001193".
PROCEDURE_CODE = re.compile(r"\d\.\d{6}")

# -- the figures ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Counts:
    digitized: int
    #: When the first of them was digitized (or imported, when the batch did not say).
    since: datetime | None = None
    #: Issued, summed over the (procedure, year) pairs whose count is known; None: none known.
    issued: int | None = None
    #: Digitized results of those same pairs: what the share compares with ``issued``.
    digitized_of_known: int = 0

    @property
    def share(self) -> float | None:
        return self.digitized_of_known / self.issued if self.issued else None


@dataclass(frozen=True, kw_only=True)
class YearRow(Counts):
    year: int


@dataclass(frozen=True, kw_only=True)
class ProcedureRow(Counts):
    code: str
    name: str


@dataclass(frozen=True)
class Coverage:
    unit_id: int
    procedure_code: str
    procedures: list[ProcedureRow] = field(default_factory=list)
    years: list[YearRow] = field(default_factory=list)

    @property
    def digitized(self) -> int:
        return sum(row.digitized for row in self.years)

    @property
    def since(self) -> datetime | None:
        moments = [row.since for row in self.procedures if row.since is not None]
        return min(moments) if moments else None

    @property
    def issued_known(self) -> bool:
        return any(row.issued is not None for row in self.years)

    @property
    def most(self) -> int:
        """The largest yearly count (the chart's scale)."""
        return max((max(row.digitized, row.issued or 0) for row in self.years), default=0)


def coverage(session: Session, unit: AdminUnit, procedure_code: str = "") -> Coverage:
    """The unit's digitized results per procedure and year of issue (an old unit's own; a current
    unit's with its predecessors'), with the issued counts of a current unit; ``procedure_code``:
    that procedure only. Two grouped queries (the first on the covering index ix_record_coverage)
    and the procedures' names: tens of milliseconds for the busiest ward at a million results, so
    they are not kept in `portal.figures`, whose few slots (64 per process) serve the counts over
    every result: a page per unit and procedure would push those out. The whole page is kept by
    the page cache (http_cache.PUBLIC_PAGES) instead."""
    year = cast(func.extract("year", Record.issued_date), Integer)
    # The successor rule with the ids spelt out (`ids_within`: one query for the unit's former
    # units), not `within`'s "id IN (…) OR id IN (subquery)": PostgreSQL plans that OR as a
    # sequential scan of every result (490 ms for the busiest ward at a million), a plain list as
    # an index-only scan of ix_record_coverage (12 ms).
    ids = ids_within([unit]) if unit.system == UnitSystem.CURRENT else {unit.id}
    of_unit = Record.issuing_unit_id.in_(sorted(ids))
    query = (
        select(
            Record.procedure_code,
            year,
            func.count(),
            func.min(func.coalesce(Record.digitized_at, Record.created_at)),
        )
        .where(of_unit)
        .group_by(Record.procedure_code, year)
    )
    issued_query = select(IssuedCount.procedure_code, IssuedCount.year, IssuedCount.issued).where(
        IssuedCount.unit_id == unit.id
    )
    if procedure_code:
        query = query.where(Record.procedure_code == procedure_code)
        issued_query = issued_query.where(IssuedCount.procedure_code == procedure_code)
    cells = {(code, int(y)): (count, since) for code, y, count, since in session.execute(query)}
    issued = (
        {(code, y): n for code, y, n in session.execute(issued_query)}
        if unit.system == UnitSystem.CURRENT
        else {}
    )
    codes = {code for code, _ in cells} | {code for code, _ in issued}
    names = (
        dict(session.execute(select(Procedure.code, Procedure.name).where(Procedure.code.in_(codes))).all())
        if codes
        else {}
    )

    def rows(key_of, keys: Iterable):
        grouped: dict = {
            key: [0, None, None, 0] for key in keys
        }  # digitized, since, issued, digitized_of_known
        for pair in set(cells) | set(issued):
            entry = grouped[key_of(pair)]
            count, since = cells.get(pair, (0, None))
            entry[0] += count
            if since is not None:
                moment = since if isinstance(since, datetime) else datetime.fromisoformat(str(since))
                entry[1] = moment if entry[1] is None else min(entry[1], moment)
            if pair in issued:
                entry[2] = (entry[2] or 0) + issued[pair]
                entry[3] += count
        return grouped

    by_procedure = rows(lambda pair: pair[0], codes)
    by_year = rows(lambda pair: pair[1], {y for _, y in cells} | {y for _, y in issued})
    return Coverage(
        unit_id=unit.id,
        procedure_code=procedure_code,
        procedures=sorted(
            (
                ProcedureRow(code=code, name=names.get(code, code), digitized=d, since=since, issued=i,
                             digitized_of_known=k)
                for code, (d, since, i, k) in by_procedure.items()
            ),
            key=lambda row: (-row.digitized, row.code),
        ),
        years=[YearRow(year=y, digitized=d, since=since, issued=i, digitized_of_known=k)
               for y, (d, since, i, k) in sorted(by_year.items(), reverse=True)],
    )


def find_procedure(session: Session, code: str) -> Procedure | None:
    code = (code or "").strip()
    return session.get(Procedure, code) if PROCEDURE_CODE.fullmatch(code) else None


# -- issued counts: the CSV staff upload ----------------------------------------------------------

#: The header, exactly (docs/coverage.md).
COLUMNS = ("unit_code", "procedure_code", "year", "issued")
FIRST_YEAR = 1945
MAX_ISSUED = 10_000_000
#: More errors than this are summed up in one last line: nobody reads 20,000 of them.
MAX_ERRORS = 200


class IssuedInvalid(InvalidInput):
    """The file cannot be loaded: ``errors`` are Vietnamese lines, each naming its line number.
    Nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("issued counts refused")
        self.errors = errors


@dataclass(frozen=True)
class LoadReport:
    rows: int
    #: Rows that replaced an earlier upload of the same unit, procedure and year.
    replaced: int
    units: int


def may_upload(staff: StaffUser | None) -> bool:
    """A supervisor (for the units they serve) or an admin (any unit); None: the command line."""
    return staff is None or (staff.active and staff.role in (StaffRole.SUPERVISOR, StaffRole.ADMIN))


def _allowed_unit_ids(staff: StaffUser | None) -> set[int] | None:
    """The current units ``staff`` may upload for; None: every unit."""
    if staff is None or staff.role == StaffRole.ADMIN:
        return None
    return {unit.id for unit in staff.units} if may_upload(staff) else set()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # with or without the BOM spreadsheets write
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise IssuedInvalid(
            [f"Dòng {line}: tệp không phải UTF-8 (hãy lưu tệp CSV với mã hóa UTF-8)."]
        ) from None


def parse_issued(
    session: Session, staff: StaffUser | None, data: bytes, *, max_bytes: int, max_rows: int
) -> list[IssuedCount]:
    """Read and check the whole file; the rows to write (not added to the session). Raises
    IssuedInvalid with every line's errors, in Vietnamese, or a budget exceeded."""
    if len(data) > max_bytes:
        raise IssuedInvalid(
            [f"Tệp quá lớn: {len(data):,} byte, tối đa {max_bytes:,} byte.".replace(",", ".")]
        )
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip().lower() for h in header) != COLUMNS:
        raise IssuedInvalid([f"Dòng 1: dòng tiêu đề phải là đúng «{','.join(COLUMNS)}»."])
    units = {
        u.code: u
        for u in session.scalars(
            select(AdminUnit).where(
                AdminUnit.system == UnitSystem.CURRENT, AdminUnit.level == UnitLevel.COMMUNE
            )
        )
    }
    allowed = _allowed_unit_ids(staff)
    known_procedures = set(session.scalars(select(Procedure.code)))
    this_year = clock.today().year
    errors: list[str] = []
    rows: list[IssuedCount] = []
    seen: dict[tuple[int, str, int], int] = {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue  # an empty line (the last one of many editors)
        if len(rows) + len(errors) >= max_rows:
            raise IssuedInvalid(
                [f"Tệp có quá nhiều dòng: tối đa {max_rows:,} dòng số liệu.".replace(",", ".")]
            )
        problems = []
        if len(values) != len(COLUMNS):
            errors.append(
                f"Dòng {line}: cần đúng {len(COLUMNS)} cột ({', '.join(COLUMNS)}), dòng này có {len(values)}."
            )
            continue
        raw_unit, raw_procedure, raw_year, raw_issued = (v.strip() for v in values)
        unit = None
        if not raw_unit.isdecimal() or len(raw_unit) > 5:
            problems.append(f"mã đơn vị «{raw_unit[:20]}» không phải mã số xã, phường")
        else:
            unit = units.get(raw_unit.zfill(5))
            if unit is None:
                problems.append(f"không có xã, phường hiện hành mã «{raw_unit}»")
            elif allowed is not None and unit.id not in allowed:
                problems.append(f"ông/bà không phụ trách đơn vị {unit.name} (mã {unit.code})")
        if not PROCEDURE_CODE.fullmatch(raw_procedure):
            problems.append(f"mã thủ tục «{raw_procedure[:20]}» không đúng dạng D.DDDDDD (ví dụ 1.001193)")
        elif raw_procedure not in known_procedures:
            problems.append(f"mã thủ tục «{raw_procedure}» chưa có trong danh mục thủ tục của cổng")
        year = int(raw_year) if raw_year.isdecimal() and len(raw_year) == 4 else None
        if year is None or not FIRST_YEAR <= year <= this_year:
            problems.append(f"năm «{raw_year[:10]}» phải là năm từ {FIRST_YEAR} đến {this_year}")
        issued = int(raw_issued) if raw_issued.isdecimal() and len(raw_issued) <= 9 else None
        if issued is None or issued > MAX_ISSUED:
            problems.append(
                f"số đã cấp «{raw_issued[:12]}» phải là số nguyên từ 0 đến {MAX_ISSUED:,}".replace(",", ".")
            )
        if not problems and unit is not None and year is not None and issued is not None:
            key = (unit.id, raw_procedure, year)
            if key in seen:
                problems.append(f"trùng với dòng {seen[key]} (cùng đơn vị, thủ tục và năm)")
            else:
                seen[key] = line
                rows.append(
                    IssuedCount(unit_id=unit.id, procedure_code=raw_procedure, year=year, issued=issued)
                )
        if problems:
            errors.append(f"Dòng {line}: " + "; ".join(problems) + ".")
    if errors:
        if len(errors) > MAX_ERRORS:
            errors = errors[:MAX_ERRORS] + [f"… và {len(errors) - MAX_ERRORS} dòng lỗi khác."]
        raise IssuedInvalid(errors)
    if not rows:
        raise IssuedInvalid(["Tệp không có dòng số liệu nào."])
    return rows


def load_issued(
    session: Session,
    staff: StaffUser | None,
    data: bytes,
    *,
    max_bytes: int,
    max_rows: int,
    now: datetime | None = None,
) -> LoadReport:
    """Check the whole file, then replace the rows of the same (unit, procedure, year): all or
    nothing (the caller commits once; a refused file writes nothing). Raises IssuedInvalid."""
    if not may_upload(staff):
        raise IssuedInvalid(["Chỉ lãnh đạo đơn vị hoặc quản trị viên được tải lên số liệu đã cấp."])
    rows = parse_issued(session, staff, data, max_bytes=max_bytes, max_rows=max_rows)
    now = now or utcnow()
    keys = [(row.unit_id, row.procedure_code, row.year) for row in rows]
    key = tuple_(IssuedCount.unit_id, IssuedCount.procedure_code, IssuedCount.year)
    replaced = 0
    for start in range(0, len(keys), 500):  # bounded IN lists: SQLite's variable limit
        replaced += session.execute(
            delete(IssuedCount)
            .where(key.in_(keys[start : start + 500]))
            .execution_options(synchronize_session=False)
        ).rowcount
    for row in rows:
        row.uploaded_by_id = staff.id if staff is not None else None
        row.uploaded_at = now
    session.add_all(rows)
    session.flush()
    return LoadReport(rows=len(rows), replaced=replaced, units=len({row.unit_id for row in rows}))


def list_issued(session: Session, staff: StaffUser, limit: int = 200) -> list[tuple[IssuedCount, str, str]]:
    """The latest uploaded counts of the units ``staff`` may upload for: (count, unit name, procedure
    name), newest upload first."""
    allowed = _allowed_unit_ids(staff)
    query = (
        select(IssuedCount, AdminUnit.name, Procedure.name)
        .join(AdminUnit, AdminUnit.id == IssuedCount.unit_id)
        .join(Procedure, Procedure.code == IssuedCount.procedure_code)
        .order_by(
            IssuedCount.uploaded_at.desc(),
            AdminUnit.name,
            IssuedCount.procedure_code,
            IssuedCount.year.desc(),
        )
        .limit(limit)
    )
    if allowed is not None:
        query = query.where(IssuedCount.unit_id.in_(allowed or [-1]))
    return [tuple(row) for row in session.execute(query)]


# -- the pickers of the request form ---------------------------------------------------------------


def unit_choices(session: Session) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(id, label) of today's communes and wards, and of the old ones (before 1 July 2025) labelled
    with their districts, each in Vietnamese alphabetical order: a result names the unit as it was
    then. Kept a while per process (portal.figures): ~700 units, read on every form page."""

    def read() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        olds = session.scalars(
            select(AdminUnit)
            .where(AdminUnit.system == UnitSystem.LEGACY, AdminUnit.level == UnitLevel.COMMUNE)
            .options(joinedload(AdminUnit.parent))
        )
        ordered = sorted(olds, key=lambda u: (fold(u.parent.name) if u.parent else "", fold(u.name), u.code))
        return ([(unit.id, unit.name) for unit in list_current_communes(session)],
                [(unit.id, f"{unit.name} ({unit.parent.name})" if unit.parent else unit.name) for unit in ordered])

    return figures.kept(session, "coverage.unit_choices", read)


def procedure_choices(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every procedure, by name; kept a while per process, as the units."""
    return figures.kept(session, "coverage.procedure_choices", lambda: sorted(
        session.execute(select(Procedure.code, Procedure.name)).all(), key=lambda row: (fold(row[1]), row[0])
    ))
