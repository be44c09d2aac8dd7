"""Typed shape of GET /api/v1/shares/{token}: what a share link shows, as JSON."""

from __future__ import annotations

from pydantic import BaseModel, Field

from portal.search.api_schemas import Unit as SharedUnit


class SharedScan(BaseModel):
    position: int = Field(description="Thứ tự tệp / file position")
    page: int = Field(description="Trang / page")
    url: str = Field(description="Ảnh trang (PNG), mở được 30 phút / "
                                 "the page's image (PNG), valid 30 minutes")


class ShareAnswer(BaseModel):
    """Các trường người được cấp đã chọn chia sẻ, hiệu lực tại thời điểm mở / the fields the holder chose
    to share, with the status as of the opening."""

    recipient: str = Field(description="Người nhận do người được cấp ghi / the recipient the holder named")
    verification_code: str = Field(description="Mã đối chiếu của liên kết (người được cấp cũng thấy) / the "
                                               "link's verification code (the holder sees it too)")
    expires_at: str = Field(description="Liên kết hết hạn lúc, giờ Hà Nội (ISO 8601) / "
                                        "link expires at, Hanoi time")
    one_time: bool = Field(description="Liên kết chỉ mở được một lần (lần này đã dùng) / a one-time link "
                                       "(this opening spent it)")
    fields: list[str] = Field(description="Trường tùy chọn được chia sẻ: holder_name, holder_id_number, "
                                          "summary, scans / optional fields shared")
    document_type: str = Field(description="Loại giấy tờ / document type")
    number: str = Field(description="Số kết quả / result number")
    issued_date: str = Field(description="Ngày cấp (ISO 8601) / date issued")
    valid_from: str = Field(description="Hiệu lực từ (ISO 8601) / valid from")
    valid_to: str | None = Field(description="Hiệu lực đến (ISO 8601); null: không thời hạn / valid until")
    status: str = Field(description="Hiệu lực tại thời điểm mở: valid, expired, revoked, replaced / "
                                    "status now")
    as_of: str = Field(description="Thời điểm tính hiệu lực, giờ Hà Nội (ISO 8601) / "
                                   "status as of, Hanoi time")
    issuing_unit: SharedUnit
    successor_units: list[SharedUnit] = Field(description="Đơn vị kế thừa sau sáp nhập / "
                                                          "units after the merger")
    holder_name: str | None = Field(None, description="Tên người được cấp, nếu được chia sẻ / "
                                                      "holder's name, if shared")
    holder_id_number: str | None = Field(None, description="Số định danh, nếu được chia sẻ / "
                                                           "id number, if shared")
    holder_birth_date: str | None = Field(None, description="Ngày sinh, nếu được chia sẻ / "
                                                            "birth date, if shared")
    summary: str | None = Field(None, description="Trích yếu, nếu được chia sẻ / summary, if shared")
    scope: str | None = Field(None, description="Phạm vi, nếu được chia sẻ / scope, if shared")
    scans: list[SharedScan] = Field(description="Trang bản quét, nếu được chia sẻ / scanned pages, if shared")
