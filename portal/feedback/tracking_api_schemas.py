"""Typed shapes of the tracking API: the reference and tracking code sent, and the status answered.

The answers say what the web tracking pages show the holder of the code, no more: never the
sender's or requester's name, e-mail, phone, address or identification number.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from portal.openapi import Messages
from portal.tracking import MAX_TYPED


class TrackBody(BaseModel):
    """Số tham chiếu và mã tra cứu / the reference and the tracking code."""

    reference: str = Field(max_length=MAX_TYPED, description="Số tham chiếu (BS-2026-000123, "
                                                             "PA-2026-000123) / reference number",
                           examples=["BS-2026-000123"])
    code: str = Field(max_length=MAX_TYPED, description="Mã tra cứu được cấp khi gửi (chữ hoa/thường, dấu "
                                                        "cách, gạch nối không quan trọng) / the tracking "
                                                        "code given (case, spaces, dashes do not matter)",
                      examples=["ABCDE-FGHJK"])


class CopyRequestStep(BaseModel):
    at: str = Field(description="Thời điểm (ISO 8601, giờ Hà Nội) / when")
    action: str = Field(description="submit, assign, issue, deliver, reject, cancel")
    label: Messages = Field(description="Tên bước / the step's name")
    state: str = Field(description="Trạng thái sau bước này / the state it led to")
    by: str = Field(description="Bên thực hiện: citizen, staff, system (không nêu tên) / which side took it: "
                                "citizen, staff, system (never who)")
    note: str = Field(description="Ghi chú của bộ phận một cửa (lý do từ chối…) / the desk's note (a "
                                  "refusal's reason…)")


class CopyRequestStatus(BaseModel):
    """Tình trạng yêu cầu cấp bản sao / the status of a copy request."""

    reference: str = Field(description="Số tham chiếu / reference")
    state: str = Field(description="submitted, in_progress, issued, delivered, rejected, cancelled")
    state_label: Messages = Field(description="Tên trạng thái / the state's name")
    kind: str = Field(description="Loại bản sao: electronic, certified, paper_desk, paper_post / kind of "
                                  "copy")
    document_type: str = Field(description="Loại giấy tờ được sao / the result's document type")
    unit: str = Field(description="Đơn vị giải quyết / unit handling it")
    received_at: str = Field(description="Nhận lúc (ISO 8601, giờ Hà Nội) / received at")
    updated_at: str = Field(description="Bước gần nhất lúc (ISO 8601, giờ Hà Nội) / last step at")
    due_at: str = Field(description="Hạn giải quyết (ISO 8601, giờ Hà Nội) / due at")
    overdue: bool = Field(description="Chưa xong mà đã quá hạn / still open past its due time")
    copy_ready: bool = Field(description="Bản sao đã cấp (đã ký) / the signed copy has been issued")
    postal_tracking_number: str = Field(description="Số vận đơn bưu chính (bản giấy gửi bưu điện), hoặc "
                                                    "rỗng / postal tracking number, or empty")
    steps: list[CopyRequestStep] = Field(description="Các bước, cũ trước / steps, oldest first")


class PetitionStep(BaseModel):
    at: str = Field(description="Thời điểm (ISO 8601, giờ Hà Nội) / when")
    action: str = Field(description="receive, classify, forward, answer, decline")
    label: Messages = Field(description="Tên bước / the step's name")
    to_unit: str = Field(description="Chuyển đến đơn vị (forward), hoặc rỗng / forwarded to, or empty")


class PetitionStatus(BaseModel):
    """Tình trạng phản ánh, kiến nghị / the status of a petition."""

    reference: str = Field(description="Số tham chiếu / reference")
    state: str = Field(description="received, in_progress, answered, declined")
    state_label: Messages = Field(description="Tên trạng thái / the state's name")
    unit: str | None = Field(description="Đơn vị giải quyết; null: UBND thành phố / unit handling it; null: "
                                         "the city")
    received_at: str = Field(description="Nhận lúc (ISO 8601, giờ Hà Nội) / received at")
    updated_at: str = Field(description="Bước gần nhất lúc (ISO 8601, giờ Hà Nội) / last step at")
    due_at: str | None = Field(description="Hạn trả lời; null nếu không xử lý như phản ánh / answer due by; "
                                           "null when declined")
    overdue: bool = Field(description="Chưa trả lời mà đã quá hạn / still open past its deadline")
    answered_at: str | None = Field(description="Trả lời lúc (ISO 8601, giờ Hà Nội) / answered at")
    answered_late: bool = Field(description="Trả lời sau hạn / answered after the deadline")
    published: bool = Field(description="Câu trả lời được đăng công khai / the answer is on the public list")
    decline_reason: str = Field(description="Lý do không xử lý: complaint, denunciation, no_content, "
                                            "duplicate, hoặc rỗng / why declined, or empty")
    steps: list[PetitionStep] = Field(description="Các bước, cũ trước / steps, oldest first")
