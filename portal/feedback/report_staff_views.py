"""The clerks' side of problem reports, under /staff: the queue of the units a clerk serves
(/staff/problem-reports), a case with its result and attachment, the correction form (from a case,
or for any result of the clerk's units at /staff/records/<source_id>/correct) and dismissing.

Another unit's case or result is a 404 (its reference is not confirmed). A case closed meanwhile
is a message on its page, never an error page.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal import casework, clock, outbox
from portal.extensions import db
from portal.feedback import correction_fields, corrections, reports
from portal.feedback.models import ReportState
from portal.feedback.report_forms import CorrectionForm, DismissForm
from portal.files.serving import send_untrusted
from portal.identity import current_staff
from portal.identity.staff_guard import staff_guard
from portal.records.labels import status_label
from portal.records.services import public_view

bp = Blueprint("reports_staff", __name__, url_prefix="/staff")
bp.before_request(staff_guard(*casework.WORKING_ROLES))

PER_PAGE = 25


@bp.after_request
def no_store(response):
    # Reporters' contacts and results' personal fields: never kept by a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def labels():
    return {"report_kind_label": lambda kind: str(reports.KIND_LABELS.get(kind, kind)),
            "report_state_label": lambda state: str(reports.STATE_LABELS.get(state, state)),
            "correction_field_label": correction_fields.field_label,
            "correction_value": correction_fields.display_value}


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdecimal() and len(raw) < 6 else 1


@bp.get("/problem-reports/")
def index():
    cases = reports.list_cases(db.session, current_staff(), state=request.args.get("state", "open"),
                               page=_page_arg(), per_page=PER_PAGE)
    return render_template("staff/problem_reports/index.html", cases=cases, tabs=reports.STATE_LABELS)


@bp.get("/problem-reports/<reference>")
def detail(reference: str):
    report = reports.get_case(db.session, current_staff(), reference)
    db.session.commit()  # the access-log entry stands even if rendering fails
    return _detail_page(report)


def _detail_page(report, dismiss_form=None, status: int = 200):
    staff = current_staff()
    record = report.record
    now = clock.now()
    return render_template(
        "staff/problem_reports/detail.html", report=report, record=record, fields=public_view(record, staff),
        status_now=str(record.effective_status(now.date())), now=now,
        dismiss_form=dismiss_form or DismissForm(), may_correct=corrections.may_correct(staff, record),
        history=corrections.list_history(db.session, record)), status


@bp.get("/problem-reports/<reference>/attachment")
def attachment(reference: str):
    report = reports.get_case(db.session, current_staff(), reference)
    db.session.commit()
    # Sent as a download that no browser renders: the file came from anyone on the internet.
    return send_untrusted(reports.attachment_path(report), report.attachment_name)


@bp.post("/problem-reports/<reference>/dismiss")
def dismiss(reference: str):
    staff = current_staff()
    report = reports.get_case(db.session, staff, reference, log=False)
    form = DismissForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please try again."), "warning")
        return redirect(url_for(".detail", reference=report.reference))
    try:
        reports.dismiss(db.session, staff, report, form.note.data or "")
    except reports.CaseClosed:
        db.session.rollback()
        flash(str(reports.MESSAGES["closed"]), "warning")
        return redirect(url_for(".detail", reference=report.reference))
    except reports.InvalidReport as error:
        db.session.rollback()
        form.note.errors = [error.message()]
        return _detail_page(report, dismiss_form=form, status=400)
    outbox.commit(db.session)  # then the worker sends the mail (and reindexes) at once
    flash(_("Case %(ref)s was dismissed; the reporter is told why.", ref=report.reference), "info")
    return redirect(url_for(".index"))


# -- the correction form --------------------------------------------------------------------------


def _correction_page(record, form, report=None, status: int = 200, error: str = ""):
    form.set_status_choices(status_label)
    action = (url_for(".correct", reference=report.reference) if report is not None
              else url_for(".correct_record", source_id=record.source_id))
    return render_template("staff/problem_reports/correct.html", record=record, form=form, report=report,
                           action=action, error=error, current=corrections.current_values(record),
                           max_mb=int(current_app.config["FEEDBACK_ATTACHMENT_MAX_BYTES"]) / (1024 * 1024),
                           min_dpi=current_app.config["MIN_SCAN_DPI"]), status


def _correction(record, report=None):
    staff = current_staff()
    form = CorrectionForm()
    if not form.is_submitted():
        form.prefill(corrections.current_values(record))
        return _correction_page(record, form, report)
    if not form.validate():  # only the CSRF token can fail here
        return _correction_page(record, form, report, 400, _("The form has expired. Please try again."))
    changes = form.changes()
    storage = form.scan.data
    if storage is not None and getattr(storage, "filename", ""):
        limit = int(current_app.config["FEEDBACK_ATTACHMENT_MAX_BYTES"])
        changes["scan"] = reports.Attachment(filename=storage.filename, data=storage.read(limit + 1))
    try:
        correction = corrections.correct(db.session, staff, record, changes, form.reason.data or "",
                                         report=report)
    except reports.CaseClosed:
        db.session.rollback()
        flash(str(reports.MESSAGES["closed"]), "warning")
        return redirect(url_for(".detail", reference=report.reference))
    except (corrections.InvalidCorrection, reports.InvalidReport) as error:
        db.session.rollback()
        text = error.message()
        if error.field and hasattr(form, error.field):
            getattr(form, error.field).errors = [text]
            return _correction_page(record, form, report, 400, _("Please correct the answers marked below."))
        return _correction_page(record, form, report, 400, text)
    outbox.commit(db.session)  # then the worker sends the mail (and reindexes) at once
    fields = ", ".join(correction_fields.field_label(name) for name in correction.after)
    flash(_("The result was corrected (%(fields)s).", fields=fields), "info")
    if report is not None:
        return redirect(url_for(".detail", reference=report.reference))
    return redirect(url_for("records.detail", source_id=record.source_id))


@bp.route("/problem-reports/<reference>/correct", methods=["GET", "POST"])
def correct(reference: str):
    staff = current_staff()
    report = reports.get_case(db.session, staff, reference, log=False)
    record = corrections.get_correctable(db.session, staff, report.record.source_id,
                                         log=request.method == "GET")
    if report.state != ReportState.OPEN:
        db.session.commit()
        flash(str(reports.MESSAGES["closed"]), "warning")
        return redirect(url_for(".detail", reference=report.reference))
    db.session.commit()  # the access-log entry of the form's current values
    return _correction(record, report)


@bp.route("/records/<source_id>/correct", methods=["GET", "POST"])
def correct_record(source_id: str):
    record = corrections.get_correctable(db.session, current_staff(), source_id, log=request.method == "GET")
    db.session.commit()  # the access-log entry of the form's current values
    return _correction(record)
