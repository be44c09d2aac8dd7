"""Staff pages of coverage: the digitization requests of a clerk's units (/staff/digitization-requests:
queue, a request with its requester's contacts, each look audited, and the claim and answer forms,
POST only), and the upload of issued counts (/staff/coverage/issued: supervisors for their units,
admins for any).

A request of another unit is a 404; an action refused or taken first by a colleague is a message
on the request's page, never an error page.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal import casework, outbox
from portal.coverage import digitization, services
from portal.coverage.forms import REFUSALS, AnswerForm, ButtonForm, IssuedUploadForm
from portal.errors import InvalidInput
from portal.extensions import db
from portal.identity import current_staff
from portal.identity.models import StaffRole
from portal.identity.staff_guard import staff_guard

bp = Blueprint("digitization_staff", __name__, url_prefix="/staff/digitization-requests")
bp.before_request(staff_guard(*casework.WORKING_ROLES))

issued_bp = Blueprint("coverage_staff", __name__, url_prefix="/staff/coverage")
issued_bp.before_request(staff_guard(StaffRole.SUPERVISOR, StaffRole.ADMIN))


def no_store(response):
    # Requesters' names and contacts, a unit's uploads: never kept by a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


bp.after_request(no_store)
issued_bp.after_request(no_store)


@bp.get("/")
def index():
    raw = request.args.get("page", "")
    queue = digitization.list_requests(
        db.session,
        current_staff(),
        tab=request.args.get("tab", "open"),
        page=int(raw) if raw.isdecimal() and len(raw) < 6 else 1,
    )
    return render_template("staff/digitization_requests/index.html", queue=queue)


def _detail_page(case, form: AnswerForm | None = None, status: int = 200):
    return render_template(
        "staff/digitization_requests/detail.html",
        dr=case,
        timeline=digitization.timeline(db.session, case),
        answer_form=form or AnswerForm(formdata=None),
        button_form=ButtonForm(),
        is_open=case.state in digitization.OPEN_STATES,
    ), status


@bp.get("/<reference>")
def detail(reference: str):
    case = digitization.open_request(db.session, current_staff(), reference)
    db.session.commit()  # the audit entry of the look at the contacts stands even if rendering fails
    return _detail_page(case)


def _act(reference: str, form, run, done: str):
    case = digitization.get_for_staff(db.session, current_staff(), reference)
    back = redirect(url_for(".detail", reference=case.reference), 303)
    if not form.validate_on_submit():
        flash(_("The form has expired. Please try again."), "warning")
        return back
    try:
        run(case)
    except digitization.AlreadyProcessed:
        db.session.rollback()
        flash(_("A colleague changed this request meanwhile; here is where it stands now."), "warning")
        return back
    except InvalidInput as error:
        db.session.rollback()
        code = str(error)
        field = {"outcome": "outcome", "source_id": "source_id", "answer": "text"}.get(code)
        if field and field in form._fields:
            form[field].errors = [str(REFUSALS[code])]
            case = digitization.open_request(db.session, current_staff(), reference)
            db.session.commit()  # the page shows the contacts again: the look is logged
            return _detail_page(case, form, 400)
        flash(REFUSALS.get(code, _("This action is not possible now.")), "warning")
        return back
    outbox.commit(db.session)  # then the worker sends the mail at once
    flash(done % {"ref": case.reference}, "info")
    return back


@bp.post("/<reference>/claim")
def claim(reference: str):
    return _act(
        reference,
        ButtonForm(),
        lambda case: digitization.claim(db.session, current_staff(), case),
        _("You have taken request %(ref)s."),
    )


@bp.post("/<reference>/answer")
def answer(reference: str):
    form = AnswerForm()
    return _act(
        reference,
        form,
        lambda case: digitization.answer(
            db.session,
            current_staff(),
            case,
            form.outcome.data or "",
            form.text.data or "",
            form.source_id.data or "",
        ),
        _("Request %(ref)s answered; the requester is told."),
    )


# -- issued counts ---------------------------------------------------------------------------------


@issued_bp.route("/issued", methods=["GET", "POST"])
def issued():
    staff = current_staff()
    form = IssuedUploadForm()
    errors, report, status = [], None, 200
    if request.method == "POST":
        upload = request.files.get("file")
        if not form.validate_on_submit():
            errors, status = [_("The form has expired. Please try again.")], 400
        elif upload is None or not upload.filename:
            errors, status = [_("Choose a CSV file.")], 400
        else:
            config = current_app.config
            limit = int(config["COVERAGE_ISSUED_MAX_BYTES"])
            data = upload.stream.read(limit + 1)  # one byte more than allowed tells "too big"
            try:
                report = services.load_issued(
                    db.session, staff, data, max_bytes=limit, max_rows=int(config["COVERAGE_ISSUED_MAX_ROWS"])
                )
                db.session.commit()
            except services.IssuedInvalid as error:
                db.session.rollback()
                errors, status = error.errors, 400
    return render_template(
        "staff/coverage_issued.html",
        form=form,
        errors=errors,
        report=report,
        rows=services.list_issued(db.session, staff),
        staff=staff,
        columns=services.COLUMNS,
    ), status
