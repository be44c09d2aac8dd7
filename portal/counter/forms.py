"""Forms of the counter's pages: open a session, consent (code or signed form), end it. The copy
request and the rating reuse the citizen's forms (copy_requests.forms, feedback.rating_forms)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp


class StartForm(FlaskForm):
    id_number = StringField(_l("The person's personal identification number"), validators=[
        DataRequired(_l("Enter the personal identification number (12 digits).")),
        Regexp(r"^\s*\d[\d\s]{10,20}\s*$",
               message=_l("Enter the personal identification number (12 digits)."))])
    unit_id = SelectField(_l("One-stop desk"), coerce=int, validate_choice=True,
                          validators=[InputRequired(_l("Choose the one-stop desk you are working at."))])

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.unit_id.choices = [(unit.id, unit.name) for unit in units]
        self.unit_id.validate_choice = True


class SendCodeForm(FlaskForm):
    """A button only: the CSRF token is the whole form."""


class CodeForm(FlaskForm):
    code = StringField(_l("Consent code the person reads out to you"), validators=[
        DataRequired(_l("Enter the 6-digit code the person received.")),
        Length(max=20, message=_l("Enter the 6-digit code the person received."))])


class ConsentFormUpload(FlaskForm):
    consent = FileField(_l("Signed consent form, scanned (PDF, JPEG or PNG)"))


class EndForm(FlaskForm):
    """A button only."""
