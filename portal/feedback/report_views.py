""""Report a problem with this result": GET/POST /results/<source_id>/report, then a confirmation.

Open to whoever may see the result (a personal result's form is a 404 for anyone else). Logged-in
citizens find their name prefilled. POSTs are rate-limited per client address; a refusal
re-renders the form with the message on its field (400), and nothing is stored.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, session, url_for
from flask_babel import gettext as _

from portal import outbox
from portal.copy_requests.services import find_last_email
from portal.extensions import db
from portal.feedback import reports
from portal.feedback.report_forms import ProblemReportForm
from portal.identity import current_citizen, current_staff
from portal.identity.citizens import reading_actor
from portal.identity.models import Citizen
from portal.rate_limits import limit_posts

bp = Blueprint("reports", __name__)

#: Where the confirmation page finds the reference just given (the browser's session only).
SENT_KEY = "problem_report_sent"


def _prefill(form: ProblemReportForm) -> None:
    citizen, staff = current_citizen(), current_staff()
    if citizen is not None:
        form.reporter_name.data = citizen.name
        form.reporter_email.data = find_last_email(db.session, citizen)
    elif staff is not None:
        form.reporter_name.data, form.reporter_email.data = staff.full_name, staff.email


def _page(record, form, status: int = 200, error: str = ""):
    # A citizen's e-mail is optional (reports.submit_report); anyone else's is required.
    return render_template("feedback/report_new.html", record=record, form=form, error=error,
                           email_optional=isinstance(reading_actor(), Citizen), kinds=reports.KIND_LABELS,
                           max_mb=int(current_app.config["FEEDBACK_ATTACHMENT_MAX_BYTES"]) / (1024 * 1024),
                           ), status


@bp.route("/results/<source_id>/report", methods=["GET", "POST"])
@limit_posts("FEEDBACK_REPORT_RATE_LIMIT")
def new(source_id: str):
    actor = reading_actor()
    form = ProblemReportForm()
    if not form.is_submitted():
        record = reports.open_form(db.session, actor, source_id)
        db.session.commit()  # the access-log entry of a personal result's form
        _prefill(form)
        return _page(record, form)
    record = reports.get_reportable(db.session, actor, source_id)
    if not form.validate():  # only the CSRF token can fail here
        return _page(record, form, 400, _("The form has expired. Please try again."))
    attachment = None
    storage = form.attachment.data
    if storage is not None and getattr(storage, "filename", ""):
        limit = int(current_app.config["FEEDBACK_ATTACHMENT_MAX_BYTES"])
        attachment = reports.Attachment(filename=storage.filename, data=storage.read(limit + 1))
    try:
        report = reports.submit_report(
            db.session, actor, source_id, form.kind.data or "", form.description.data or "",
            reporter_name=form.reporter_name.data or "", reporter_email=form.reporter_email.data or "",
            attachment=attachment)
    except reports.InvalidReport as error:
        db.session.rollback()
        getattr(form, error.field).errors = [error.message()]
        return _page(record, form, 400, _("Please correct the answers marked below."))
    outbox.commit(db.session)  # then the worker sends the mail (and reindexes) at once
    session[SENT_KEY] = {"reference": report.reference, "source_id": record.source_id,
                         "email": bool(report.reporter_email)}
    return redirect(url_for(".sent"), 303)


@bp.get("/problem-reports/sent")
def sent():
    sent = session.get(SENT_KEY)
    if not sent:
        return redirect(url_for("main.home"))
    return render_template("feedback/report_sent.html", sent=sent)
