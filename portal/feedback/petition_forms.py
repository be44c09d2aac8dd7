"""Forms of petitions and the labels their pages show, for the public pages and the staff's.

The forms carry the values and the CSRF token; the rules are the services' (one place: `petitions`,
`petition_processing`), whose refusal codes the views put on the fields with these messages.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.feedback.models import PetitionAbout, PetitionState

STATE_LABELS = {
    PetitionState.RECEIVED.value: _l("Received, waiting to be classified"),
    PetitionState.IN_PROGRESS.value: _l("Being handled"),
    PetitionState.ANSWERED.value: _l("Answered"),
    PetitionState.DECLINED.value: _l("Not handled as a petition"),
}
ABOUT_LABELS = {
    PetitionAbout.RULES.value: _l(
        "An administrative rule itself (its content, whether it is needed, how clear it is)"),
    PetitionAbout.APPLICATION.value: _l(
        "How a rule was applied (for example, a desk asking for papers the rules do not require)"),
}
EVENT_LABELS = {
    "receive": _l("Petition received"),
    "classify": _l("Classified; handling deadline set"),
    "forward": _l("Forwarded to the competent unit"),
    "answer": _l("Answered"),
    "publish": _l("Answer published"),
    "unpublish": _l("Answer taken off the public list"),
    "decline": _l("Not handled as a petition"),
}
DECLINE_LABELS = {
    "complaint": _l("It is a complaint (khiếu nại)"),
    "denunciation": _l("It is a denunciation (tố cáo)"),
    "no_content": _l("It has no content about an administrative rule"),
    "duplicate": _l("It repeats a petition already received"),
}
#: What the sender reads when their message was declined, by reason code.
DECLINE_GUIDANCE = {
    "complaint": _l("What you sent is a complaint, not a petition about an administrative rule. "
                    "Complaints are settled under the Law on Complaints 2011: please send your complaint to "
                    "the competent body, usually the head of the body that took the decision or action you "
                    "complain about."),
    "denunciation": _l("What you sent is a denunciation, not a petition about an administrative rule. "
                       "Denunciations are settled under the Law on Denunciations 2018: please send it to the "
                       "body, organization or person competent to settle it."),
    "no_content": _l("Your message does not say which administrative rule, or which application of one, "
                     "it is about, so it cannot be handled. You can send it again with more detail."),
    "duplicate": _l("Your message repeats a petition that was already received and is being or has been "
                    "handled; it will not be handled a second time."),
}
#: Field → code → message, for the errors the service reports (petitions.PetitionInvalid).
FIELD_ERRORS = {
    "sender_name": {"required": _l("Enter your full name."), "too_long": _l("The name is too long.")},
    "sender_address": {"required": _l("Enter your address."), "too_long": _l("The address is too long.")},
    "sender_phone": {"invalid": _l(
        "Enter a Vietnamese phone number, such as 0912 345 678 or +84 912 345 678.")},
    "sender_email": {"invalid": _l("Enter an e-mail address such as ten@example.vn.")},
    "contact": {"required": _l("Give a phone number or an e-mail address (or both): the unit needs a way to "
                               "answer you.")},
    "about": {"required": _l("Say whether it is about a rule itself or about how it was applied.")},
    "title": {"required": _l("Enter a title."), "too_long": _l("The title must be at most 200 characters.")},
    "content": {"required": _l("Describe your petition."),
                "too_short": _l("Describe your petition in at least 20 characters."),
                "too_long": _l("The petition must be at most 5,000 characters.")},
    "unit_id": {"invalid": _l("Choose a commune or ward from the list.")},
}


# -- the public pages -----------------------------------------------------------------------------


class PetitionForm(FlaskForm):
    """Labels and the CSRF token; the rules are the service's (one place), its errors are put on
    the fields by `_show_errors`."""

    sender_name = StringField(_l("Full name"), render_kw={"autocomplete": "name", "maxlength": 200})
    sender_address = StringField(_l("Address"),
                                 render_kw={"autocomplete": "street-address", "maxlength": 300})
    sender_phone = StringField(_l("Phone number"), render_kw={"autocomplete": "tel", "type": "tel",
                                                               "maxlength": 20, "inputmode": "tel"})
    sender_email = StringField(_l("E-mail"), render_kw={"autocomplete": "email", "type": "email",
                                                         "maxlength": 200})
    about = RadioField(_l("Your petition is about"), validate_choice=False,
                       choices=[SelectChoice(k, v) for k, v in ABOUT_LABELS.items()])
    unit_id = SelectField(_l("Commune or ward concerned"), validate_choice=False, choices=[])
    title = StringField(_l("Title"), render_kw={"maxlength": 200})
    content = TextAreaField(_l("Your petition"), render_kw={"rows": 8, "maxlength": 5000})

    def data_for_service(self) -> dict:
        return {name: self[name].data or "" for name in (
            "sender_name", "sender_address", "sender_phone", "sender_email", "about", "title", "content",
            "unit_id")}


class TrackForm(FlaskForm):
    reference = StringField(_l("Reference number"), validators=[
        DataRequired(_l("Enter the reference number, such as PA-2026-000123.")), Length(max=40)])
    code = StringField(_l("Tracking code"), validators=[
        DataRequired(_l("Enter the tracking code you were given.")), Length(max=40)])


# -- the staff's pages ----------------------------------------------------------------------------


class ClassifyForm(FlaskForm):
    category = SelectField(_l("Category"), validate_choice=False, choices=[])
    about = RadioField(_l("About"), validate_choice=False,
                       choices=[SelectChoice(k, v) for k, v in ABOUT_LABELS.items()])
    note = TextAreaField(_l("Internal note"), render_kw={"rows": 2, "maxlength": 2000})


class ForwardForm(FlaskForm):
    unit_id = SelectField(_l("Forward to"), validate_choice=False, choices=[])
    note = TextAreaField(_l("Why (internal note)"), render_kw={"rows": 2, "maxlength": 2000})


class AnswerForm(FlaskForm):
    text = TextAreaField(_l("Answer to the sender"), render_kw={"rows": 8, "maxlength": 10000})
    publish = BooleanField(_l("Publish the answer on the portal (without the sender's name or contacts)"))


class DeclineForm(FlaskForm):
    reason = RadioField(_l("Why it is not a petition"), validate_choice=False,
                        choices=[SelectChoice(k, v) for k, v in DECLINE_LABELS.items()])
    note = TextAreaField(_l("Explanation for the sender (optional)"),
                         render_kw={"rows": 3, "maxlength": 2000})


class ButtonForm(FlaskForm):
    """Publish / unpublish: the CSRF token is the whole form."""
