"""Forms of the counter's pages: open a session, consent (code or signed form), end it. The copy
request and the rating reuse the citizen's forms (copy_requests.forms, feedback.rating_forms)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp


class StartForm(FlaskForm):
    id_number = StringField(_l("Số định danh cá nhân của người dân"), validators=[
        DataRequired(_l("Nhập số định danh cá nhân (12 chữ số).")),
        Regexp(r"^\s*\d[\d\s]{10,20}\s*$", message=_l("Nhập số định danh cá nhân (12 chữ số)."))])
    unit_id = SelectField(_l("Bộ phận một cửa"), coerce=int, validate_choice=True,
                          validators=[InputRequired(_l("Chọn bộ phận một cửa nơi ông/bà đang làm việc."))])

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.unit_id.choices = [(unit.id, unit.name) for unit in units]
        self.unit_id.validate_choice = True


class SendCodeForm(FlaskForm):
    """A button only: the CSRF token is the whole form."""


class CodeForm(FlaskForm):
    code = StringField(_l("Mã xác nhận người dân đọc cho cán bộ"), validators=[
        DataRequired(_l("Nhập mã 6 chữ số người dân nhận được.")),
        Length(max=20, message=_l("Nhập mã 6 chữ số người dân nhận được."))])


class ConsentFormUpload(FlaskForm):
    consent = FileField(_l("Phiếu đồng ý đã ký, bản quét (PDF, JPEG hoặc PNG)"))


class EndForm(FlaskForm):
    """A button only."""
