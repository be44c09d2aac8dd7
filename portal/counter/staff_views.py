"""/staff/counter: assisted mode at the one-stop counter (docs/staff.md).

The clerk opens a session for a person by their id number, gets their consent (a code mailed to the
contact on file, or a scanned signed form), then for COUNTER_SESSION_MINUTES finds the person's
results of the counter's unit, opens them, requests a copy and rates a handled request for them.
The session's id lives in the clerk's login session and is checked against its row on every
request: ended, expired, or another clerk's, and the page goes back to the start with a message.
"""

from __future__ import annotations

from functools import wraps

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from portal import clock, outbox, tracking
from portal.copy_requests import services as copy_services
from portal.copy_requests.forms import KIND_CHOICES, CopyRequestForm
from portal.counter import services
from portal.counter.forms import CodeForm, ConsentFormUpload, EndForm, SendCodeForm, StartForm
from portal.counter.mails import summarize
from portal.counter.models import CounterState
from portal.errors import InvalidInput
from portal.extensions import db
from portal.feedback import ratings
from portal.feedback.rating_forms import rating_form
from portal.feedback.reports import Attachment, InvalidReport
from portal.identity import current_staff
from portal.identity.models import StaffRole
from portal.identity.staff_guard import staff_guard

bp = Blueprint("counter", __name__, url_prefix="/staff/counter")
bp.before_request(staff_guard(StaffRole.CLERK, StaffRole.SUPERVISOR))

#: Key of the clerk's current session id in their login session.
KEY = "counter_session"

REFUSALS = {
    "unknown_person": lambda f: _("The portal has no results yet for the person with this "
                                  "identification number."),
    "not_pending": lambda f: _("This session is no longer waiting for the person's consent. "
                               "Open a new session."),
    "no_contact": lambda f: _("The person has left no e-mail address on the portal: use the signed "
                              "consent form."),
    "too_many_sends": lambda f: _("The code has been sent as many times as allowed. Use the signed "
                                  "consent form."),
    "too_soon": lambda f: _("A code was just sent. It can be sent again in %(seconds)s seconds.", **f),
    "no_code": lambda f: _("No code has been sent yet: press \"Send the code\" first."),
    "code_expired": lambda f: _("The code has expired. Send a new one."),
    "wrong_code": lambda f: _("Wrong code. Tries left: %(remaining)s.", **f),
    "too_many_codes": lambda f: _("Too many wrong codes: the session is refused. It can be opened "
                                  "again only with the signed consent form."),
    "copy_no_pages": lambda f: _("This result has no digitized pages yet, so no copy of it can be "
                                 "issued on the portal."),
    "copy_not_valid": lambda f: _("This result has been revoked or annulled: a copy of it would not "
                                  "be valid."),
    "copy_not_yours": lambda f: _("This result does not belong to the person being assisted."),
    "no_account": lambda f: _("The person has no account on the portal, so no copy can be requested "
                              "for them here. Take the request on paper at the desk."),
}
GONE = {
    "none": lambda: _("No assisted session is open."),
    "pending": lambda: _("The person has not consented yet: the session has not started."),
    "ended": lambda: _("The assisted session has ended."),
    "expired": lambda: _("The assisted session ran out of time and has been ended."),
}


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "private, no-store"  # a person's data, on a shared desk
    return response


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdecimal() and len(raw) < 6 else 1


def _settings() -> services.Settings:
    return services.Settings.of(current_app.config)


def _mine():
    return services.load(db.session, current_staff(), session.get(KEY))


