"""The form that makes a share link, and the button-only form that revokes one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from portal.sharing.services import MAX_RECIPIENT

#: Labels of the optional fields (services.OPTIONAL_FIELDS).
FIELD_LABELS = {
    "holder_name": _l("Name of the holder (person or organization)"),
    "holder_id_number": _l("Personal identification number (enterprise code) and date of birth"),
    "summary": _l("What the result says (abstract, scope, address)"),
    "scans": _l("Scans of the result"),
}
EXPIRY_LABELS = {"1h": _l("1 hour"), "1d": _l("1 day"), "7d": _l("7 days"), "30d": _l("30 days"),
                 "90d": _l("90 days")}


class ShareForm(FlaskForm):
    recipient = StringField(
        _l("Share with"), filters=[lambda v: " ".join((v or "").split())],
        validators=[DataRequired(_l("Enter the recipient's name, for example: Bank A, Cau Giay branch.")),
                    Length(max=MAX_RECIPIENT, message=_l("The recipient's name is too long (at most "
                                                         "%(max)d characters).", max=MAX_RECIPIENT))])
    holder_name = BooleanField(FIELD_LABELS["holder_name"])
    holder_id_number = BooleanField(FIELD_LABELS["holder_id_number"])
    summary = BooleanField(FIELD_LABELS["summary"])
    scans = BooleanField(FIELD_LABELS["scans"])
    expiry = RadioField(_l("Link valid for"), default="7d",
                        validators=[DataRequired(_l("Choose how long the link stays valid."))])
    one_time = BooleanField(_l("Can be opened only once"))

    def offer(self, choices: list[str]) -> ShareForm:
        self.expiry.choices = [(key, EXPIRY_LABELS[key]) for key in choices]
        return self

    def chosen_fields(self) -> list[str]:
        return [name for name in FIELD_LABELS if getattr(self, name).data]


class RevokeForm(FlaskForm):
    """A button only: the CSRF token is the whole form."""
