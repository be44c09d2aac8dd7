"""The form that makes a share link, and the button-only form that revokes one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from portal.sharing.services import MAX_RECIPIENT

#: Labels of the optional fields (services.OPTIONAL_FIELDS).
FIELD_LABELS = {
    "holder_name": _l("Tên người (tổ chức) được cấp"),
    "holder_id_number": _l("Số định danh cá nhân (mã số doanh nghiệp) và ngày sinh"),
    "summary": _l("Nội dung ghi trên kết quả (trích yếu, phạm vi, địa chỉ)"),
    "scans": _l("Bản quét của kết quả"),
}
EXPIRY_LABELS = {"1h": _l("1 giờ"), "1d": _l("1 ngày"), "7d": _l("7 ngày"), "30d": _l("30 ngày"),
                 "90d": _l("90 ngày")}


class ShareForm(FlaskForm):
    recipient = StringField(
        _l("Chia sẻ cho"), filters=[lambda v: " ".join((v or "").split())],
        validators=[DataRequired(_l("Nhập tên người nhận, ví dụ: Ngân hàng A, chi nhánh Cầu Giấy.")),
                    Length(max=MAX_RECIPIENT, message=_l("Tên người nhận quá dài (tối đa %(max)d ký tự).",
                                                         max=MAX_RECIPIENT))])
    holder_name = BooleanField(FIELD_LABELS["holder_name"])
    holder_id_number = BooleanField(FIELD_LABELS["holder_id_number"])
    summary = BooleanField(FIELD_LABELS["summary"])
    scans = BooleanField(FIELD_LABELS["scans"])
    expiry = RadioField(_l("Hiệu lực của liên kết"), default="7d",
                        validators=[DataRequired(_l("Chọn thời hạn của liên kết."))])
    one_time = BooleanField(_l("Chỉ mở được một lần"))

    def offer(self, choices: list[str]) -> ShareForm:
        self.expiry.choices = [(key, EXPIRY_LABELS[key]) for key in choices]
        return self

    def chosen_fields(self) -> list[str]:
        return [name for name in FIELD_LABELS if getattr(self, name).data]


class RevokeForm(FlaskForm):
    """A button only: the CSRF token is the whole form."""
