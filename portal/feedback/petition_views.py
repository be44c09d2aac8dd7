"""Public pages of petitions (phản ánh, kiến nghị): send one, follow it with its code, read the
published answers. Open to everyone; a logged-in citizen finds the form prefilled with their name.

The sender's name and contacts are never on the pages of published answers.
"""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms import SelectChoice

from portal import clock, outbox, tracking
from portal.extensions import db
from portal.feedback import petition_categories, petition_processing, petitions
from portal.feedback.petition_forms import (
    ABOUT_LABELS,
    DECLINE_GUIDANCE,
    DECLINE_LABELS,
    EVENT_LABELS,
    FIELD_ERRORS,
    STATE_LABELS,
    PetitionForm,
    TrackForm,
)
from portal.identity import current_citizen
from portal.rate_limits import limit_posts
from portal.units.services import list_current_communes

bp = Blueprint("petitions", __name__)

#: Pages about one person's petition: their browser only, never a shared cache.
PRIVATE_CACHE = "private, no-store"


def category_label(category_id: str) -> str:
    """A category's name in the page's language ("" before classification)."""
    if not category_id:
        return ""
    category = petition_categories.categories_from_config(current_app.config).get(category_id)
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
            db.session, citizen, form.data_for_service(),
            categories=petition_categories.categories_from_config(config),
            calendar=clock.calendar_from_config(config))
    except petitions.PetitionInvalid as error:
        db.session.rollback()
        return _form_page(form, 400, contact_error=_show_errors(form, error.errors))
    outbox.commit(db.session)  # then the worker sends the mail (and reindexes) at once
    # Shown once on the confirmation page (and e-mailed): the code is stored only as a hash.
    tracking.show_once(petition.reference, code)
    return redirect(url_for(".received", reference=petition.reference), 303)


@bp.get("/feedback/petitions/received/<reference>")
def received(reference: str):
    code = tracking.take_shown_once(reference)
    if code is None:  # shown once: a reload or someone else's link goes to the tracking form
        return redirect(url_for(".track"), 303)
    return _private(render_template("feedback/petition_received.html", reference=reference, code=code))


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
    reason = petition_processing.decline_reason(petition)
    events = [e for e in petition.events if e.action not in petitions.UNLISTED_STEPS]
    return _private(render_template(
        "feedback/petition_status.html", petition=petition, events=events,
        overdue=petition_categories.is_overdue(petition), late=petition_categories.answered_late(petition),
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
                           late=petition_categories.answered_late(petition))