def active_session(view):
    """The view runs with ``g.counter``, the clerk's active session; otherwise back to the start."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        counter = _mine()
        gone = services.check_active(db.session, counter, clock.now())
        if gone is not None:
            if gone == "expired":
                outbox.commit(db.session)  # the end and its summary mail
            if gone != "pending":
                session.pop(KEY, None)
            flash(GONE[gone](), "warning")
            return redirect(url_for(".index"), 303)
        g.counter = counter
        return view(*args, **kwargs)

    return wrapper


def _refusal(error: services.CounterRefused) -> str:
    return REFUSALS.get(error.reason, lambda f: error.reason)(error.facts)


# -- opening ------------------------------------------------------------------------------------

@bp.get("")
def index():
    counter = _mine()
    if counter is not None and counter.state == CounterState.PENDING:
        return redirect(url_for(".consent"), 303)
    if counter is not None and services.check_active(db.session, counter, clock.now()) is None:
        return redirect(url_for(".home"), 303)
    outbox.commit(db.session)  # an expired session just ended
    units = services.counter_units(current_staff())
    return render_template("staff/counter/start.html", form=StartForm(units=units), units=units)


@bp.post("/start")
def start():
    staff = current_staff()
    units = services.counter_units(staff)
    form = StartForm(units=units)
    if not form.validate():
        return render_template("staff/counter/start.html", form=form, units=units), 400
    try:
        counter = services.open_session(db.session, staff, form.id_number.data, form.unit_id.data,
                                        clock.now())
    except services.CounterRefused as refused:
        db.session.rollback()
        form.id_number.errors = [_refusal(refused)]
        return render_template("staff/counter/start.html", form=form, units=units), 404
    outbox.commit(db.session)
    session[KEY] = counter.id
    return redirect(url_for(".consent"), 303)


def _consent_page(counter, status: int = 200, error: str | None = None, code_form=None, upload_form=None):
    return render_template(
        "staff/counter/consent.html", counter=counter, masked=services.mask_email(counter.contact_email),
        send_form=SendCodeForm(), code_form=code_form or CodeForm(),
        upload_form=upload_form or ConsentFormUpload(), error=error, settings=_settings()), status


def _pending_or_start():
    counter = _mine()
    if counter is None or counter.state != CounterState.PENDING:
        session.pop(KEY, None)
        flash(GONE["none"](), "warning")
        return None, redirect(url_for(".index"), 303)
    return counter, None


@bp.get("/consent")
def consent():
    counter, away = _pending_or_start()
    return away or _consent_page(counter)


@bp.post("/consent/send-code")
def send_code():
    counter, away = _pending_or_start()
    if away:
        return away
    if not SendCodeForm().validate():
        return _consent_page(counter, 400, _("The page had expired. Please try again."))
    try:
        services.send_code(db.session, counter, _settings(), current_app.secret_key, clock.now())
    except services.CounterRefused as refused:
        db.session.rollback()
        return _consent_page(counter, 409, _refusal(refused))
    outbox.commit(db.session)  # the worker mails the code at once
    flash(_("The code was sent to %(address)s. It can be used for %(minutes)s minutes.",
            address=services.mask_email(counter.contact_email), minutes=_settings().code_minutes))
    return redirect(url_for(".consent"), 303)


@bp.post("/consent/code")
def confirm_code():
    counter, away = _pending_or_start()
    if away:
        return away
    form = CodeForm()
    if not form.validate():
        return _consent_page(counter, 400, code_form=form)
    try:
        services.confirm_code(db.session, counter, form.code.data, _settings(), current_app.secret_key,
                              clock.now())
    except services.CounterRefused as refused:
        outbox.commit(db.session)  # the wrong try counts (and a refusal ends the session)
        if refused.reason == "too_many_codes":
            session.pop(KEY, None)
            flash(_refusal(refused), "warning")
            return redirect(url_for(".index"), 303)
        return _consent_page(counter, 400, _refusal(refused))
    outbox.commit(db.session)
    return redirect(url_for(".home"), 303)


@bp.post("/consent/form")
def consent_form():
    counter, away = _pending_or_start()
    if away:
        return away
    form = ConsentFormUpload()
    if not form.validate():
        return _consent_page(counter, 400, _("The page had expired. Please try again."))
    storage = form.consent.data
    if storage is None or not getattr(storage, "filename", ""):
        return _consent_page(counter, 400, _("Choose the file of the scanned consent form."))
    limit = _settings().consent_max_bytes
    try:
        services.consent_by_form(db.session, counter, Attachment(filename=storage.filename,
                                                                 data=storage.read(limit + 1)),
                                 _settings(), clock.now())
    except InvalidReport as refused:
        db.session.rollback()
        return _consent_page(counter, 400, refused.message())
    except services.CounterRefused as refused:
        db.session.rollback()
        return _consent_page(counter, 409, _refusal(refused))
    outbox.commit(db.session)
    return redirect(url_for(".home"), 303)


# -- the running session ---------------------------------------------------------------------------

@bp.get("/session")
@active_session
def home():
    counter = g.counter
    results = services.list_results(db.session, counter, page=_page_arg())
    requests = services.person_requests(db.session, counter)
    has_account = services.person_account(db.session, counter.subject_id) is not None
    page = render_template("staff/counter/session.html", counter=counter, results=results,
                           requests=requests, has_account=has_account, end_form=EndForm(),
                           now=clock.now(), today=clock.today())
    db.session.commit()  # the listing, on the audit chain (after rendering: nothing loaded twice)
    return page


@bp.get("/results/<source_id>")
@active_session
def result(source_id: str):
    counter = g.counter
    record = services.view_result(db.session, counter, source_id)
    has_account = services.person_account(db.session, counter.subject_id) is not None
    page = render_template("staff/counter/result.html", counter=counter, record=record,
                           has_account=has_account, today=clock.today(), end_form=EndForm())
    db.session.commit()  # the reading, on the person's access log
    return page


def _copy_page(record, form, status: int = 200, error: str | None = None):
    kind, copies = form.quote_inputs()
    quote = copy_services.quote_for(record, kind, copies, copy_services.rules_from_config(current_app.config))
    return render_template("staff/counter/copy_request.html", counter=g.counter, record=record, form=form,
                           quote=quote, kinds=KIND_CHOICES, error=error), status


@bp.route("/results/<source_id>/copy-request", methods=["GET", "POST"])
@active_session
def copy_request(source_id: str):
    counter = g.counter
    record = services.get_result(db.session, counter, source_id)
    if services.person_account(db.session, counter.subject_id) is None:
        return _copy_page(record, CopyRequestForm(), 409, REFUSALS["no_account"]({}))
    if request.method == "GET":
        return _copy_page(record, CopyRequestForm(email=counter.contact_email))
    form = CopyRequestForm()
    if not form.validate() or "recalculate" in request.form:
        if "recalculate" in request.form and not form.csrf_token.errors:
            for field in form:
                field.errors = []
            return _copy_page(record, form)
        return _copy_page(record, form, 400)
    try:
        made, code = services.request_copy(db.session, counter, source_id, form.data_for_service(),
                                           rules=copy_services.rules_from_config(current_app.config))
    except copy_services.CopyRefused as refused:
        db.session.rollback()
        return _copy_page(record, form, 403, _refusal(services.CounterRefused(f"copy_{refused.reason}")))
    except InvalidInput:
        db.session.rollback()
        return _copy_page(record, form, 400)
    outbox.commit(db.session)  # the citizen's usual mails (to the address given on the form)
    flash(_("Request %(ref)s was filed for the person. Tracking code (give it to the person): %(code)s",
            ref=made.reference, code=tracking.format_code(code)))
    return redirect(url_for(".home"), 303)


def _lang() -> str:
    return "en" if str(get_locale() or "vi").startswith("en") else "vi"


@bp.route("/copy-requests/<reference>/rating", methods=["GET", "POST"])
@active_session
def rate(reference: str):
    counter = g.counter
    copy_request, _citizen = services.get_request(db.session, counter, reference)
    scales = ratings.current_scales()
    rating = ratings.find_rating(db.session, copy_request)
    posted = scales.scales.get(request.form.get("scale", "")) if request.method == "POST" else None
    scale = posted or (scales.scales.get(rating.scale_id) if rating else None) or scales.default
    change_days = int(current_app.config["FEEDBACK_RATING_CHANGE_DAYS"])

    def page(form, status: int = 200, closed: str | None = None):
        return render_template("staff/counter/rate.html", counter=counter, req=copy_request, form=form,
                               closed=closed, max_comment=ratings.MAX_COMMENT), status

    if not ratings.is_handled(copy_request):
        return page(None, 409, "not_handled")
    if request.method == "GET":
        return page(rating_form(scales, scale, _lang(), rating))
    form = rating_form(scales, scale, _lang())
    if not form.validate():
        return page(form, 400)
    try:
        services.rate(db.session, counter, reference, form.scale.data, form.scores(), form.comment.data or "",
                      change_days=change_days, scales=scales)
    except ratings.RatingClosed as closed:
        db.session.rollback()
        return page(None, 409, closed.reason)
    except ratings.InvalidRating as invalid:
        db.session.rollback()
        form.add_errors(invalid.errors)
        return page(form, 400)
    db.session.commit()
    flash(_("The person's rating of request %(ref)s was recorded.", ref=reference))
    return redirect(url_for(".home"), 303)


# -- the end --------------------------------------------------------------------------------------

@bp.post("/end")
def end():
    counter = _mine()
    if not EndForm().validate():
        flash(_("The page had expired. Please try again."), "warning")
        return redirect(url_for(".index"), 303)
    session.pop(KEY, None)
    if counter is None:
        return redirect(url_for(".index"), 303)
    services.end(db.session, counter, "clerk", clock.now())
    outbox.commit(db.session)  # the summary mail goes at once
    return redirect(url_for(".summary", counter_id=counter.id), 303)


@bp.get("/sessions/<int:counter_id>/summary")
def summary(counter_id: int):
    counter = services.get_own_session(db.session, current_staff(), counter_id)
    if counter.state != CounterState.ENDED:
        return redirect(url_for(".index"), 303)
    return render_template("staff/counter/summary.html", summary=summarize(db.session, counter),
                           masked=services.mask_email(counter.contact_email))
