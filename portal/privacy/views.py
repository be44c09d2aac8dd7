"""The person's side: /my/data ("Dữ liệu của tôi": what the portal holds about them, the JSON
and PDF downloads, a correction request, an objection or restriction, their requests with their
due dates) and the public privacy notice /privacy with the live retention settings.

Every page and download here names the person's data: the same level of assurance as reading
their personal results (require_loa("view_personal")), never cached.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal import clock, outbox
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.feedback import reports
from portal.identity import current_citizen
from portal.identity.citizens import require_loa
from portal.privacy import export, pdf, services
from portal.privacy.forms import CorrectionRequestForm, ObjectionForm
from portal.privacy.models import RightsKind
from portal.rate_limits import limit_posts, limit_posts_as

bp = Blueprint("privacy", __name__)

PRIVATE_CACHE = "private, no-store"


@bp.app_context_processor
def labels():
    return {"rights_kind_label": lambda kind: str(services.KIND_LABELS.get(kind, kind)),
            "rights_state_label": lambda state: str(services.STATE_LABELS.get(state, state)),
            "rights_scope_label": lambda scope: str(services.SCOPES.get(scope, scope))}


def _private(body, status: int = 200, mimetype: str | None = None):
    response = make_response(body, status)
    if mimetype:
        response.mimetype = mimetype
    response.headers["Cache-Control"] = PRIVATE_CACHE
    return response


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdecimal() and len(raw) < 6 and int(raw) >= 1 else 1


def _controller() -> dict:
    config = current_app.config
    return {"name": config["PRIVACY_CONTROLLER"], "contact": config["PRIVACY_CONTACT_EMAIL"]}


def _mine_page(correction=None, objection=None, status: int = 200, error: str = ""):
    citizen = current_citizen()
    results = services.own_results(db.session, citizen)
    correction = correction or CorrectionRequestForm()
    correction.result.choices = [(r.source_id, f"{r.doc_type_name} {_('No.')} {r.number_display}")
                                 for r in results]
    html = render_template("privacy/mine.html", counts=export.counts(db.session, citizen),
                           sections=export.SECTIONS, results=results, correction=correction,
                           objection=objection or ObjectionForm(),
                           requests=services.list_own(db.session, citizen, page=_page_arg()),
                           deadlines=services.deadline_table(), now=clock.now(), error=error)
    return _private(html, status)


@bp.get("/my/data")
@require_loa("view_personal")
def mine():
    return _mine_page()


def _built():
    citizen = current_citizen()
    return citizen, export.build(db.session, citizen, controller=_controller())


def _filename(citizen, extension: str) -> str:
    return f"du-lieu-ca-nhan-{citizen.id}-{clock.today().isoformat()}.{extension}"


@bp.get("/my/data/export.json")
@require_loa("view_personal")
def export_json():
    citizen, built = _built()
    services.record_export(db.session, citizen, "json", built.counts)
    db.session.commit()  # the audit entry stands with the download
    response = _private(json.dumps(built.data, ensure_ascii=False, indent=1), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{_filename(citizen, "json")}"'
    return response


@bp.get("/my/data/export.pdf")
@require_loa("view_personal")
def export_pdf():
    citizen, built = _built()
    body = pdf.render(built.data, title=_("Personal data held by the portal"),
                      intro=_("Everything the portal holds about you on the day shown, by section. "
                              "The JSON download has the same content in a machine-readable form."),
                      empty=_("Nothing in this section."),
                      more=_("Only the first rows are listed here: there are %(count)s in all.",
                             count="{count}"))
    services.record_export(db.session, citizen, "pdf", built.counts)
    db.session.commit()
    response = _private(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{_filename(citizen, "pdf")}"'
    return response


@bp.post("/my/data/correction")
@limit_posts_as("reports.new", "FEEDBACK_REPORT_RATE_LIMIT")  # a problem report by another door
@require_loa("view_personal")
def correction():
    form = CorrectionRequestForm()
    if not form.validate_on_submit():
        return _mine_page(correction=form, status=400, error=_("The form has expired. Please try again."))
    try:
        created = services.request_correction(db.session, current_citizen(), form.result.data or "",
                                              form.problem.data or "", form.description.data or "",
                                              form.email.data or "")
    except NotFound:
        db.session.rollback()
        form.result.errors = [_("Choose one of your results.")]
        return _mine_page(correction=form, status=400)
    except reports.InvalidReport as refusal:
        db.session.rollback()
        field = {"kind": form.problem, "description": form.description}.get(refusal.field, form.email)
        field.errors = [refusal.message()]
        return _mine_page(correction=form, status=400)
    except InvalidInput as refusal:
        db.session.rollback()
        form.email.errors = [str(refusal)]
        return _mine_page(correction=form, status=400)
    outbox.commit(db.session)
    flash(_("Your correction request %(ref)s was sent to the clerks as case %(case)s.",
            ref=created.reference, case=created.case_reference))
    return redirect(url_for(".mine", _anchor="requests"), 303)


@bp.post("/my/data/objection")
@limit_posts("FEEDBACK_REPORT_RATE_LIMIT")
@require_loa("view_personal")
def objection():
    form = ObjectionForm()
    if not form.validate_on_submit():
        return _mine_page(objection=form, status=400, error=_("The form has expired. Please try again."))
    try:
        created = services.request_objection(db.session, current_citizen(), form.kind.data or "",
                                             form.scope.data or "", form.reason.data or "",
                                             form.email.data or "")
    except InvalidInput as refusal:
        db.session.rollback()
        form.reason.errors = [str(refusal)]
        return _mine_page(objection=form, status=400)
    db.session.commit()
    flash(_("Your request %(ref)s was received. It will be answered by %(due)s.",
            ref=created.reference, due=clock.in_hanoi(created.due_at).strftime("%d/%m/%Y")))
    return redirect(url_for(".mine", _anchor="requests"), 303)


@bp.get("/privacy")
def notice():
    config = current_app.config
    retention = {"access_log": config["RETENTION_ACCESS_LOG_DAYS"], "mail": config["RETENTION_MAIL_DAYS"],
                 "uploads": config["RETENTION_UPLOAD_DAYS"],
                 "sessions": config["LOGIN_SESSION_RETENTION_DAYS"],
                 "upload_hours": config["UPLOAD_BATCH_KEEP_HOURS"]}
    return render_template("privacy/notice.html", retention=retention, controller=_controller(),
                           scopes=services.SCOPES, deadlines=services.deadline_table(),
                           kinds=services.KIND_LABELS, export_kind=RightsKind.EXPORT.value)
