"""Public pages: a unit's coverage (/units/<slug>/coverage), and the request to digitize a result
the search did not find (send, confirmation shown once, follow with the tracking code).

The coverage page is counts only, the same for everyone (http_cache.PUBLIC_PAGES). The request
pages are per person: never kept by a shared cache.
"""

from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from portal import outbox, tracking
from portal.coverage import digitization, services
from portal.coverage.forms import EVENT_LABELS, FIELD_ERRORS, STATE_LABELS, RequestForm, TrackForm
from portal.extensions import db
from portal.identity import current_citizen
from portal.rate_limits import limit_posts
from portal.units import services as units
from portal.units.models import UnitLevel

bp = Blueprint("coverage", __name__)

PRIVATE_CACHE = "private, no-store"


@bp.app_context_processor
def labels():
    return {
        "digitization_state_label": lambda s: str(STATE_LABELS.get(s, s)),
        "digitization_event_label": lambda a: str(EVENT_LABELS.get(a, a)),
    }


# -- coverage --------------------------------------------------------------------------------------


def _coverage_page(unit):
    if unit is None or unit.level != UnitLevel.COMMUNE:
        abort(404)
    raw = request.args.get("procedure", "")
    procedure = services.find_procedure(db.session, raw) if raw else None
    if raw and procedure is None:
        abort(404)
    figures = services.coverage(db.session, unit, procedure.code if procedure else "")
    return render_template(
        "coverage/unit.html",
        unit=unit,
        figures=figures,
        procedure=procedure,
        predecessors=units.list_predecessors(db.session, unit) if unit.is_current else [],
        links=units.successors(unit),
    )


@bp.get("/units/<slug>/coverage")
def unit(slug: str):
    found = units.find_current_unit(db.session, slug) or units.find_legacy_unit(db.session, slug)
    return _coverage_page(found)


@bp.get("/units/legacy/<slug>/coverage")
def legacy_unit(slug: str):
    return _coverage_page(units.find_legacy_unit(db.session, slug))


# -- the request to digitize -------------------------------------------------------------------------


def _private(body, status: int = 200):
    response = make_response(body, status)
    response.headers["Cache-Control"] = PRIVATE_CACHE
    return response


def _form_page(
    form: RequestForm, status: int = 200, *, contact_error: str | None = None, expired: bool = False
):
    current, olds = services.unit_choices(db.session)
    form.issuing_unit_id.choices = {
        "": [SelectChoice("", _("Choose a commune or ward"))],
        _("Communes and wards since 1 July 2025"): [SelectChoice(str(id_), label) for id_, label in current],
        _("Communes and wards before 1 July 2025"): [SelectChoice(str(id_), label) for id_, label in olds],
    }
    form.procedure_code.choices = [SelectChoice("", _("I do not know"))] + [
        SelectChoice(code, f"{name} ({code})") for code, name in services.procedure_choices(db.session)
    ]
    return _private(
        render_template("coverage/request_new.html", form=form, contact_error=contact_error, expired=expired),
        status,
    )


@bp.route("/digitization-requests/new", methods=["GET", "POST"])
@limit_posts("COVERAGE_REQUEST_RATE_LIMIT")
def new():
    citizen = current_citizen()
    if request.method == "GET":
        number = request.args.get("number", "")[: digitization.MAX_NUMBER]
        form = RequestForm(formdata=None, requester_name=citizen.name if citizen else "", doc_number=number)
        return _form_page(form)
    form = RequestForm()
    if not form.validate():  # the CSRF token only: the service checks the answers
        return _form_page(form, 400, expired=True)
    try:
        sent, code = digitization.submit(db.session, citizen, form.data_for_service())
    except digitization.RequestInvalid as error:
        db.session.rollback()
        for name, problem in error.errors.items():
            if name in form._fields:
                form[name].errors = [str(FIELD_ERRORS.get(name, {}).get(problem, _("Check this answer.")))]
        contact = error.errors.get("contact")
        return _form_page(form, 400, contact_error=str(FIELD_ERRORS["contact"][contact]) if contact else None)
    outbox.commit(db.session)  # then the worker sends the mail at once
    # Shown once on the confirmation page (and e-mailed): the code is stored only as a hash.
    tracking.show_once(sent.reference, code)
    return redirect(url_for(".received", reference=sent.reference), 303)


@bp.get("/digitization-requests/received/<reference>")
def received(reference: str):
    code = tracking.take_shown_once(reference)
    if code is None:  # shown once: a reload or someone else's link goes to the tracking form
        return redirect(url_for(".track"), 303)
    return _private(render_template("coverage/request_received.html", reference=reference, code=code))


@bp.route("/digitization-requests/track", methods=["GET", "POST"])
@limit_posts("COVERAGE_TRACK_RATE_LIMIT")  # every try from one address, across references, before any lookup
def track():
    form = TrackForm()
    if request.method == "GET" or not form.validate():
        return _private(
            render_template("coverage/request_track.html", form=form),
            400 if request.method == "POST" else 200,
        )
    try:
        found = digitization.track(db.session, form.reference.data, form.code.data)
    except digitization.TrackingFailed:
        return _private(render_template("coverage/request_track.html", form=form, error=True), 400)
    return _private(render_template("coverage/request_status.html", case=found))
