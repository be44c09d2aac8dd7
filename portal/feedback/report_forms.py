"""Forms of problem reports and corrections. They only carry the values: the services validate
them (reports.submit_report, corrections.correct) and the views put each refusal on its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField

from portal.feedback.correction_fields import EDITABLE_FIELDS
from portal.feedback.reports import KIND_LABELS
from portal.records.models import ResultStatus


class ProblemReportForm(FlaskForm):
    # validate_choice off: the service refuses unknown kinds, with a message of ours.
    kind = RadioField(_l("What is wrong?"), validate_choice=False,
                      choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()])
    description = TextAreaField(_l("Describe the problem"))
    reporter_name = StringField(_l("Your name"))
    reporter_email = StringField(_l("Your e-mail address"))
    attachment = FileField(_l("Attachment (optional)"))


class DismissForm(FlaskForm):
    note = TextAreaField(_l("Explanation for the reporter"))


def _label(name: str):
    return EDITABLE_FIELDS[name].label


class CorrectionForm(FlaskForm):
    holder_name = StringField(_label("holder_name"))
    doc_number = StringField(_label("doc_number"))
    doc_notation = StringField(_label("doc_notation"))
    issued_date = StringField(_label("issued_date"))
    valid_from = StringField(_label("valid_from"))
    valid_to = StringField(_label("valid_to"))
    signer_name = StringField(_label("signer_name"))
    signer_title = StringField(_label("signer_title"))
    summary = TextAreaField(_label("summary"))
    status = SelectField(_label("status"), validate_choice=False)
    scan = FileField(_l("New scan (optional)"))
    reason = TextAreaField(_l("Reason for the correction"))

    #: Fields that hold a date (shown as <input type="date">, sent as yyyy-mm-dd).
    DATE_FIELDS = ("issued_date", "valid_from", "valid_to")
    TEXT_FIELDS = ("holder_name", "doc_number", "doc_notation", "issued_date", "valid_from", "valid_to",
                   "signer_name", "signer_title", "summary", "status")

    def set_status_choices(self, label) -> None:
        self.status.choices = [SelectChoice(s.value, label(s.value)) for s in ResultStatus]

    def prefill(self, values: dict) -> None:
        for name in self.TEXT_FIELDS:
            value = values.get(name)
            getattr(self, name).data = value.isoformat() if hasattr(value, "isoformat") else (value or "")

    def changes(self) -> dict:
        return {name: getattr(self, name).data for name in self.TEXT_FIELDS}
