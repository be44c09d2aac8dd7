"""Deterministic generation of realistic manifest lines (import format v1) for Hanoi.

``generate(n, seed, units)`` yields ``n`` :class:`DemoResult` in manifest order, each a line
without its ``files`` (the batch writer adds them once the scan is written) and the spec of the
scan to render. The same seed, units and as-of date always give the same lines.

Units are real: the caller loads them from the database (`load_units`). Results issued before
1 July 2025 name a legacy commune, district or the province, with the issuer as printed then;
results issued on or after that day name a current commune (or the province).
"""

from __future__ import annotations

import functools
import itertools
import random
import unicodedata
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from portal.clock import HANOI
from portal.demo.people import Organization, PeopleFactory, Person
from portal.procedures.loader import read_procedures

#: The day the districts were abolished and the new communes took over.
REFORM = date(2025, 7, 1)
FIRST_DAY = date(2005, 1, 1)
#: Dates are generated up to min(today, this day), so a seed gives the same batch on any later day.
DEFAULT_AS_OF = date(2026, 10, 31)



@dataclass(frozen=True)
class Unit:
    system: str
    level: str
    code: str
    name: str  # "Phường Dịch Vọng", "Quận Cầu Giấy", "Thành phố Hà Nội"
    division_type: str  # "phường", "xã", "thị trấn", "quận", "huyện", "thị xã", "thành phố trung ương"
    #: Old district the unit lies in (for current communes: the district of its first predecessor).
    district: str | None = None
    #: For legacy units: codes of the current communes that took them over.
    successors: tuple[str, ...] = ()

    @property
    def bare_name(self) -> str:
        prefix = self.division_type + " "
        return self.name[len(prefix) :] if self.name.lower().startswith(prefix) else self.name

    @property
    def urban(self) -> bool:
        return self.division_type in ("phường", "thị trấn", "quận", "thị xã")


@dataclass
class UnitCatalog:
    legacy_communes: list[Unit]
    legacy_districts: list[Unit]
    current_communes: list[Unit]
    legacy_province: Unit
    current_province: Unit
    by_key: dict[tuple[str, str, str], Unit] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for unit in (
            *self.legacy_communes,
            *self.legacy_districts,
            *self.current_communes,
            self.legacy_province,
            self.current_province,
        ):
            self.by_key[(unit.system, unit.level, unit.code)] = unit
        self.district_by_name = {u.name: u for u in self.legacy_districts}


def load_units(session, province_code: str = "01") -> UnitCatalog:
    """Hanoi's units from the database, ordered by code so generation does not depend on row order."""
    from sqlalchemy import select

    from portal.units.models import AdminUnit, UnitSuccession

    rows = session.scalars(select(AdminUnit).where(AdminUnit.province_code == province_code)).all()
    by_id = {u.id: u for u in rows}
    successors: dict[int, list[tuple[int, int]]] = {}
    first_predecessor: dict[int, int] = {}
    for link in session.scalars(select(UnitSuccession)):
        if link.old_unit_id in by_id and link.new_unit_id in by_id:
            successors.setdefault(link.old_unit_id, []).append((link.position, link.new_unit_id))
            old = by_id[link.old_unit_id]
            if old.level == "commune":
                first_predecessor.setdefault(link.new_unit_id, link.old_unit_id)

    def district_of(unit) -> str | None:
        if unit.system == "legacy":
            if unit.level == "commune" and unit.parent_id in by_id:
                return by_id[unit.parent_id].name
            return None
        old = by_id.get(first_predecessor.get(unit.id))
        return by_id[old.parent_id].name if old is not None and old.parent_id in by_id else None

    def make(unit) -> Unit:
        succ = tuple(
            by_id[i].code
            for _, i in sorted(successors.get(unit.id, []))
            if by_id[i].system == "current" and by_id[i].level == "commune"
        )
        return Unit(
            unit.system, unit.level, unit.code, unit.name, unit.division_type.lower(), district_of(unit), succ
        )

    def pick(system: str, level: str) -> list[Unit]:
        return sorted(
            (make(u) for u in rows if u.system == system and u.level == level), key=lambda u: u.code
        )

    provinces = {u.system: make(u) for u in rows if u.level == "province"}
    if "legacy" not in provinces or "current" not in provinces:
        raise LookupError("Hanoi units are not loaded: run `flask refdata` first")
    return UnitCatalog(
        pick("legacy", "commune"),
        pick("legacy", "district"),
        pick("current", "commune"),
        provinces["legacy"],
        provinces["current"],
    )


