"""Typed shapes of the batch status check (POST /api/v1/results/status) for the OpenAPI document.

The view checks the body itself (its 400 messages name what is wrong, in both languages); these
models describe it precisely enough for schemathesis to draw valid and invalid bodies from them.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, Field

from portal.records.status_check import MAX_ITEM_LENGTH, MAX_ITEMS, MAX_MATCHES
from portal.search.api_schemas import Unit

#: No result number or id has one (and PostgreSQL refuses a NUL in a string outright).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
Item = Annotated[str, Field(min_length=1, max_length=MAX_ITEM_LENGTH, pattern=r"^[^\x00-\x1f\x7f]+$")]


class BatchStatusBody(BaseModel):
    items: list[Item] = Field(
        min_length=1, max_length=MAX_ITEMS,
        description=(f"1 đến {MAX_ITEMS} số kết quả (như in trên giấy, ví dụ \"123/GPXD\"; khoảng trắng, "
                     f"chữ hoa/thường, dấu phân cách không quan trọng) hoặc mã kết quả (source_id), mỗi mục "
                     f"tối đa {MAX_ITEM_LENGTH} ký tự / 1 to {MAX_ITEMS} result numbers (as printed, e.g. "
                     f"\"123/GPXD\"; spacing, case and separators do not matter) or result ids (source_id), "
                     f"each at most {MAX_ITEM_LENGTH} characters"))


class StatusMatch(BaseModel):
    source_id: str = Field(description="Mã kết quả (kết quả được giữ nếu đã gộp) / result id (the kept one "
                                       "if merged)")
    number: str = Field(description="Số kết quả / result number")
    doc_type_name: str = Field(description="Loại giấy tờ / document type")
    status: str = Field(description="Hiệu lực hôm nay (valid, expired, revoked, replaced, annulled) / "
                                    "effective status today")
    valid_from: str = Field(description="Hiệu lực từ (ISO 8601) / valid from")
    valid_to: str | None = Field(description="Hiệu lực đến (ISO 8601) / valid to")
    issuing_unit: Unit
    successor_units: list[Unit] = Field(description="Đơn vị kế thừa / successor units")


class ItemAnswer(BaseModel):
    item: str = Field(description="Mục đã gửi, nguyên văn / the item as sent")
    found: bool = Field(description="Có kết quả khớp mà khóa được xem / a result the key may see matched")
    matches: list[StatusMatch] = Field(max_length=MAX_MATCHES, description=(
        f"Các kết quả khớp, mới nhất trước, tối đa {MAX_MATCHES} (một số có thể trùng ở nhiều đơn vị) / "
        f"matching results, newest first, at most {MAX_MATCHES} (a number may be shared by several units)"))


class BatchStatusAnswer(BaseModel):
    checked_at: str = Field(description="Thời điểm kiểm tra (ISO 8601, giờ Hà Nội) / when checked (ISO 8601, "
                                        "Hanoi time)")
    as_of: str = Field(description="Ngày (Hà Nội) mà hiệu lực được tính / the Hanoi date statuses are as of")
    results: list[ItemAnswer] = Field(description="Một mục trả lời cho mỗi mục gửi, cùng thứ tự / one answer "
                                                  "per item sent, in the same order")
