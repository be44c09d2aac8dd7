"""Petitions at /staff/petitions: the queue of the units a clerk serves (supervisors also get the
city's), a petition with its sender's contacts (each look audited) and the forms that classify,
forward, answer, publish or decline it (POST only).

A petition of another unit is a 404; an action refused or taken first by a colleague is a message
on the petition's page, never an error page.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

from portal import casework, clock, outbox
from portal.db import utcnow
from portal.errors import InvalidInput, PortalError
from portal.extensions import db
from portal.feedback import petition_categories, petition_processing
from portal.feedback.petition_forms import (
    DECLINE_GUIDANCE,
    AnswerForm,
    ButtonForm,
    ClassifyForm,
    DeclineForm,
    ForwardForm,
)
from portal.identity import current_staff
from portal.identity.staff_guard import staff_guard

bp = Blueprint("petitions_staff", __name__, url_prefix="/staff/petitions")
bp.before_request(staff_guard(*casework.WORKING_ROLES))

PER_PAGE = 25

TAB_LABELS = {
    "received": _l("To classify"),
    "in_progress": _l("In progress"),
    "answered": _l("Answered"),
    "declined": _l("Declined"),
    "overdue": _l("Overdue"),
}
#: Why an action was refused (codes of InvalidInput and NotNow).
REFUSALS = {
    "category": _l("Choose a category."),
    "about": _l("Say whether it is about a rule itself or about how it was applied."),
    "unit": _l("Choose another commune or ward to forward it to."),
    "answer": _l("Write the answer (at most 10,000 characters)."),
    "reason": _l("Choose why it is not a petition."),
    "note": _l("The note is too long (at most 2,000 characters)."),
    "state": _l("This action is not possible at this stage of the petition."),
    "published": _l("The answer is already in that state."),
}
ALREADY_PROCESSED = _l("A colleague changed this petition meanwhile; here is where it stands now.")


@bp.after_request
def no_store(response):
    # Senders' names, addresses, phones and e-mails: never kept by a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _categories():
    return petition_categories.categories_from_config(current_app.config)


def _calendar():
    return clock.calendar_from_config(current_app.config)


@bp.get("/")
def index():
    raw = request.args.get("page", "")
    page = int(raw) if raw.isdecimal() and len(raw) < 6 else 1
    queue = petition_processing.list_petitions(db.session, current_staff(),
                                               tab=request.args.get("tab", "received"), page=page,
                                               per_page=PER_PAGE)
    return render_template("staff/petitions/index.html", queue=queue, tab_labels=TAB_LABELS)


def _detail_page(petition, *, forms: dict | None = None, status: int = 200):
    staff = current_staff()
    categories = _categories()
    vi = str(get_locale()) == "vi"
    classify_form = (forms or {}).get("classify") or ClassifyForm(
        formdata=None, category=petition.category, about=petition.about)
    classify_form.category.choices = [SelectChoice(c.id, f"{c.vi if vi else c.en} ({c.working_days})")
                                      for c in categories.items if c.id != categories.default]
    forward_form = (forms or {}).get("forward") or ForwardForm(formdata=None)
    targets = petition_processing.list_forward_targets(db.session, petition)
    forward_form.unit_id.choices = [SelectChoice("", _("Choose a commune or ward"))] + [
        SelectChoice(str(u.id), u.name) for u in targets]
    now = utcnow()
    return render_template(
        "staff/petitions/detail.html", petition=petition, now=now,
        overdue=petition_categories.is_overdue(petition, now),
        late=petition_categories.answered_late(petition),
        days_left=petition_categories.days_left(petition, now),
        timeline=petition_processing.timeline(db.session, petition),
        reason=petition_processing.decline_reason(petition), guidance=DECLINE_GUIDANCE,
        is_open=petition_categories.is_open(petition),
        may_handle_city=petition_processing.handles_city(staff),
        classify_form=classify_form, forward_form=forward_form,
        answer_form=(forms or {}).get("answer") or AnswerForm(formdata=None),
        decline_form=(forms or {}).get("decline") or DeclineForm(formdata=None),
        button_form=ButtonForm(), category_days={c.id: c.working_days for c in categories.items}), status


@bp.get("/<reference>")
def detail(reference: str):
    petition = petition_processing.open_petition(db.session, current_staff(), reference)
    db.session.commit()  # the audit entry of the look at the contacts stands even if rendering fails
    return _detail_page(petition)


def _back(petition):
    return redirect(url_for(".detail", reference=petition.reference), 303)


def _act(petition, form, name: str, run, done):
    """Validate ``form`` (CSRF), run the service, commit; a refusal with a field code re-renders the
    page with the error on that form (400), any other refusal is a message on the petition."""
    if not form.validate_on_submit():
        flash(_("The form has expired. Please try again."), "warning")
        return _back(petition)
    try:
        run()
    except petition_processing.AlreadyProcessed:
        db.session.rollback()
        flash(ALREADY_PROCESSED, "warning")
        return _back(petition)
    except InvalidInput as error:
        db.session.rollback()
        code = str(error)
        target = {"category": "category", "about": "about", "unit": "unit_id", "answer": "text",
                  "reason": "reason", "note": "note"}.get(code)
        if target and target in form._fields:
            form[target].errors = [str(REFUSALS.get(code, code))]
            petition = petition_processing.open_petition(db.session, current_staff(), petition.reference)
            db.session.commit()  # the page shows the contacts again: the look is logged
            return _detail_page(petition, forms={name: form}, status=400)
        flash(REFUSALS.get(code, _("This action is not possible now.")), "warning")
        return _back(petition)
    except PortalError as error:
        if error.status not in (403, 409):
            raise
        db.session.rollback()
        flash(REFUSALS.get(str(error), _("This action is not possible now.")), "warning")
        return _back(petition)
    outbox.commit(db.session)  # then the worker sends the mail (and reindexes) at once
    flash(done(), "info")
    if not petition_processing.serves_petition(current_staff(), petition):  # forwarded out of one's units
        return redirect(url_for(".index"), 303)
    return _back(petition)


def _get(reference: str):
    return petition_processing.get_for_staff(db.session, current_staff(), reference)


@bp.post("/<reference>/classify")
def classify(reference: str):
    petition, form = _get(reference), ClassifyForm()
    return _act(petition, form, "classify", lambda: petition_processing.classify(
        db.session, current_staff(), petition, form.category.data or "", form.about.data or "",
        form.note.data or "", categories=_categories(), calendar=_calendar()),
        lambda: _("Petition %(ref)s classified: due by %(date)s.", ref=petition.reference,
                  date=clock.in_hanoi(petition.due_at).strftime("%d/%m/%Y")))


@bp.post("/<reference>/forward")
def forward(reference: str):
    petition, form = _get(reference), ForwardForm()
    unit = petition_processing.find_forward_target(db.session, form.unit_id.data)
    names = {}

    def run():
        names["to"] = unit.name if unit else ""
        petition_processing.forward(db.session, current_staff(), petition, unit, form.note.data or "")

    return _act(petition, form, "forward", run, lambda: _(
        "Petition %(ref)s forwarded to %(unit)s.", ref=petition.reference, unit=names["to"]))


@bp.post("/<reference>/answer")
def answer(reference: str):
    petition, form = _get(reference), AnswerForm()
    return _act(petition, form, "answer", lambda: petition_processing.answer(
        db.session, current_staff(), petition, form.text.data or "", bool(form.publish.data)),
        lambda: _("Petition %(ref)s answered; the sender is told.", ref=petition.reference))


@bp.post("/<reference>/decline")
def decline(reference: str):
    petition, form = _get(reference), DeclineForm()
    return _act(petition, form, "decline", lambda: petition_processing.decline(
        db.session, current_staff(), petition, form.reason.data or "", form.note.data or ""),
        lambda: _("Petition %(ref)s closed as not a petition; the sender is told where to turn.",
                  ref=petition.reference))


@bp.post("/<reference>/publish")
def publish(reference: str):
    petition, form = _get(reference), ButtonForm()
    return _act(petition, form, "publish",
                lambda: petition_processing.publish(db.session, current_staff(), petition),
                lambda: _("The answer to %(ref)s is published.", ref=petition.reference))


@bp.post("/<reference>/unpublish")
def unpublish(reference: str):
    petition, form = _get(reference), ButtonForm()
    return _act(petition, form, "unpublish",
                lambda: petition_processing.unpublish(db.session, current_staff(), petition),
                lambda: _("The answer to %(ref)s is no longer published.", ref=petition.reference))
