"""Forms of the staff login and of the account administration pages (CSRF on, as everywhere)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from portal.identity.models import StaffRole
from portal.identity.staff import MAX_PASSWORD_LENGTH

ROLE_LABELS = {
    StaffRole.CLERK.value: _l("Clerk"),
    StaffRole.SUPERVISOR.value: _l("Supervisor"),
    StaffRole.OPERATOR.value: _l("Digitization operator"),
    StaffRole.ADMIN.value: _l("Administrator"),
}

_USERNAME = Regexp(r"^[A-Za-z0-9._-]+$", message=_l("Letters, digits, dots, hyphens and underscores only."))
_EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                message=_l("Enter an e-mail address such as name@hanoi.gov.vn."))


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none",
                                      "spellcheck": "false"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)],
                             render_kw={"autocomplete": "current-password"})


class CodeForm(FlaskForm):
    code = StringField(_l("6-digit code"), validators=[DataRequired(), Length(min=6, max=12)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric",
                                  "pattern": "[0-9 ]*", "maxlength": "12"})


class ActionForm(FlaskForm):
    """Field-less form for button-only actions (log out, unlock, reset): the CSRF token alone."""


class _AccountFields(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=200), _EMAIL])
    role = SelectField(_l("Role"), choices=[SelectChoice(role, label) for role, label in ROLE_LABELS.items()],
                       default=StaffRole.CLERK.value)
    # Checkboxes, not a <select multiple>: 126 units, and the chosen ones must stay visible.
    units = SelectMultipleField(_l("Communes and wards served"), coerce=int, validate_choice=True,
                                widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


class AccountCreateForm(_AccountFields):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80), _USERNAME],
                           render_kw={"autocapitalize": "none", "spellcheck": "false"})
    password = PasswordField(_l("Initial password"), validators=[Optional(), Length(max=MAX_PASSWORD_LENGTH)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[EqualTo("password", message=_l("The two passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


class AccountEditForm(_AccountFields):
    active = BooleanField(_l("Account may log in"))


def set_unit_choices(form: _AccountFields, units) -> None:
    form.units.choices = [SelectChoice(unit.id, f"{unit.name} ({unit.code})") for unit in units]