# --- Procedures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How results of one procedure look: who issues them, to whom, and how long they last."""

    weight: float
    #: Level of the issuing unit before the reform ("commune", "district", "province").
    legacy_level: str = "commune"
    short: str = ""  # ASCII key in source_id and file codes
    org_share: float = 0.0  # share of results whose subject is an organization
    kind: str = "adult"  # "birth", "death", "marriage", "adult", "late_birth"
    validity: str = ""  # "6m", "year_end", "school_year", "50y", "suspend"
    revocable: bool = False
    #: Procedures whose later result replaces this one (điều chỉnh, cấp đổi, cấp lại...).
    followed_by: tuple[str, ...] = ()
    number: str = "seq"  # "seq", "hkd", "gcn"


P = Profile
PROFILES: dict[str, Profile] = {
    # Hộ tịch: the bulk of what a commune issues.
    "1.001193": P(14, short="KS", kind="birth"),
    "1.000894": P(9, short="KH", kind="marriage"),
    "1.000656": P(5, short="KT", kind="death"),
    "1.004873": P(7, short="XNHN", validity="6m"),
    "1.004884": P(1, short="KS", kind="late_birth"),
    "1.005461": P(0.4, short="KT", kind="death"),
    "1.004746": P(0.4, short="KH", kind="marriage"),
    "1.000689": P(0.6, short="KS", kind="birth"),
    "1.001022": P(0.6, short="NCMC"),
    "1.004837": P(0.4, short="GH"),
    "1.004845": P(0.2, short="CDGH"),
    "1.004859": P(1.2, short="TDHT"),
    "2.000635": P(2, short="BSHT"),
    "1.004772": P(0.4, short="KS", kind="late_birth"),
    "2.000528": P(0.3, "district", short="KSNN", kind="birth"),
    "2.000806": P(0.5, "district", short="KHNN", kind="marriage"),
    "1.001695": P(0.1, "district", short="KSNN", kind="birth"),
    "2.000779": P(0.1, "district", short="NCMCNN"),
    "2.000748": P(0.1, "district", short="TDHTNN"),
    "3.000722": P(1.5, short="KS", kind="birth"),
    "2.002913": P(0.8, short="KT", kind="death"),
    "2.001263": P(0.2, short="NCN"),
    # Chứng thực.
    "2.000815": P(5, short="SCTBS"),
    "2.000884": P(3, short="SCTCK"),
    "2.000992": P(0.4, "district", short="SCTCK"),
    "2.001035": P(3, short="SCTHD", org_share=0.15, revocable=True),
    "2.001406": P(0.8, short="SCTHD"),
    "2.001019": P(0.4, short="SCTHD"),
    "2.000908": P(0.8, short="BSSG"),
    # Construction permits: the district before the reform, the commune since.
    "1.013225": P(
        5,
        "district",
        short="GPXD",
        org_share=0.1,
        revocable=True,
        followed_by=("1.013226", "1.013227", "1.013228"),
    ),
    "1.013226": P(0.6, "district", short="GPXD", org_share=0.1, revocable=True),
    "1.013227": P(0.3, "district", short="GPXD", revocable=True),
    "1.013228": P(0.3, "district", short="GPXD", revocable=True),
    "1.013229": P(1, "district", short="GPXD", revocable=True),
    "1.013232": P(0.2, "district", short="GPDD", org_share=0.3),
    # Household businesses.
    "1.001612": P(
        4, "district", short="HKD", revocable=True, followed_by=("2.000720", "2.000575"), number="hkd"
    ),
    "2.000720": P(1, "district", short="HKD", revocable=True, followed_by=("2.000720",), number="hkd"),
    "2.000575": P(0.4, "district", short="HKD", number="hkd"),
    "1.001570": P(0.4, "district", short="TNKD", validity="suspend"),
    "1.001266": P(0.6, "district", short="CDKD"),
    "1.014034": P(0.2, "district", short="HKD", number="hkd"),
    # Land.
    "1.013978": P(3, "district", short="GCN", followed_by=("1.012783", "1.012786"), number="gcn"),
    "1.013949": P(0.8, "district", short="GD", org_share=0.3, validity="50y", revocable=True),
    "1.012812": P(0.4, short="HGDD"),
    "1.013831": P(3, "province", short="GCN", followed_by=("1.012783", "1.012786"), number="gcn"),
    "1.012783": P(0.8, "province", short="GCN", number="gcn"),
    "1.012786": P(0.4, "province", short="GCN", number="gcn"),
    "1.012784": P(0.6, "province", short="GCN", number="gcn"),
    # Others.
    "2.002835": P(0.3, short="NUOC", org_share=0.5),
    "1.001731": P(0.4, "district", short="MT"),
    "1.014027": P(0.6, "district", short="HTXH"),
    "1.001776": P(0.8, "district", short="TCXH"),
    "1.001699": P(0.6, short="XNKT"),
    "1.011607": P(0.8, short="HN", validity="year_end"),
    "1.010803": P(0.3, "province", short="TCLS"),
    "1.010825": P(0.1, "province", short="LS"),
    "1.001029": P(0.5, "district", short="KARAOKE", org_share=0.7, revocable=True),
    "1.013792": P(0.3, "district", short="TCDT", org_share=0.6, revocable=True),
    "2.002894": P(0.2, "district", short="GD", org_share=0.9, revocable=True),
    "1.001622": P(0.5, "district", short="AT", validity="school_year"),
}

