"""Typed shapes of the units and procedures API (pickers), from which the OpenAPI document is derived.

The views check their parameters themselves (their 400 messages are the API's); these models describe
them and the answers, and schemathesis checks the answers against them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from portal.openapi import PageLinks

#: Pages are counted, not walked by cursor: reference data is small (under a thousand rows) and
#: changes a few times a year, so an offset page is stable for as long as a client caches it.
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50
MAX_PAGE = 10_000
#: "old" is accepted for "legacy": both name the units before 1 July 2025.
SYSTEMS = ("current", "legacy", "old")
LEVELS = ("province", "district", "commune")
PROCEDURE_LEVELS = ("commune", "province")
System = Literal["current", "legacy", "old"]
Level = Literal["province", "district", "commune"]
ProcedureLevel = Literal["commune", "province"]
#: An empty parameter (`?page=`) means its default, as an absent one (as in the search API).
Blank = Literal[""]

_PAGE = "Trang, từ 1 / page, from 1"
_PER_PAGE = f"Số mục mỗi trang, 1–{MAX_PER_PAGE} / items per page, 1–{MAX_PER_PAGE}"


class UnitsQuery(BaseModel):
    system: System | Blank = Field("", description=(
        "current: từ 1/7/2025; legacy (hoặc old): trước đó; trống: cả hai / current: since 1 July 2025; "
        "legacy (or old): before it; empty: both"))
    level: Level | Blank = Field("", description="Cấp / level (province, district, commune)")
    parent: str = Field("", pattern=r"^[0-9]{0,5}$", description=(
        "Mã đơn vị cha, trong cùng hệ với đơn vị (\"002\": các phường của quận Hoàn Kiếm cũ) / the "
        "parent's code, in the unit's own system (\"002\": the wards of the old Hoàn Kiếm district)"))
    q: str = Field("", description=(
        "Từ trong tên, không cần dấu (\"hoan kiem\"), hoặc đầu mã (200 ký tự đầu) / words of the name, "
        "tone marks optional, or the start of the code (first 200 characters)"))
    page: int | Blank = Field(1, ge=1, le=MAX_PAGE, description=_PAGE)
    per_page: int | Blank = Field(DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE, description=_PER_PAGE)


class UnitQuery(BaseModel):
    system: System | Blank = Field("current", description=(
        "Hệ của mã: một mã có thể vừa là phường mới vừa là phường cũ khác tên; mặc định current / the "
        "code's system: a code may name a current ward and a different old one; current by default"))


class UnitRef(BaseModel):
    code: str = Field(description="Mã thống kê / statistics-office code")
    name: str = Field(description="Tên / name")
    system: Literal["current", "legacy"] = Field(description="Hệ đơn vị / unit system")
    level: Level = Field(description="Cấp / level")


class UnitLink(BaseModel):
    """Một liên kết sáp nhập 1/7/2025 / one link of the 1 July 2025 merger."""

    code: str = Field(description="Mã thống kê / statistics-office code")
    name: str = Field(description="Tên / name")
    system: Literal["current", "legacy"] = Field(description="Hệ đơn vị / unit system")
    level: Level = Field(description="Cấp / level")
    parent: UnitRef | None = Field(description=(
        "Đơn vị cha (quận/huyện cũ của một xã cũ) / its parent (an old commune's old district)"))
    partial: bool = Field(description=(
        "Chỉ một phần đơn vị cũ vào đơn vị mới này / only part of the old unit went into this new one"))
    url: str = Field(description="Địa chỉ của đơn vị này trong API / this unit's API address")


class UnitItem(BaseModel):
    """Một đơn vị hành chính, cũ hoặc hiện nay / one administrative unit, old or current."""

    code: str = Field(description="Mã thống kê; duy nhất trong một hệ / statistics-office code; unique "
                                  "within a system")
    name: str = Field(description="Tên / name")
    system: Literal["current", "legacy"] = Field(description=(
        "current: từ 1/7/2025; legacy: trước đó / current: since 1 July 2025; legacy: before it"))
    level: Level = Field(description="Cấp / level")
    division_type: str = Field(description="Loại: phường, xã, quận... / kind: ward, commune, district...")
    url: str = Field(description="Địa chỉ của đơn vị này trong API / this unit's API address")
    parent: UnitRef | None = Field(description="Đơn vị cha / parent unit")
    successors: list[UnitLink] = Field(description=(
        "Đơn vị hiện nay mà đơn vị cũ này đã vào, theo thứ tự bảng chính thức; trống với đơn vị hiện nay / "
        "the current units this old one went into, in the official table's order; empty for a current unit"))
    predecessors: list[UnitLink] = Field(description=(
        "Đơn vị cũ đã vào đơn vị hiện nay này (xã và quận/huyện cũ); trống với đơn vị cũ / the old units "
        "merged into this current one (old communes and districts); empty for an old unit"))


class _ListPage(BaseModel):
    total: int = Field(ge=0, description="Số mục khớp, mọi trang / items matching, every page")
    page: int = Field(ge=1, description="Trang này / this page")
    per_page: int = Field(ge=1, le=MAX_PER_PAGE, description="Số mục mỗi trang / items per page")
    pages: int = Field(ge=1, description="Số trang (ít nhất 1) / number of pages (at least 1)")
    links: PageLinks


class UnitPage(_ListPage):
    """Một trang đơn vị / one page of units."""

    items: list[UnitItem]


class ProceduresQuery(BaseModel):
    q: str = Field("", description=(
        "Mã thủ tục (\"1.001193\", \"2.000123.000.00.00.H26\") hoặc từ trong tên/lĩnh vực, không cần dấu "
        "(200 ký tự đầu) / a procedure code in any written form, or words of the name or field, tone marks "
        "optional (first 200 characters)"))
    field: str = Field("", description="Lĩnh vực, không phân biệt dấu và hoa thường (\"ho tich\") / field, "
                                       "tone marks and case aside")
    level: ProcedureLevel | Blank = Field("", description="Cấp giải quyết hiện nay / level issuing it now")
    page: int | Blank = Field(1, ge=1, le=MAX_PAGE, description=_PAGE)
    per_page: int | Blank = Field(DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE, description=_PER_PAGE)


class ProcedureItem(BaseModel):
    """Một thủ tục hành chính quốc gia / one national administrative procedure."""

    code: str = Field(pattern=r"^[0-9]\.[0-9]{6}$", description=(
        "Mã quốc gia D.DDDDDD (không có phần cơ quan/tỉnh) / national code, without the agency/province "
        "part"))
    name: str = Field(description="Tên thủ tục / procedure name")
    field: str = Field(description="Lĩnh vực; trống nếu chưa rõ / field; empty when not known yet")
    level: Literal["commune", "province", ""] = Field(description=(
        "Cấp cấp kết quả hiện nay; trống nếu chưa rõ / level issuing the result now; empty when not known"))
    result_doc_type: str = Field(description="Tên thường gặp của giấy tờ kết quả / usual result document")
    notation: str = Field(description="Ký hiệu kết quả (GPXD...), có thể trống / result notation, may be "
                                      "empty")
    access: Literal["personal", "public"] = Field(description=(
        "Mặc định kết quả là cá nhân hay công khai / whether its results are personal or public by default"))
    catalogued: bool = Field(description=(
        "false: gặp lần đầu trong một lô nhập, tên lấy từ lô, lĩnh vực và cấp chưa rõ / false: first met "
        "in an import batch, named from it, field and level not known yet"))
    url: str = Field(description="Địa chỉ của thủ tục này trong API / this procedure's API address")


class ProcedurePage(_ListPage):
    """Một trang thủ tục / one page of procedures."""

    fields: list[str] = Field(description="Mọi lĩnh vực có trong danh mục (cho bộ lọc field) / every field "
                                          "of the catalogue (for the field filter)")
    items: list[ProcedureItem]
