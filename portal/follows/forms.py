"""The follow form (the address to mail) and the button-only forms that stop a follow."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.tracking import valid_email


def _email(form, field) -> None:
    if field.data and not valid_email(field.data.strip()):
        raise ValidationError(_l("Enter an e-mail address such as ten@example.vn."))


class FollowForm(FlaskForm):
    email = StringField(_l("E-mail address for the reminders"), filters=[lambda v: (v or "").strip()],
                        validators=[DataRequired(_l("Enter the e-mail address to send the reminders to.")),
                                    Length(max=200, message=_l("The e-mail address is too long.")), _email])


class UnfollowForm(FlaskForm):
    """A button only: the CSRF token is the whole form."""
