"""Public pages of petitions (phản ánh, kiến nghị): send one, follow it with its code, read the
published answers. Open to everyone; a logged-in citizen finds the form prefilled with their name.

The sender's name and contacts are never on the pages of published answers.
"""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal import clock, outbox
from portal.extensions import db
from portal.feedback import petitions
from portal.feedback.models import PetitionAbout, PetitionState
from portal.identity import current_citizen
from portal.rate_limits import limit_posts
from portal.units.services import list_current_communes

bp = Blueprint("petitions", __name__)

#: Pages about one person's petition: their browser only, never a shared cache.
PRIVATE_CACHE = "private, no-store"

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


def category_label(category_id: str) -> str:
    """A category's name in the page's language ("" before classification)."""
    if not category_id:
        return ""
    category = petitions.categories_from_config(current_app.config).get(category_id)
    if category is None:
        return category_id
    return category.vi if str(get_locale()) == "vi" else category.en


@bp.app_context_processor
def petition_labels():
    return {"petition_state_label": lambda s: str(STATE_LABELS.get(s, s)),
            "petition_about_label": lambda a: str(ABOUT_LABELS.get(a, a)),
            "petition_event_label": lambda a: str(EVENT_LABELS.get(a, a)),
            "petition_decline_label": lambda c: str(DECLINE_LABELS.get(c, c)),
            "petition_category_label": category_label}


def _private(body, status: int = 200):
    response = make_response(body, status)
    response.headers["Cache-Control"] = PRIVATE_CACHE
    return response


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


def _unit_choices() -> list[SelectChoice]:
    return [SelectChoice("", _("The city (I do not know which commune or ward)"))] + [
        SelectChoice(str(u.id), f"{u.name}") for u in list_current_communes(db.session)]


def _show_errors(form: PetitionForm, errors: dict[str, str]) -> str | None:
    """Put the service's errors on the fields; returns the message about contacts, if any."""
    for name, code in errors.items():
        if name in form._fields:
            form[name].errors = [str(FIELD_ERRORS.get(name, {}).get(code, _("Check this answer.")))]
    contact = errors.get("contact")
    return str(FIELD_ERRORS["contact"][contact]) if contact else None


def _form_page(form: PetitionForm, status: int = 200, *, contact_error: str | None = None,
               expired: bool = False):
    form.unit_id.choices = _unit_choices()
    return _private(render_template("feedback/petition_new.html", form=form, contact_error=contact_error,
                                    expired=expired, max_content=petitions.MAX_CONTENT), status)


@bp.route("/feedback/petitions/new", methods=["GET", "POST"])
@limit_posts("FEEDBACK_PETITION_RATE_LIMIT")
def new():
    citizen = current_citizen()
    if request.method == "GET":
        form = PetitionForm(sender_name=citizen.name if citizen else "", formdata=None)
        return _form_page(form)
    form = PetitionForm()
    if not form.validate():  # the CSRF token only: the service checks the answers
        return _form_page(form, 400, expired=True)
    config = current_app.config
    try:
        petition, code = petitions.submit_petition(
            db.session, citizen, form.data_for_service(), categories=petitions.categories_from_config(config),
            calendar=clock.calendar_from_config(config))
    except petitions.PetitionInvalid as error:
        db.session.rollback()
        return _form_page(form, 400, contact_error=_show_errors(form, error.errors))
    outbox.commit(db.session)  # then the worker sends the mail (and reindexes) at once
    # Shown once on the confirmation page (and e-mailed): the code is stored only as a hash.
    session[f"petition_code:{petition.reference}"] = code
    return redirect(url_for(".received", reference=petition.reference), 303)


@bp.get("/feedback/petitions/received/<reference>")
def received(reference: str):
    code = session.pop(f"petition_code:{reference}", None)
    if code is None:  # shown once: a reload or someone else's link goes to the tracking form
        return redirect(url_for(".track"), 303)
    return _private(render_template("feedback/petition_received.html", reference=reference, code=code))


class TrackForm(FlaskForm):
    reference = StringField(_l("Reference number"), validators=[
        DataRequired(_l("Enter the reference number, such as PA-2026-000123.")), Length(max=40)])
    code = StringField(_l("Tracking code"), validators=[
        DataRequired(_l("Enter the tracking code you were given.")), Length(max=40)])


@bp.route("/feedback/petitions/track", methods=["GET", "POST"])
@limit_posts("FEEDBACK_TRACK_RATE_LIMIT")
def track():
    form = TrackForm()
    if request.method == "GET" or not form.validate():
        return _private(render_template("feedback/petition_track.html", form=form),
                        400 if request.method == "POST" else 200)
    try:
        petition = petitions.track(db.session, form.reference.data, form.code.data)
    except petitions.TrackingFailed:
        return _private(render_template("feedback/petition_track.html", form=form, error=True), 400)
    reason = petitions.decline_reason(petition)
    events = [e for e in petition.events if e.action not in ("publish", "unpublish")]
    return _private(render_template(
        "feedback/petition_status.html", petition=petition, events=events,
        overdue=petitions.is_overdue(petition), late=petitions.answered_late(petition),
        reason=reason, guidance=str(DECLINE_GUIDANCE.get(reason, ""))))


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdecimal() and len(raw) < 6 else 1


@bp.get("/feedback/answers")
def answers():
    q = request.args.get("q", "")
    page = petitions.list_published(db.session, page=_page_arg(), q=q)
    return render_template("feedback/petition_answers.html", answers=page)


@bp.get("/feedback/answers/<reference>")
def answer(reference: str):
    petition = petitions.get_published(db.session, reference)
    return render_template("feedback/petition_answer.html", petition=petition,
                           late=petitions.answered_late(petition))
