"""Realistic Vietnamese people, organizations and Hanoi addresses for demo data.

Everything is drawn from a ``random.Random`` handed in by the caller, so a seed gives the same
people every time. Identity numbers are shaped like the real ones but made up; the serial part
is a bijection of a running counter, so no two generated people share a number.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date, timedelta

#: Surnames with rough shares in northern Vietnam (Nguyễn ≈ 38 %); Khuất, Nghiêm, Kiều are Hanoi names.
SURNAMES = {
    "Nguyễn": 380,
    "Trần": 110,
    "Lê": 95,
    "Phạm": 70,
    "Hoàng": 45,
    "Huỳnh": 6,
    "Phan": 40,
    "Vũ": 40,
    "Võ": 8,
    "Đặng": 21,
    "Bùi": 20,
    "Đỗ": 20,
    "Hồ": 12,
    "Ngô": 13,
    "Dương": 10,
    "Lý": 5,
    "Đinh": 10,
    "Trịnh": 8,
    "Đào": 8,
    "Mai": 5,
    "Tạ": 4,
    "Lương": 4,
    "Cao": 4,
    "Chu": 3,
    "Kiều": 2,
    "Khuất": 2,
    "Nghiêm": 1,
    "Lưu": 3,
    "Hà": 4,
    "Tô": 2,
    "Vương": 2,
    "Phùng": 3,
}
MIDDLE = {
    "M": {
        "Văn": 30,
        "Đức": 8,
        "Minh": 8,
        "Quang": 6,
        "Hữu": 5,
        "Công": 4,
        "Thanh": 4,
        "Xuân": 3,
        "Mạnh": 3,
        "Tuấn": 3,
        "Hoàng": 3,
        "Ngọc": 2,
        "Duy": 4,
        "Trọng": 3,
        "Việt": 3,
        "Gia": 3,
        "Tiến": 2,
    },
    "F": {
        "Thị": 30,
        "Thu": 6,
        "Ngọc": 6,
        "Thanh": 5,
        "Phương": 4,
        "Minh": 4,
        "Hồng": 4,
        "Thùy": 4,
        "Khánh": 3,
        "Mai": 2,
        "Bảo": 2,
        "Diệu": 2,
        "Quỳnh": 2,
        "Hải": 2,
        "Kim": 3,
        "Lan": 2,
    },
}
GIVEN = {
    "M": [
        "Anh",
        "Bình",
        "Cường",
        "Dũng",
        "Đạt",
        "Đông",
        "Hải",
        "Hiếu",
        "Hòa",
        "Hùng",
        "Huy",
        "Khánh",
        "Kiên",
        "Lâm",
        "Long",
        "Minh",
        "Nam",
        "Nghĩa",
        "Phong",
        "Phúc",
        "Quân",
        "Sơn",
        "Thắng",
        "Thành",
        "Toàn",
        "Trung",
        "Tú",
        "Tuấn",
        "Vinh",
        "Việt",
        "Đức",
        "Hưng",
        "Khoa",
        "Tài",
        "Thịnh",
        "Quý",
    ],
    "F": [
        "Anh",
        "Châu",
        "Chi",
        "Dung",
        "Giang",
        "Hà",
        "Hạnh",
        "Hằng",
        "Hiền",
        "Hoa",
        "Huyền",
        "Hương",
        "Lan",
        "Linh",
        "Loan",
        "Mai",
        "My",
        "Nga",
        "Ngân",
        "Ngọc",
        "Nhung",
        "Oanh",
        "Phương",
        "Quyên",
        "Tâm",
        "Thảo",
        "Thủy",
        "Trang",
        "Trâm",
        "Uyên",
        "Vân",
        "Yến",
        "Liên",
        "Thư",
    ],
}
#: Birth-province codes of the personal id (Decree 137/2015 list: the statistics code with a leading 0).
ID_PROVINCES = {
    "001": 80,
    "034": 2,
    "035": 2,
    "036": 2,
    "037": 1,
    "038": 2,
    "040": 2,
    "030": 2,
    "031": 1,
    "033": 2,
    "026": 1,
    "027": 1,
    "025": 1,
    "024": 1,
    "022": 1,
    "042": 1,
    "079": 1,
}

#: Streets per old district ("phố" in the old quarters, "đường" for the big roads).
STREETS = {
    "Ba Đình": [
        "phố Kim Mã",
        "phố Đội Cấn",
        "phố Liễu Giai",
        "phố Nguyễn Thái Học",
        "phố Hoàng Hoa Thám",
        "phố Giảng Võ",
        "phố Ngọc Hà",
    ],
    "Hoàn Kiếm": [
        "phố Hàng Bài",
        "phố Hàng Bạc",
        "phố Tràng Tiền",
        "phố Lý Thường Kiệt",
        "phố Hàng Gai",
        "phố Đinh Tiên Hoàng",
    ],
    "Tây Hồ": ["đường Lạc Long Quân", "đường Âu Cơ", "phố Thụy Khuê", "phố Xuân Diệu", "phố Nghi Tàm"],
    "Long Biên": ["đường Nguyễn Văn Cừ", "phố Ngọc Lâm", "đường Ngô Gia Tự", "đường Nguyễn Văn Linh"],
    "Cầu Giấy": [
        "phố Trần Thái Tông",
        "đường Cầu Giấy",
        "đường Xuân Thủy",
        "đường Hoàng Quốc Việt",
        "phố Trần Duy Hưng",
        "phố Duy Tân",
        "phố Trung Kính",
        "phố Nguyễn Khang",
    ],
    "Đống Đa": [
        "phố Láng Hạ",
        "phố Tôn Đức Thắng",
        "phố Chùa Bộc",
        "phố Thái Hà",
        "phố Xã Đàn",
        "đường Láng",
        "phố Nguyễn Lương Bằng",
    ],
    "Hai Bà Trưng": [
        "phố Bạch Mai",
        "phố Minh Khai",
        "phố Huế",
        "phố Lò Đúc",
        "phố Đại Cồ Việt",
        "phố Trần Khát Chân",
    ],
    "Hoàng Mai": ["đường Giải Phóng", "phố Tam Trinh", "đường Lĩnh Nam", "đường Kim Giang"],
    "Thanh Xuân": ["đường Nguyễn Trãi", "phố Khuất Duy Tiến", "phố Nguyễn Tuân", "phố Vũ Trọng Phụng"],
    "Nam Từ Liêm": ["phố Mễ Trì", "đường Lê Đức Thọ", "đường Hồ Tùng Mậu", "đường Phạm Hùng"],
    "Bắc Từ Liêm": ["đường Phạm Văn Đồng", "phố Cổ Nhuế", "phố Hoàng Công Chất"],
    "Hà Đông": ["phố Quang Trung", "phố Trần Phú", "đường Lê Trọng Tấn", "phố Tô Hiệu"],
    "Sơn Tây": ["phố Lê Lợi", "phố Phùng Khắc Khoan", "phố Quang Trung"],
}
VILLAGES = [
    "thôn Đông",
    "thôn Đoài",
    "thôn Thượng",
    "thôn Hạ",
    "thôn Trung",
    "xóm Mới",
    "thôn 1",
    "thôn 2",
    "thôn 3",
    "thôn Chùa",
    "thôn Đình",
    "xóm Bãi",
    "thôn Yên Nội",
    "thôn Phú Mỹ",
]

ORG_FORMS = {
    "Công ty TNHH": 45,
    "Công ty Cổ phần": 35,
    "Công ty TNHH MTV": 10,
    "Hợp tác xã": 4,
    "Chi nhánh Công ty Cổ phần": 6,
}
ORG_TRADES = [
    "Thương mại và Dịch vụ",
    "Xây dựng",
    "Đầu tư và Phát triển",
    "Công nghệ",
    "Giáo dục",
    "Kiến trúc và Nội thất",
    "Dịch vụ Giải trí",
    "Thực phẩm",
    "Vận tải",
    "Du lịch",
    "Đầu tư Bất động sản",
    "Thiết bị Y tế",
    "Tư vấn Thiết kế",
]
ORG_BRANDS = [
    "Minh Phát",
    "Hoàng Long",
    "An Bình",
    "Thành Công",
    "Phú Thịnh",
    "Việt Hưng",
    "Sao Mai",
    "Hồng Hà",
    "Thăng Long",
    "Tràng An",
    "Đông Đô",
    "Kinh Bắc",
    "Hưng Thịnh",
    "Nam Việt",
    "Bình Minh",
    "Hải Đăng",
    "Tây Hồ",
    "Hà Thành",
    "Ánh Dương",
    "Trường Sơn",
]
#: Weights of the tax-code check digit (Circular 105/2020/TT-BTC, first nine digits).
_MST_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


@dataclass(frozen=True)
class Person:
    name: str
    sex: str  # "M" or "F"
    birth_date: date
    id_number: str


@dataclass(frozen=True)
class Organization:
    name: str
    tax_code: str


_CUMULATIVE: dict[int, tuple[list[str], list[int]]] = {}


def _pick(rng: random.Random, weighted: dict[str, int]) -> str:
    # Cumulative weights computed once per table: choices(weights=...) would redo it every call.
    table = _CUMULATIVE.get(id(weighted))
    if table is None:
        table = _CUMULATIVE[id(weighted)] = (list(weighted), list(itertools.accumulate(weighted.values())))
    return rng.choices(table[0], cum_weights=table[1])[0]


def full_name(rng: random.Random, sex: str) -> str:
    return f"{_pick(rng, SURNAMES)} {_pick(rng, MIDDLE[sex])} {rng.choice(GIVEN[sex])}"


def personal_id(province: str, sex: str, birth_year: int, serial: int) -> str:
    """A 12-digit id: province (3), century-and-sex (1), year (2), serial (6).

    Century digit: 0/1 for men/women born 1900–1999, 2/3 for 2000–2099.
    ``serial`` < 1,000,000 gives a distinct 6-digit tail (a bijection mod 10**6).
    """
    century = (birth_year // 100) - 19
    digit = century * 2 + (1 if sex == "F" else 0)
    tail = (serial * 387_403 + 104_729) % 1_000_000
    return f"{province}{digit}{birth_year % 100:02d}{tail:06d}"


class PeopleFactory:
    """Makes people and organizations; distinct ids over up to a million of each."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._people = 0
        self._orgs = 0

    def person(
        self, born_between: tuple[date, date], sex: str | None = None, hanoi_born: bool = False
    ) -> Person:
        rng = self.rng
        sex = sex or rng.choice("MF")
        start, end = born_between
        birth = start + timedelta(days=rng.randrange(max(1, (end - start).days + 1)))
        province = "001" if hanoi_born else _pick(rng, ID_PROVINCES)
        self._people += 1
        return Person(full_name(rng, sex), sex, birth, personal_id(province, sex, birth.year, self._people))

    def organization(self) -> Organization:
        rng = self.rng
        self._orgs += 1
        form = _pick(rng, ORG_FORMS)
        brand = f"{rng.choice(ORG_TRADES)} {rng.choice(ORG_BRANDS)}"
        code = tax_code(self._orgs)
        if form.startswith("Chi nhánh"):
            return Organization(f"{form} {brand} tại Hà Nội", f"{code}-{rng.randint(1, 9):03d}")
        return Organization(f"{form} {brand}", code)

    def address(self, district: str | None, commune: str, urban: bool) -> str:
        """A street address inside the given commune (and old district when known)."""
        rng = self.rng
        place = f"{commune}, {district}" if district else commune
        if urban:
            streets = STREETS.get(_bare(district or ""), None) or [s for v in STREETS.values() for s in v]
            street = rng.choice(streets)
            if rng.random() < 0.55:
                return f"số {rng.randint(1, 120)} ngõ {rng.randint(2, 250)} {street}, {place}"
            return f"số {rng.randint(1, 300)} {street}, {place}"
        return f"{rng.choice(VILLAGES)}, {place}"


def tax_code(serial: int) -> str:
    """A 10-digit enterprise code for Hanoi ("01" + 7-digit serial + check digit)."""
    # Four candidate bodies per serial (a bijection mod 10**7): about 1 body in 11 has no valid
    # check digit, so one of the four nearly always works.
    for slot in range(4):
        body = f"01{((serial * 4 + slot) * 7_919 + 5_003_177) % 10_000_000:07d}"
        total = sum(int(d) * w for d, w in zip(body, _MST_WEIGHTS, strict=True))
        check = 10 - total % 11
        if check < 10:
            return f"{body}{check}"
    return f"{body}0"


def _bare(name: str) -> str:
    for prefix in ("Quận ", "Huyện ", "Thị xã ", "quận ", "huyện ", "thị xã "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name
