"""The requester's pages: ask for a copy from a result page, check the answers, follow the request.

No JavaScript: the fee is computed on the server and recomputed by the form's "Recalculate"
button; the "check your answers" page carries the answers in hidden fields, and its "Change"
buttons post them back to the form.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import outbox, tracking
from portal.copy_requests import due_dates, services, workflow
from portal.copy_requests.forms import (
    EVENT_LABELS,
    KIND_CHOICES,
    STATE_LABELS,
    CancelForm,
    CopyRequestForm,
    TrackForm,
)
from portal.copy_requests.workflow import State
from portal.db import utcnow
from portal.errors import InvalidInput
from portal.extensions import db
from portal.identity import current_citizen
from portal.identity.citizens import require_loa
from portal.rate_limits import limit_posts

bp = Blueprint("copy_requests", __name__)

#: Pages about a person's request: their browser only, never a shared cache.
PRIVATE_CACHE = "private, no-store"

#: What happens next, by state (the confirmation and status pages).
NEXT_STEPS = {
    State.SUBMITTED: _l("An officer of the one-stop desk will check your request and prepare the copy by the "
                        "due date. You can still cancel it until they take it up."),
    State.IN_PROGRESS: _l("An officer is preparing your copy. You will receive an e-mail when it is issued."),
    State.ISSUED: _l("Your copy has been issued."),
    State.DELIVERED: _l("Your copy has been delivered."),
    State.REJECTED: _l("Your request was refused; the reason is shown below."),
    State.CANCELLED: _l("You cancelled this request."),
}
REFUSALS = {
    "not_yours": _l("This result is personal and is not about you (nor about the organization you "
                    "represent). Copies of a personal result are issued only to its holder; copies of "
                    "public results can be requested by anyone logged in."),
    "no_pages": _l("This result has no digitized pages yet, so no copy can be made from the portal. "
                   "Please contact the one-stop desk of the unit that issued it."),
    "not_valid": _l("This result has been revoked or annulled: a copy of it would certify nothing."),
}


@bp.app_template_global()
def requester_state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


@bp.app_template_global()
def requester_kind_label(kind: str) -> str:
    return str(KIND_CHOICES[kind][0]) if kind in KIND_CHOICES else kind


@bp.app_template_global()
def requester_event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, action))


@bp.app_template_filter("vnd")
def vnd(amount: int) -> str:
    """120.000 đ (Vietnamese digit grouping in both languages: amounts in đồng are written so)."""
    return f"{amount:,}".replace(",", ".") + " đ"


def _rules() -> services.Rules:
    return services.rules_from_config(current_app.config)


def _private(body, status: int = 200):
    response = make_response(body, status)
    response.headers["Cache-Control"] = PRIVATE_CACHE
    return response


@bp.errorhandler(services.CopyRefused)
def _refused(refusal: services.CopyRefused):
    """Not a result this person may ask a copy of (from any step, submit included): the reason."""
    return _private(render_template("copy_requests/refused.html",
                                    reason=str(REFUSALS.get(refusal.reason, ""))), 403)


def _form_page(record, form: CopyRequestForm, status: int = 200, focus: str | None = None):
    kind, copies = form.quote_inputs()
    quote = services.quote_for(record, kind, copies, _rules())
    return _private(render_template("copy_requests/new.html", record=record, form=form, quote=quote,
                                    kinds=KIND_CHOICES, focus=focus), status)


@bp.get("/results/<source_id>/copy-request")
@require_loa("view_personal")
def new(source_id: str):
    citizen = current_citizen()
    record = services.get_requestable(db.session, citizen, source_id)
    form = CopyRequestForm(email=services.find_last_email(db.session, citizen))
    return _form_page(record, form)


@bp.post("/results/<source_id>/copy-request/check")
@require_loa("view_personal")
def check(source_id: str):
    record = services.get_requestable(db.session, current_citizen(), source_id)
    form = CopyRequestForm()
    change = request.form.get("change")
    if "recalculate" in request.form or change in form._fields:
        form.validate()  # for the CSRF check only; field errors would be premature here
        if form.csrf_token.errors:
            return _form_page(record, form, 400)
        for field in form:
            field.errors = []
        return _form_page(record, form, focus=change)
    if not form.validate():
        return _form_page(record, form, 400)
    kind, copies = form.quote_inputs()
    quote = services.quote_for(record, kind, copies, _rules())
    due = _rules().calendar.due_at(utcnow(), kind)
    return _private(render_template("copy_requests/check.html", record=record, form=form, quote=quote,
                                    due=due))


@bp.post("/results/<source_id>/copy-request")
@require_loa("view_personal")
def create(source_id: str):
    citizen = current_citizen()
    record = services.get_requestable(db.session, citizen, source_id)
    form = CopyRequestForm()
    if not form.validate():
        return _form_page(record, form, 400)
    try:
        copy_request, code = services.submit(db.session, citizen, source_id, form.data_for_service(),
                                             rules=_rules())
    except InvalidInput:
        db.session.rollback()
        return _form_page(record, form, 400)
    outbox.commit(db.session)  # then the worker sends the mail (and reindexes) at once
    # Shown once on the confirmation page (and e-mailed): the code is stored only as a hash.
    tracking.show_once(copy_request.reference, code)
    flash(_("Your request %(ref)s has been received.", ref=copy_request.reference))
    return redirect(url_for(".detail", reference=copy_request.reference), 303)


def _timeline(copy_request):
    return [{"at": step.at, "label": requester_event_label(step.action), "state": step.state, "who": step.by,
             "note": step.note} for step in services.timeline(copy_request)]


@bp.get("/copy-requests/<reference>")
@require_loa("view_personal")
def detail(reference: str):
    copy_request = services.get_own(db.session, current_citizen(), reference)
    code = tracking.take_shown_once(reference)
    return _private(render_template(
        "copy_requests/detail.html", req=copy_request, timeline=_timeline(copy_request),
        next_step=NEXT_STEPS.get(copy_request.state), tracking_code=code, tracked=False,
        overdue=due_dates.is_overdue(copy_request, utcnow()),
        may_cancel=services.may_cancel(copy_request), cancel_form=CancelForm()))


@bp.post("/copy-requests/<reference>/cancel")
@require_loa("view_personal")
def cancel(reference: str):
    form = CancelForm()
    if not form.validate():
        flash(_("The page had expired. Please try again."))
        return redirect(url_for(".detail", reference=reference), 303)
    try:
        services.cancel(db.session, current_citizen(), reference)
    except workflow.InvalidTransition:
        db.session.rollback()
        flash(_("This request can no longer be cancelled: the one-stop desk has already taken it up."))
        return redirect(url_for(".detail", reference=reference), 303)
    outbox.commit(db.session)  # then the worker sends the mail (and reindexes) at once
    flash(_("Request %(ref)s has been cancelled.", ref=reference))
    return redirect(url_for(".detail", reference=reference), 303)


@bp.get("/my/copy-requests")
@require_loa("view_personal")
def mine():
    raw = request.args.get("page", "")
    page = int(raw) if raw.isdecimal() and len(raw) < 6 else 1
    requests_page = services.list_own(db.session, current_citizen(), page=page)
    return _private(render_template("copy_requests/mine.html", requests=requests_page, now=utcnow(),
                                    is_overdue=due_dates.is_overdue))


@bp.route("/copy-requests/track", methods=["GET", "POST"])
@limit_posts("COPY_TRACK_RATE_LIMIT")  # every try from one address, across references, before any lookup
def track():
    form = TrackForm()
    if request.method == "GET" or not form.validate():
        return _private(render_template("copy_requests/track.html", form=form),
                        400 if request.method == "POST" else 200)
    config = current_app.config
    try:
        copy_request = services.track(
            db.session, form.reference.data, form.code.data,
            tracking.client_tag(request.remote_addr or "", current_app.secret_key),
            max_failures=config["COPY_TRACK_MAX_FAILURES"],
            window_minutes=config["COPY_TRACK_WINDOW_MINUTES"])
    except services.TooManyAttempts:
        response = _private(render_template("copy_requests/track.html", form=form, error="too_many"), 429)
        response.headers["Retry-After"] = str(config["COPY_TRACK_WINDOW_MINUTES"] * 60)
        return response
    except services.TrackingFailed:
        db.session.commit()  # the failed try, counted for the rate limit
        return _private(render_template("copy_requests/track.html", form=form, error="no_match"), 400)
    return _private(render_template(
        "copy_requests/detail.html", req=copy_request, timeline=_timeline(copy_request),
        next_step=NEXT_STEPS.get(copy_request.state), tracking_code=None, tracked=True,
        overdue=due_dates.is_overdue(copy_request, utcnow()), may_cancel=False, cancel_form=None))
