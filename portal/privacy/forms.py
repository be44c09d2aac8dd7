"""Forms of /my/data and of the staff answer. They carry the values; the services validate them
(services.request_correction, request_objection, answer) and the views put each refusal on its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField

from portal.feedback.reports import KIND_LABELS as PROBLEM_LABELS
from portal.privacy.models import RightsKind
from portal.privacy.services import SCOPES


class CorrectionRequestForm(FlaskForm):
    # validate_choice off: the service refuses what is not one's result, with a message of ours.
    result = SelectField(_l("Which result?"), validate_choice=False)
    problem = SelectField(_l("What is wrong?"), validate_choice=False,
                          choices=[SelectChoice(k.value, label) for k, label in PROBLEM_LABELS.items()])
    description = TextAreaField(_l("What should it say?"))
    email = StringField(_l("E-mail address for the answer (optional)"))


class ObjectionForm(FlaskForm):
    kind = RadioField(_l("What do you ask?"), validate_choice=False, default=RightsKind.OBJECTION.value,
                      choices=[SelectChoice(RightsKind.OBJECTION.value,
                                            _l("Stop this processing (objection)")),
                               SelectChoice(RightsKind.RESTRICTION.value,
                                            _l("Limit this processing for now (restriction)"))])
    scope = SelectField(_l("Which processing?"), validate_choice=False,
                        choices=[SelectChoice(key, label) for key, label in SCOPES.items()])
    reason = TextAreaField(_l("Why (optional)"))
    email = StringField(_l("E-mail address for the answer (optional)"))


class AnswerForm(FlaskForm):
    note = TextAreaField(_l("Answer to the person"))
