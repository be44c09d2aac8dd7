"""Typed shapes of the search API, from which portal.openapi derives the OpenAPI document.

The views still check their parameters themselves (their 400 messages are the API's); these models
describe them and the answers, and schemathesis checks the answers against them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, RootModel

from portal.openapi import PageLinks
from portal.search.port import MAX_HITS

MAX_PER_PAGE = 100
Sort = Literal["relevance", "newest", "oldest"]
#: An empty parameter (`?page=`) means its default, as an absent one: the form-like URLs clients build.
Blank = Literal[""]


class SearchQuery(BaseModel):
    q: str = Field("", description="Từ khóa, số kết quả, mã hồ sơ (200 ký tự đầu) / words, result number or "
                                   "dossier code (first 200 characters)")
    page: int | Blank = Field(1, ge=1, le=MAX_HITS, description="Trang, từ 1; trang cuối = 100000 / per_page "
                                                        "/ page from 1; the last is 100000 / per_page")
    per_page: int | Blank = Field(20, ge=1, le=MAX_PER_PAGE,
                                  description="Số kết quả mỗi trang / hits per page")
    sort: Sort | Blank = Field("relevance", description="Thứ tự / order")
    status: str = Field("", description="Lọc theo hiệu lực (valid, expired, revoked, replaced, "
                                                 "annulled) / filter by status")
    procedure: str = Field("", description="Lọc theo mã thủ tục / filter by procedure code")
    procedure_code: str = Field("", description="Như procedure / same as procedure")
    unit: str = Field("", description="Lọc theo mã đơn vị cấp / filter by issuing unit code")
    current_unit: str = Field("", description="Lọc theo đơn vị hiện nay (sau sáp nhập) / filter by "
                                                       "today's unit (after the 2025 merger)")
    year: str = Field("", pattern=r"^([0-9]{4})?$", description="Năm cấp, 4 chữ số / year issued")
    facets: str = Field("", description="'all' hoặc danh sách cách nhau bởi dấu phẩy: procedure_code, "
                                                 "unit, current_unit, year, status / 'all' or a "
                                                 "comma-separated list of those; none when absent")


class Unit(BaseModel):
    code: str = Field(description="Mã đơn vị / unit code")
    name: str = Field(description="Tên / name")
    system: str = Field(description="Hệ đơn vị (trước/sau 2025) / unit system (before/after 2025)")


class Procedure(BaseModel):
    code: str | None = Field(description="Mã thủ tục / procedure code")
    name: str | None = Field(description="Tên thủ tục / procedure name")


class Hit(BaseModel):
    """Một kết quả; kết quả cá nhân (restricted) chỉ có loại, đơn vị và hiệu lực / one result; a personal
    (restricted) one has only its type, unit and status."""

    restricted: bool = Field(description="Kết quả cá nhân / a personal result")
    doc_type_name: str = Field(description="Loại giấy tờ / document type")
    issuing_unit: Unit
    successor_units: list[Unit] = Field(description="Đơn vị kế thừa / successor units")
    status: str = Field(description="Hiệu lực hôm nay / effective status today")
    source_id: str | None = Field(None, description="Mã kết quả / result id")
    number: str | None = Field(None, description="Số kết quả / result number")
    issued_date: str | None = Field(None, description="Ngày cấp (ISO 8601) / date issued")
    issuer_name: str | None = Field(None, description="Người ký / signer")
    procedure: Procedure | None = None
    summary: str | None = Field(None, description="Trích yếu / summary")
    holder: str | None = Field(None, description="Người được cấp (chỉ kết quả công khai) / holder (public "
                                                 "results only)")
    highlights: dict[str, str] | None = Field(None, description="Đoạn khớp theo trường / matching snippets")
    found_in_scan: bool | None = Field(None, description="Chỉ khớp trong bản quét / matched only in the scan")


class Suggestion(Hit):
    text: str = Field(description="Số/mã có lẽ bạn muốn gõ / what you probably meant")
    kind: str = Field(description="Loại định danh / identifier kind")
    reason: str = Field(description="digit, swap, prefix, suffix")


class FacetCount(BaseModel):
    value: str
    count: int = Field(ge=0)


class Notice(BaseModel):
    code: str
    message: str
    messages: dict[str, str]


class SearchAnswer(BaseModel):
    query: str
    total: int = Field(ge=0, description="Số kết quả / number of hits")
    page: int
    per_page: int
    pages: int
    last_page: int
    links: PageLinks = Field(description="Trang này, đầu, cuối, trước, sau (đến last_page) / this, first, "
                                         "last, previous and next page (up to last_page)")
    sort: Sort
    degraded: bool = Field(description="Chỉ tìm theo số/mã khi chỉ mục tạm hỏng / index unavailable: "
                                       "identifier lookup only")
    facets: dict[str, list[FacetCount]] = Field(description="Giá trị → số lượng / value → count")
    hits: list[Hit]
    suggestions: list[Suggestion] = Field(description="Có phải bạn muốn tìm / did you mean")
    notice: Notice | None = Field(None, description="Số định danh cá nhân không được tra cứu công khai / "
                                                    "personal ids are not searched publicly")


class SuggestQuery(BaseModel):
    q: str = Field("", description="Phần đã gõ; dưới 2 ký tự thì [] / what was typed; [] under 2 characters")


class Completion(BaseModel):
    label: str
    kind: str
    url: str


class SuggestAnswer(RootModel[list[Completion]]):
    """Tối đa 8 gợi ý / up to 8 completions."""


class StatusEntry(BaseModel):
    old_status: str | None = Field(description="Hiệu lực trước / status before")
    new_status: str = Field(description="Hiệu lực sau / status after")
    changed_at: str = Field(description="Thời điểm (ISO 8601, UTC) / when (ISO 8601, UTC)")


class ResultAnswer(BaseModel):
    """Một kết quả, chỉ các trường công khai / one result, public fields only."""

    source_id: str = Field(description="Mã kết quả / result id")
    number: str = Field(description="Số kết quả / result number")
    doc_type_name: str = Field(description="Loại giấy tờ / document type")
    issued_date: str = Field(description="Ngày cấp (ISO 8601) / date issued")
    issuer_name: str | None = Field(description="Người ký / signer")
    procedure: Procedure
    summary: str | None = Field(description="Trích yếu / summary")
    holder: str | None = Field(description="Người được cấp (chỉ kết quả công khai) / holder (public "
                                           "results only)")
    issuing_unit: Unit
    successor_units: list[Unit] = Field(description="Đơn vị kế thừa / successor units")
    status: str = Field(description="Hiệu lực hôm nay / effective status today")
    valid_from: str = Field(description="Hiệu lực từ (ISO 8601) / valid from")
    valid_to: str | None = Field(description="Hiệu lực đến (ISO 8601) / valid to")
    status_history: list[StatusEntry] = Field(description="Lịch sử hiệu lực, cũ trước / status history, "
                                                          "oldest first")