#: Provincial issuers: the departments were merged on 1 March 2025.
PROVINCE_ISSUERS = {
    "Đất đai": (
        ("Sở Tài nguyên và Môi trường thành phố Hà Nội", date(2025, 3, 1)),
        ("Sở Nông nghiệp và Môi trường thành phố Hà Nội", None),
    ),
    "Người có công": (
        ("Sở Lao động - Thương binh và Xã hội thành phố Hà Nội", date(2025, 3, 1)),
        ("Sở Nội vụ thành phố Hà Nội", None),
    ),
}
HOSPITALS = [
    "Bệnh viện Phụ sản Hà Nội",
    "Bệnh viện Phụ sản Trung ương",
    "Bệnh viện Bạch Mai",
    "Bệnh viện Đa khoa Xanh Pôn",
    "Bệnh viện Đa khoa Hà Đông",
    "Bệnh viện Đa khoa Đức Giang",
    "Trạm Y tế ",
]
TRADES = [
    "bán lẻ tạp hóa",
    "kinh doanh ăn uống",
    "sửa chữa xe máy",
    "cắt tóc, gội đầu",
    "bán lẻ quần áo",
    "photocopy, văn phòng phẩm",
    "kinh doanh cà phê, giải khát",
    "bán lẻ điện thoại di động",
    "may đo quần áo",
    "kinh doanh nhà nghỉ",
]
PAPERS = [
    "Bằng tốt nghiệp đại học",
    "Giấy khai sinh",
    "Sổ hộ khẩu",
    "Học bạ trung học phổ thông",
    "Giấy chứng nhận quyền sử dụng đất",
    "Hợp đồng lao động",
    "Bảng điểm đại học",
    "Căn cước công dân",
]
CONTRACTS = [
    "Hợp đồng mua bán xe mô tô",
    "Hợp đồng tặng cho quyền sử dụng đất",
    "Hợp đồng chuyển nhượng quyền sử dụng đất",
    "Hợp đồng ủy quyền",
    "Hợp đồng thuê nhà ở",
    "Hợp đồng mua bán nhà ở",
]
OPERATORS = [f"op-{i:02d}" for i in range(1, 41)]


@dataclass
class ScanSpec:
    kind: str  # "jpeg" or "pdf"
    dpi: int
    pages: int


@dataclass
class DemoResult:
    seq: int  # 1-based position in the manifest
    line: dict[str, Any]
    scan: ScanSpec
    #: What the scan shows beyond the line (address, quyển số...).
    extra: dict[str, str] = field(default_factory=dict)


@functools.lru_cache(maxsize=4096)
def ascii_key(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum()).upper()


def _stable_rng(*parts: object) -> random.Random:
    """A generator seeded by its key, independent of call order and of PYTHONHASHSEED."""
    return random.Random(zlib.crc32("|".join(map(str, parts)).encode()))


