"""Typed shapes of the verification API: `Verification.as_json` (portal/copy_requests/verification.py)
described field by field, the same JSON /verify answers with Accept: application/json."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Outcome = Literal["valid", "authentic_not_valid", "altered", "unknown"]


class VerifiedSignature(BaseModel):
    """Chữ ký cuối cùng của tệp / the file's last signature."""

    valid: bool = Field(description="Nguyên vẹn, hợp lệ, tin cậy và phủ cả tệp / intact, valid, trusted "
                                    "and covering the whole file")
    intact: bool = Field(description="Nội dung được ký không bị sửa / the signed bytes are unchanged")
    trusted: bool = Field(description="Chứng thư chuỗi về gốc tin cậy của cổng / the certificate chains "
                                      "to the portal's trust roots")
    whole_file: bool = Field(description="Chữ ký phủ toàn bộ tệp / the signature covers the whole file")
    certificate_subject: str = Field(description="Chủ thể chứng thư ký / signing certificate's subject")
    signing_time: str | None = Field(description="Thời điểm ký do người ký ghi (ISO 8601) / signing time "
                                                 "the signer reported")


class VerifiedIssue(BaseModel):
    """Bản sao do cổng cấp / the copy as the portal issued it."""

    unit: str = Field(description="Đơn vị cấp bản sao / unit that issued the copy")
    clerk: str = Field(description="Cán bộ ký / clerk who signed it")
    signed_at: str = Field(description="Thời điểm ký, giờ Hà Nội (ISO 8601) / signed at, Hanoi time")
    reference: str = Field(description="Số tham chiếu yêu cầu sao (BS-…) / the copy request's reference")
    kind: str = Field(description="Loại bản sao (mã) / kind of copy (code)")
    kind_label: str = Field(description="Loại bản sao (tiếng Việt) / kind of copy (Vietnamese)")
    certificate_subject: str = Field(description="Chủ thể chứng thư khi cấp / certificate subject at issue")
    status_at_issue: str = Field(description="Hiệu lực của kết quả khi cấp / the result's status at issue")


class ReplacingResult(BaseModel):
    document_type: str = Field(description="Loại giấy tờ / document type")
    number: str = Field(description="Số / number")
    issued_date: str = Field(description="Ngày cấp (ISO 8601) / date issued")


class VerifiedResult(BaseModel):
    """Kết quả được sao và hiệu lực hôm nay / the result copied, and its status now."""

    document_type: str = Field(description="Loại giấy tờ / document type")
    number: str = Field(description="Số kết quả / result number")
    issued_date: str = Field(description="Ngày cấp (ISO 8601) / date issued")
    issuer: str = Field(description="Cơ quan cấp / issuing authority")
    status: str | None = Field(description="Hiệu lực hôm nay: valid, expired, revoked, replaced, annulled / "
                                           "status now")
    status_since: str | None = Field(description="Hết hiệu lực từ ngày (ISO 8601) / not valid since")
    replaced_by: list[ReplacingResult] = Field(description="Kết quả thay thế / results replacing it")


class VerificationAnswer(BaseModel):
    """Kết quả xác minh bản sao, như /verify / a copy's verification, as /verify answers it."""

    outcome: Outcome = Field(description=(
        "valid: xác thực, còn hiệu lực; authentic_not_valid: xác thực nhưng kết quả hết hiệu lực; altered: "
        "mang mã của một bản sao đã cấp nhưng không phải tệp đó; unknown: không do cổng cấp hoặc mã không có "
        "/ valid: authentic and the result valid; authentic_not_valid: authentic, the result no longer "
        "valid; altered: names an issued copy but is not that file; unknown: not issued here, or no such "
        "code"))
    authentic: bool = Field(description="valid hoặc authentic_not_valid / valid or authentic_not_valid")
    source: Literal["code", "upload"] = Field(description="Theo mã hay tệp tải lên / by code or by upload")
    as_of: str = Field(description="Thời điểm kiểm tra, giờ Hà Nội (ISO 8601) / checked at, Hanoi time")
    code: str | None = Field(description="Mã xác minh của bản sao đã cấp; null nếu unknown / the issued "
                                         "copy's code; null when unknown")
    signature: VerifiedSignature | None = Field(description="null nếu không có chữ ký đọc được / null when "
                                                            "there is no readable signature")
    unaltered: bool | None = Field(description="SHA-256 trùng bản đã cấp; null nếu unknown / same SHA-256 "
                                               "as the copy issued; null when unknown")
    issued: VerifiedIssue | None
    result: VerifiedResult | None


class UploadForm(BaseModel):
    """Tệp PDF bản sao trong trường file / the PDF copy in the field file."""

    file: bytes = Field(description="Tệp PDF bản sao (tối đa COPY_VERIFY_MAX_BYTES, 20 MB) / the PDF "
                                    "copy (at most COPY_VERIFY_MAX_BYTES, 20 MB)")
