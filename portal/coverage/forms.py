"""Forms of coverage and digitization requests, and the labels their pages show.

The forms carry the values and the CSRF token; the rules are the services' (`digitization`,
`services`), whose refusal codes the views put on the fields with these messages.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.coverage.models import RequestState

STATE_LABELS = {
    RequestState.RECEIVED.value: _l("Received, waiting for the unit"),
    RequestState.CLAIMED.value: _l("Being looked for in the unit's archive"),
    RequestState.DIGITIZED.value: _l("Digitized: the result is on the portal"),
    RequestState.NOT_FOUND.value: _l("Not found in the unit's archive"),
    RequestState.NOT_OURS.value: _l("Not issued by this unit"),
}
EVENT_LABELS = {
    "receive": _l("Request received"),
    "claim": _l("Taken by a clerk of the unit"),
    **{
        state: label
        for state, label in STATE_LABELS.items()
        if state in (RequestState.DIGITIZED, RequestState.NOT_FOUND, RequestState.NOT_OURS)
    },
}
#: Field → code → message, for the errors the service reports (digitization.RequestInvalid).
FIELD_ERRORS = {
    "doc_number": {
        "required": _l("Enter the number printed on the result."),
        "too_long": _l("The number must be at most 60 characters."),
    },
    "issued_date": {
        "required": _l("Enter the date of issue, such as 14/05/2019."),
        "invalid": _l("The date of issue must be between 1945 and today."),
    },
    "issuing_unit_id": {"required": _l("Choose the commune or ward that issued it.")},
    "procedure_code": {"invalid": _l("Choose a procedure from the list, or leave it empty.")},
    "requester_name": {"required": _l("Enter your full name."), "too_long": _l("The name is too long.")},
    "requester_phone": {
        "invalid": _l("Enter a Vietnamese phone number, such as 0912 345 678 or +84 912 345 678.")
    },
    "requester_email": {"invalid": _l("Enter an e-mail address such as ten@example.vn.")},
    "contact": {
        "required": _l(
            "Give a phone number or an e-mail address (or both): the unit needs a way to answer you."
        )
    },
    "note": {"too_long": _l("The note must be at most 2,000 characters.")},
}
#: Why a staff action was refused (codes of InvalidInput).
REFUSALS = {
    "outcome": _l("Choose what was found."),
    "source_id": _l("Enter the source id of the digitized result, as it is on the portal."),
    "answer": _l("The answer is too long (at most 5,000 characters)."),
    "state": _l("This action is not possible at this stage of the request."),
    "claimed": _l("A colleague has taken this request."),
}


class RequestForm(FlaskForm):
    """Labels and the CSRF token; the service checks the answers."""

    doc_number = StringField(_l("Number of the result"), render_kw={"maxlength": 60})
    #: A date input (yyyy-mm-dd from browsers); dd/mm/yyyy typed by hand is read too.
    issued_date = StringField(_l("Date of issue"), render_kw={"type": "date", "maxlength": 10})
    issuing_unit_id = SelectField(_l("Issuing commune or ward"), validate_choice=False, choices=[])
    procedure_code = SelectField(_l("Procedure (optional)"), validate_choice=False, choices=[])
    requester_name = StringField(_l("Full name"), render_kw={"autocomplete": "name", "maxlength": 200})
    requester_phone = StringField(
        _l("Phone number"),
        render_kw={"autocomplete": "tel", "type": "tel", "maxlength": 20, "inputmode": "tel"},
    )
    requester_email = StringField(
        _l("E-mail"), render_kw={"autocomplete": "email", "type": "email", "maxlength": 200}
    )
    note = TextAreaField(
        _l("Anything that helps find it (optional)"), render_kw={"rows": 4, "maxlength": 2000}
    )

    def data_for_service(self) -> dict:
        return {
            name: self[name].data or ""
            for name in (
                "doc_number",
                "issued_date",
                "issuing_unit_id",
                "procedure_code",
                "requester_name",
                "requester_phone",
                "requester_email",
                "note",
            )
        }


class TrackForm(FlaskForm):
    reference = StringField(
        _l("Reference number"),
        validators=[DataRequired(_l("Enter the reference number, such as SH-2026-000123.")), Length(max=40)],
    )
    code = StringField(
        _l("Tracking code"),
        validators=[DataRequired(_l("Enter the tracking code you were given.")), Length(max=40)],
    )


class AnswerForm(FlaskForm):
    outcome = RadioField(
        _l("What was found"),
        validate_choice=False,
        choices=[
            SelectChoice(RequestState.DIGITIZED.value, _l("Found and digitized")),
            SelectChoice(RequestState.NOT_FOUND.value, _l("Not found in the archive")),
            SelectChoice(RequestState.NOT_OURS.value, _l("Not issued by this unit")),
        ],
    )
    source_id = StringField(_l("Source id of the digitized result"), render_kw={"maxlength": 120})
    text = TextAreaField(_l("Answer to the requester"), render_kw={"rows": 5, "maxlength": 5000})


class ButtonForm(FlaskForm):
    """Claim: the CSRF token is the whole form."""


class IssuedUploadForm(FlaskForm):
    file = FileField(_l("CSV file of issued counts"))