def vn_num(value: float) -> str:
    """68.5 → "68,5": Vietnamese decimal comma."""
    return f"{value:.1f}".replace(".", ",")


def _lower_first(text: str | None) -> str | None:
    """ "Phường Dịch Vọng" → "phường Dịch Vọng", as addresses write it."""
    return text[0].lower() + text[1:] if text else text


def vn_date(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


class Generator:
    def __init__(self, seed: int, units: UnitCatalog, as_of: date | None = None):
        self.seed = seed
        self.rng = random.Random(seed)
        self.units = units
        self.as_of = as_of or min(date.today(), DEFAULT_AS_OF)
        self.people = PeopleFactory(self.rng)
        self.procedures = {row["code"]: row for row in read_procedures()}
        self.codes = [code for code in PROFILES if code in self.procedures]
        self.cum_weights = list(itertools.accumulate(PROFILES[code].weight for code in self.codes))
        self.communes_of = {
            d.name: [c for c in units.legacy_communes if c.district == d.name] for d in units.legacy_districts
        }
        self._numbers: dict[tuple[str, int, str], int] = {}
        #: Recent adults, so that some people have several results (bounded: a ring buffer).
        self._recent: deque[Person] = deque(maxlen=500)
        self._signers: dict[tuple, str] = {}

    # -- dates ----------------------------------------------------------------------------
    def _issued_date(self) -> date:
        rng = self.rng
        if self.as_of >= REFORM and rng.random() < 0.22:
            start, end = REFORM, self.as_of
        else:
            # More recent years are digitized more: weight years linearly.
            last = min(self.as_of, REFORM - timedelta(days=1))
            years = range(FIRST_DAY.year, last.year + 1)
            year = rng.choices(years, cum_weights=_triangular(len(years)))[0]
            start, end = date(year, 1, 1), min(date(year, 12, 31), last)
        return start + timedelta(days=rng.randrange((end - start).days + 1))

    # -- units ----------------------------------------------------------------------------
    def _unit_for(self, profile: Profile, issued: date, near: Unit | None = None) -> Unit:
        rng, units = self.rng, self.units
        if profile.legacy_level == "province":
            return units.current_province if issued >= REFORM else units.legacy_province
        if issued >= REFORM:
            if near is not None and near.successors:
                return units.by_key[("current", "commune", rng.choice(near.successors))]
            if near is not None and near.system == "current":
                return near
            return rng.choice(units.current_communes)
        if near is not None and near.system == "legacy":
            return near
        # Chứng thực is done at both levels before the reform.
        level = profile.legacy_level
        if profile.short.startswith("SCT") and level == "commune" and rng.random() < 0.3:
            level = "district"
        if level == "district":
            return rng.choice(units.legacy_districts)
        return rng.choice(units.legacy_communes)

    def _issuer(self, profile_field: str, unit: Unit, issued: date) -> str:
        if unit.level == "province":
            for name, until in PROVINCE_ISSUERS.get(
                profile_field, (("Ủy ban nhân dân thành phố Hà Nội", None),)
            ):
                if until is None or issued < until:
                    return name
        return f"Ủy ban nhân dân {unit.division_type} {unit.bare_name}"

    def _signer(self, unit: Unit, issued: date, role: str) -> str:
        # One person per unit, role and term: the same chair signs a unit's results for years.
        term = 2025.5 if issued >= REFORM else min(2021, max(2004, issued.year - (issued.year - 2001) % 5))
        key = (unit.system, unit.level, unit.code, role, term)
        if key not in self._signers:
            rng = _stable_rng(self.seed, *key)
            sex = "M" if rng.random() < 0.7 else "F"
            from portal.demo.people import full_name

            self._signers[key] = full_name(rng, sex)
        return self._signers[key]

    def _signer_title(self, profile: Profile, row: dict, unit: Unit) -> tuple[str, str]:
        rng = self.rng
        if unit.level == "province":
            return ("Giám đốc", "director") if rng.random() < 0.3 else ("Phó Giám đốc", "deputy")
        doc_type = row["result_doc_type"]
        if row["field"] == "Hộ tịch" and unit.level == "commune":
            if doc_type.startswith("Bản sao") or (doc_type.startswith("Trích lục") and rng.random() < 0.5):
                return "Công chức Tư pháp - Hộ tịch", "clerk"
        if row["field"] == "Chứng thực" and unit.level == "district":
            return (
                ("Trưởng phòng Tư pháp", "justice")
                if rng.random() < 0.4
                else ("Phó Trưởng phòng Tư pháp", "justice2")
            )
        if profile.number == "hkd" and unit.level == "district":
            return "Trưởng phòng Tài chính - Kế hoạch", "finance"
        return ("Chủ tịch", "chair") if rng.random() < 0.3 else ("Phó Chủ tịch", "vice")

    # -- numbers --------------------------------------------------------------------------
    def _number(self, profile: Profile, row: dict, unit: Unit, issued: date) -> tuple[str, str | None]:
        rng = self.rng
        notation = (row.get("notation") or "").strip() or None
        key = (unit.code + unit.level, issued.year, profile.short)
        current = self._numbers.get(key)
        current = rng.randint(1, 40) if current is None else current + rng.randint(1, 6)
        self._numbers[key] = current
        if profile.number == "hkd":
            letter = "ABCDEFGHIKLMNOPQRSTUVXY"[int(unit.code) % 23]
            return f"01{letter}8{current % 1_000_000:06d}", None
        if profile.number == "gcn":
            return f"CS{current % 100_000:05d}", None
        if notation == "SCT/CK,ĐC" and rng.random() < 0.5:
            notation = "SCT/CK"
        return str(current % 100_000_000), notation

    # -- subjects -------------------------------------------------------------------------
    def _adult(self, issued: date, min_age: int = 18, max_age: int = 80) -> Person:
        rng = self.rng
        if self._recent and rng.random() < 0.15:
            person = rng.choice(self._recent)
            age = (issued - person.birth_date).days // 365
            if min_age <= age <= max_age:
                return person
        born = (date(issued.year - max_age, 1, 1), date(issued.year - min_age, 12, 31))
        person = self.people.person(born, hanoi_born=rng.random() < 0.6)
        self._recent.append(person)
        return person

    # -- one result -----------------------------------------------------------------------
    def result(
        self,
        seq: int,
        code: str | None = None,
        issued: date | None = None,
        previous: DemoResult | None = None,
    ) -> DemoResult:
        rng = self.rng
        code = code or rng.choices(self.codes, cum_weights=self.cum_weights)[0]
        profile, row = PROFILES[code], self.procedures[code]
        issued = issued or self._issued_date()
        prev_unit = None
        if previous is not None:
            u = previous.line["admin_unit"]
            prev_unit = self.units.by_key[(u["system"], u["level"], u["code"])]
        unit = self._unit_for(profile, issued, prev_unit)
        district = unit.district if unit.level == "commune" else None
        if unit.level == "district":
            district = unit.name
        # A street address in the issuing unit; for district issuers, in one of its communes.
        place_unit = unit
        if unit.level != "commune":
            pool = self.communes_of.get(unit.name) or self.units.legacy_communes
            place_unit = (
                rng.choice(pool) if unit.level == "district" else rng.choice(self.units.current_communes)
            )
            district = place_unit.district
        address = (
            previous.extra["address"]
            if previous is not None
            else self.people.address(_lower_first(district), _lower_first(place_unit.name), place_unit.urban)
        )
        full_address = f"{address}, thành phố Hà Nội"

        subject: Person | Organization
        extra: dict[str, str] = {"address": address}
        if unit.system == "legacy" and unit.level == "commune" and unit.district:
            extra["parent"] = unit.district
        if previous is not None:
            s = previous.line["subject"]
            subject_line = dict(s)
            subject = None
        else:
            subject = self._subject(profile, issued)
            subject_line = _subject_line(subject)
        name = subject_line["name"]
        summary, scope, extra_fields = self._summary(
            code, profile, row, subject, subject_line, issued, full_address
        )
        extra.update(extra_fields)

        number, notation = self._number(profile, row, unit, issued)
        title, role = self._signer_title(profile, row, unit)
        valid_to = self._valid_to(profile, issued)
        status = "valid"
        if valid_to is not None and valid_to < self.as_of:
            status = "expired"
        elif profile.revocable and rng.random() < 0.03:
            status = "revoked"
        elif rng.random() < 0.008:
            status = "annulled"

        year = issued.year
        notation_key = ascii_key(notation.split("/")[-1].split(",")[0]) if notation else profile.short
        unit_key = ascii_key(unit.bare_name)
        source_id = f"HN-{unit_key}-{notation_key}-{year}-{seq:06d}"
        received = issued - timedelta(days=rng.randint(1, 20))
        if unit.system == "legacy":
            agency = f"000.{int(unit.code) % 100:02d}.{int(unit.code) // 100 % 100:02d}.H26"
        else:
            agency = f"H26.{int(unit.code) % 1000:03d}"
        dossier = f"{agency}-{received:%y%m%d}-{rng.randint(1, 9999):04d}"
        fonds = f"P{unit.code}"
        scan = self._scan_spec(profile)
        digitized = self._digitized_at(issued)
        condition = None
        if issued.year < 2013 and rng.random() < 0.3:
            condition = rng.choice(["Giấy ố vàng, mép rách nhẹ", "Mực phai một phần", "Có vết gấp, chữ rõ"])
        elif rng.random() < 0.5:
            condition = "Tốt"

        line = {
            "source_id": source_id,
            "procedure_code": code,
            "result_type_code": f"KQ.H26.{seq % 1_000_000:06d}",
            "dossier_code": dossier,
            "doc_type_name": row["result_doc_type"].split(";")[0].strip()[:100],
            "doc_number": number,
            "doc_notation": notation,
            "issued_date": issued.isoformat(),
            "issuer_name": self._issuer(row["field"], unit, issued),
            "admin_unit": {"code": unit.code, "level": unit.level, "system": unit.system},
            "signer": {"name": self._signer(unit, issued, role), "title": title},
            "summary": summary[:500],
            "subject": subject_line,
            "valid_from": issued.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None,
            "scope": scope,
            "status": status,
            "replaces": previous.line["source_id"] if previous is not None else None,
            "access": row["access"],
            "archive": {
                "fonds_code": fonds,
                "file_code": f"{fonds}.{year}.{profile.short}.{rng.randint(1, 12):02d}",
                "doc_seq": rng.randint(1, 250),
                "language": "vi",
                "pages": scan.pages,
                **({"physical_condition": condition} if condition else {}),
                "keywords": [row["field"], line_keyword(row)],
            },
            "digitization": {
                "digitized_at": digitized,
                "operator": rng.choice(OPERATORS),
                "source_form": "original" if rng.random() < 0.85 else "copy",
                "dpi": scan.dpi,
            },
        }
        extra["name"] = name
        return DemoResult(seq, line, scan, extra)

    def _subject(self, profile: Profile, issued: date) -> Person | Organization:
        rng = self.rng
        if profile.org_share and rng.random() < profile.org_share:
            return self.people.organization()
        if profile.kind == "birth":
            born = issued - timedelta(days=rng.randint(3, 60))
            return self.people.person((born, born), hanoi_born=True)
        if profile.kind == "late_birth":
            return self.people.person((date(1950, 1, 1), date(min(issued.year - 5, 2015), 12, 31)))
        if profile.kind == "death":
            return self.people.person((date(issued.year - 95, 1, 1), date(issued.year - 45, 12, 31)))
        if profile.kind == "marriage":
            return self._adult(issued, 20, 40)
        return self._adult(issued)

    def _summary(
        self, code: str, profile: Profile, row: dict, subject, subject_line: dict, issued: date, address: str
    ) -> tuple[str, str | None, dict[str, str]]:
        rng = self.rng
        name = subject_line["name"]
        born = subject_line.get("birth_date")
        born_vn = vn_date(date.fromisoformat(born)) if born else ""
        extra: dict[str, str] = {}
        scope = None
        short = profile.short
        if profile.kind in ("birth", "late_birth"):
            # The child carries the father's surname.
            father = self.people.person(
                (date(issued.year - 40, 1, 1), date(issued.year - 22, 1, 1)), "M"
            ).name
            father = " ".join([name.split()[0], *father.split()[1:]])
            mother = self.people.person(
                (date(issued.year - 38, 1, 1), date(issued.year - 20, 1, 1)), "F"
            ).name
            place = rng.choice(HOSPITALS).strip()
            if place == "Trạm Y tế":
                place = f"Trạm Y tế {address.split(', ')[1]}"
            extra.update(father=father, mother=mother, book=f"{rng.randint(1, 3):02d}/{issued.year}")
            text = (
                f"Đăng ký khai sinh cho {name}, sinh ngày {born_vn} tại {place}; họ tên cha: {father}; "
                f"họ tên mẹ: {mother}; nơi cư trú: {address}"
            )
            if profile.kind == "late_birth":
                text = "Đăng ký lại khai sinh" + text[len("Đăng ký khai sinh") :]
            return text, None, extra
        if profile.kind == "marriage":
            sex = subject.sex if isinstance(subject, Person) else "M"
            spouse = self.people.person(
                (date(issued.year - 40, 1, 1), date(issued.year - 20, 12, 31)), "F" if sex == "M" else "M"
            )
            extra.update(spouse=spouse.name, book=f"{rng.randint(1, 2):02d}/{issued.year}")
            return (
                (
                    f"Đăng ký kết hôn giữa {name}, sinh ngày {born_vn} và {spouse.name}, sinh năm "
                    f"{spouse.birth_date.year}; nơi cư trú: {address}"
                ),
                None,
                extra,
            )
        if profile.kind == "death":
            died = issued - timedelta(days=rng.randint(1, 30))
            return (
                (f"Đăng ký khai tử cho {name}, sinh ngày {born_vn}, chết ngày {vn_date(died)} tại {address}"),
                None,
                extra,
            )
        if short == "XNHN":
            return (
                (
                    f"Xác nhận tình trạng hôn nhân của {name}, sinh ngày {born_vn}, cư trú tại {address}: "
                    f"hiện tại chưa đăng ký kết hôn với ai"
                ),
                "Sử dụng để làm thủ tục đăng ký kết hôn",
                extra,
            )
        if short in ("GPXD", "GPDD"):
            floors = rng.randint(2, 6)
            area = rng.randint(40, 140) + rng.randint(0, 9) / 10
            parcel, sheet = rng.randint(1, 400), rng.randint(1, 60)
            extra.update(floors=str(floors), area=vn_num(area))
            scope = f"Thửa đất số {parcel}, tờ bản đồ số {sheet}"
            verb = {
                "1.013225": "Cấp giấy phép xây dựng",
                "1.013226": "Điều chỉnh giấy phép xây dựng",
                "1.013227": "Gia hạn giấy phép xây dựng",
                "1.013228": "Cấp lại giấy phép xây dựng",
                "1.013229": "Cấp giấy phép sửa chữa, cải tạo",
                "1.013232": "Cấp giấy phép di dời",
            }[code]
            return (
                (
                    f"{verb} nhà ở riêng lẻ tại {address}; diện tích xây dựng tầng 1: "
                    f"{extra['area']} m²; tổng diện tích sàn: {vn_num(area * floors)} m²; "
                    f"số tầng: {floors} tầng"
                ),
                scope,
                extra,
            )
        if short in ("HKD", "TNKD", "CDKD"):
            trade = rng.choice(TRADES)
            capital = rng.choice([50, 100, 150, 200, 300, 500])
            return (
                (
                    f"{row['name']}: chủ hộ {name}; ngành, nghề kinh doanh: {trade}; địa điểm kinh doanh: "
                    f"{address}; vốn kinh doanh: {capital}.000.000 đồng"
                ),
                None,
                extra,
            )
        if short == "GCN":
            parcel, sheet = rng.randint(1, 900), rng.randint(1, 80)
            area = rng.randint(35, 400) + rng.randint(0, 9) / 10
            use = "đất ở tại đô thị" if "phường" in address or "phố" in address else "đất ở tại nông thôn"
            scope = f"Thửa đất số {parcel}, tờ bản đồ số {sheet}"
            return (
                (
                    f"{row['name'].split(';')[0][:120]}: thửa đất số {parcel}, tờ bản đồ số {sheet}, "
                    f"diện tích {vn_num(area)} m², mục đích sử dụng: {use}, thời hạn sử dụng: lâu dài; "
                    "địa chỉ thửa đất: "
                    f"{address}"
                ),
                scope,
                extra,
            )
        if short == "SCTBS":
            return f"Chứng thực bản sao từ bản chính {rng.choice(PAPERS)} của {name}", None, extra
        if short == "SCTCK":
            return (
                f"Chứng thực chữ ký của {name} trên giấy tờ, văn bản (Giấy ủy quyền); nơi cư trú: {address}",
                None,
                extra,
            )
        if short == "SCTHD":
            paper = rng.choice(CONTRACTS) if code == "2.001035" else row["result_doc_type"]
            return (
                f"Chứng thực {paper[0].lower()}{paper[1:]} giữa {name} và bên liên quan; "
                f"tài sản tại {address}",
                None,
                extra,
            )
        if short in ("KARAOKE", "TCDT"):
            rooms = rng.randint(2, 12)
            return (
                (
                    f"{row['result_doc_type']} cho {name}; địa điểm kinh doanh: {address}; "
                    f"số phòng/số máy: {rooms if short == 'KARAOKE' else rooms * 5}"
                ),
                None,
                extra,
            )
        text = f"{row['name'].split(';')[0]} cho {name}"
        if born_vn:
            text += f", sinh ngày {born_vn}"
        return f"{text}; địa chỉ: {address}", scope, extra

    def _valid_to(self, profile: Profile, issued: date) -> date | None:
        rng = self.rng
        match profile.validity:
            case "6m":
                return issued + timedelta(days=182)
            case "year_end":
                return date(issued.year, 12, 31)
            case "school_year":
                return date(issued.year + (1 if issued.month >= 6 else 0), 5, 31)
            case "50y":
                return (
                    issued.replace(year=issued.year + 50)
                    if not (issued.month == 2 and issued.day == 29)
                    else date(issued.year + 50, 2, 28)
                )
            case "suspend":
                return issued + timedelta(days=rng.choice([90, 180, 365]))
        return None

    def _scan_spec(self, profile: Profile) -> ScanSpec:
        rng = self.rng
        dpi = 300 if rng.random() < 0.2 else 200
        if rng.random() < 0.4:
            return ScanSpec("jpeg", dpi, 1)
        pages = 2 if profile.short in ("GPXD", "GCN") else rng.choice([1, 1, 1, 2, 3])
        return ScanSpec("pdf", dpi, pages)

    def _digitized_at(self, issued: date) -> str:
        rng = self.rng
        start = max(issued + timedelta(days=1), date(2023, 3, 1))
        end = self.as_of
        day = start if start >= end else start + timedelta(days=rng.randrange((end - start).days + 1))
        moment = datetime.combine(day, time(rng.randint(8, 16), rng.randint(0, 59)), HANOI)
        return moment.isoformat()

    # -- the stream -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[DemoResult]:
        return self.generate(0)

    def generate(self, n: int) -> Iterator[DemoResult]:
        seq = 0
        while seq < n:
            seq += 1
            result = self.result(seq)
            chain = [result]
            profile = PROFILES[result.line["procedure_code"]]
            # Some results are later replaced (điều chỉnh, cấp đổi, cấp lại): emit the chain in order.
            while (
                profile.followed_by
                and seq < n
                and len(chain) < 3
                and self.rng.random() < 0.12
                and result.line["status"] == "valid"
            ):
                issued = date.fromisoformat(result.line["issued_date"])
                if (self.as_of - issued).days < 60:
                    break
                later = issued + timedelta(days=self.rng.randint(30, min(2500, (self.as_of - issued).days)))
                code = self.rng.choice(profile.followed_by)
                seq += 1
                successor = self.result(seq, code, later, previous=result)
                result.line["status"] = "replaced"
                chain.append(successor)
                result, profile = successor, PROFILES[code]
            yield from chain


@functools.cache
def _triangular(n: int) -> list[int]:
    return list(itertools.accumulate(range(1, n + 1)))


def line_keyword(row: dict) -> str:
    return row["result_doc_type"].split(";")[0].split("(")[0].strip().lower()


def _subject_line(subject: Person | Organization) -> dict[str, Any]:
    if isinstance(subject, Organization):
        return {"type": "organization", "id_number": subject.tax_code, "name": subject.name}
    return {
        "type": "individual",
        "id_number": subject.id_number,
        "name": subject.name,
        "birth_date": subject.birth_date.isoformat(),
    }


def generate(n: int, seed: int, units: UnitCatalog, as_of: date | None = None) -> Iterator[DemoResult]:
    """N results in manifest order (replaced results come before the results replacing them)."""
    return Generator(seed, units, as_of).generate(n)
