"""The admin's form to issue a key (the CSRF token comes with FlaskForm)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.api_keys.service import MAX_QUOTA, SCOPES


class IssueForm(FlaskForm):
    organization = StringField(_l("Organization"), validators=[DataRequired(), Length(max=200)])
    contact_email = EmailField(_l("Contact e-mail"), validators=[Optional(), Length(max=200)])
    scopes = SelectMultipleField(_l("Scopes"),
                                 choices=[SelectChoice(name, f"{name} — {label}")
                                          for name, label in SCOPES.items()],
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    daily_quota = IntegerField(_l("Requests per day"), default=10_000,
                               validators=[DataRequired(), NumberRange(min=1, max=MAX_QUOTA)])
