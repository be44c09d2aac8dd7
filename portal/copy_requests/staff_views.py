"""The one-stop-shop workbench at /staff/copy-requests: the queue of the units a clerk serves, a
request with its result and scans, and the buttons that move it on (POST only).

A request of another unit is a 404 (its reference is not confirmed); an action the state machine
refuses, or one a colleague took first, is a message on the request's page, never an error page.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

from portal import casework, clock, outbox
from portal.copy_requests import due_dates, processing
from portal.copy_requests.models import CopyKind
from portal.copy_requests.staff_forms import (
    ASSIGNEE_LABELS,
    KIND_LABELS,
    STATE_LABELS,
    TAB_LABELS,
    AssignForm,
    DeliverForm,
    QueueFilterForm,
    RejectForm,
    WorkflowForm,
)
from portal.copy_requests.workflow import Action, InvalidTransition
from portal.errors import PortalError
from portal.extensions import db
from portal.identity import current_staff
from portal.identity.models import StaffRole
from portal.identity.staff_guard import staff_guard
from portal.records.services import public_view

bp = Blueprint("copy_requests_staff", __name__, url_prefix="/staff/copy-requests")
bp.before_request(staff_guard(*casework.WORKING_ROLES))

PER_PAGE = 25

ALREADY_PROCESSED = _l("This request has already been processed; here is where it stands now.")
#: Why an action was refused (codes of processing.NotAllowed and InvalidInput).
REFUSALS = {
    "not_assignee": _l("This request is assigned to a colleague: only they or a supervisor can act on it."),
    "reassign_supervisor": _l("Only a supervisor can give a request to someone else."),
    "assignee": _l("This request is already assigned to that person."),
    "electronic_delivery": _l("Electronic copies are delivered when the requester downloads them."),
    "tracking_number": _l("Enter the postal tracking number."),
    "reason": _l("Choose a reason."),
    "note": _l("Explain the reason: the requester will read it."),
}


@bp.after_request
def no_store(response):
    # Requesters' names, addresses and results' personal fields: never kept by a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global()
def copy_queue_overdue(staff) -> int:
    """Overdue requests of the units ``staff`` serves (the dashboard's warning)."""
    return processing.count_overdue(db.session, staff) if staff is not None else 0


@bp.app_context_processor
def labels():
    return {"copy_state_label": lambda state: str(STATE_LABELS.get(state, state)),
            "copy_kind_label": lambda kind: str(KIND_LABELS.get(kind, kind)),
            "reject_reason_label": lambda code: str(processing.REJECT_REASONS.get(code, code)),
            "copy_download_url": _download_url}


def _download_url(issued) -> str:
    from portal.copy_requests import signing  # pyhanko: loaded when a page needs it

    return signing.download_url(issued)


@bp.get("/")
def index():
    form = QueueFilterForm(request.args)
    filters = form.filters()
    queue = processing.list_queue(db.session, current_staff(), filters, per_page=PER_PAGE)
    args = {key: value for key, value in (("kind", filters.kind), ("assignee", filters.assignee),
                                          ("overdue", "y" if filters.overdue else "")) if value}
    return render_template("staff/copy_requests/index.html", queue=queue, form=form, args=args,
                           tab_labels=TAB_LABELS, assignee_labels=ASSIGNEE_LABELS)


@bp.get("/<reference>")
def detail(reference: str):
    staff = current_staff()
    copy_request = processing.open_request(db.session, staff, reference)
    db.session.commit()  # the access-log entry stands even if rendering fails
    return _detail_page(copy_request)


def _detail_page(copy_request, *, reject_form=None, deliver_form=None, status: int = 200):
    staff = current_staff()
    record = copy_request.record
    now = clock.now()
    actions = processing.allowed_actions(staff, copy_request)
    assign_form = AssignForm(seen_state=copy_request.state)
    if staff.role == StaffRole.SUPERVISOR:
        assign_form.assignee.choices = [SelectChoice(s.id, f"{s.full_name} ({s.username})")
                                        for s in processing.list_assignees(db.session, copy_request)]
        assign_form.assignee.data = copy_request.assigned_to_id or staff.id
    return render_template(
        "staff/copy_requests/detail.html", copy_request=copy_request, record=record,
        fields=public_view(record, staff), status_now=str(record.effective_status(now.date())), now=now,
        overdue=due_dates.is_overdue(copy_request, now), actions=actions, Action=Action,
        timeline=processing.timeline(db.session, copy_request),
        is_supervisor=staff.role == StaffRole.SUPERVISOR,
        assign_form=assign_form, issue_form=WorkflowForm(seen_state=copy_request.state),
        deliver_form=deliver_form or DeliverForm(seen_state=copy_request.state),
        reject_form=reject_form or RejectForm(seen_state=copy_request.state),
        by_post=copy_request.kind == CopyKind.PAPER_POST), status


def _back(copy_request):
    return redirect(url_for(".detail", reference=copy_request.reference))


def _invalid(copy_request, **forms):
    """A form that did not validate: an expired page goes back with a message, else the request's
    page again with the form's errors (one form, passed as deliver_form= or reject_form=)."""
    [form] = forms.values()
    if form.seen_state.errors or form.csrf_token.errors:
        flash(_("The form has expired. Please try again."), "warning")
        return _back(copy_request)
    return _detail_page(copy_request, status=400, **forms)


def _stale(form: WorkflowForm, copy_request) -> bool:
    """The page was opened before the request moved on (a colleague, or a second click)."""
    return form.seen_state.data != copy_request.state


def _act(copy_request, form, run, done_message):
    """Validate ``form``, run the service, commit; every refusal becomes a message on the request."""
    if _stale(form, copy_request):
        flash(ALREADY_PROCESSED, "warning")
        return _back(copy_request)
    try:
        run()
    except (processing.AlreadyProcessed, InvalidTransition):
        db.session.rollback()
        flash(ALREADY_PROCESSED, "warning")
        return _back(copy_request)
    except processing.NotAllowed as error:
        db.session.rollback()
        flash(REFUSALS.get(str(error), _("This action is not possible now.")), "warning")
        return _back(copy_request)
    except PortalError as error:
        # Issuing: no scan to copy (400) or no signing certificate for the unit (503), with a
        # message that says what to do; the workbench services raise a code from REFUSALS.
        # Nothing was written.
        if error.status not in (400, 503):
            raise
        db.session.rollback()
        flash(REFUSALS.get(str(error), str(error)) or _("This action is not possible now."), "warning")
        return _back(copy_request)
    outbox.commit(db.session)  # then the worker sends the mail (and reindexes) at once
    flash(done_message(), "info")
    return _back(copy_request)


@bp.post("/<reference>/assign")
def assign(reference: str):
    staff = current_staff()
    copy_request = processing.get_for_staff(db.session, staff, reference)
    form = AssignForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please try again."), "warning")
        return _back(copy_request)
    assignee = None
    if form.assignee.data and form.assignee.data != staff.id:
        assignee = next((s for s in processing.list_assignees(db.session, copy_request)
                         if s.id == form.assignee.data), None)
        if assignee is None:
            flash(_("Choose someone who serves this unit."), "warning")
            return _back(copy_request)

    def run():
        processing.assign(db.session, staff, copy_request, assignee)

    def message():
        if assignee is None:
            return _("Request %(ref)s is now assigned to you.", ref=copy_request.reference)
        return _("Request %(ref)s is now assigned to %(name)s.", ref=copy_request.reference,
                 name=assignee.full_name)

    return _act(copy_request, form, run, message)


@bp.post("/<reference>/issue")
def issue(reference: str):
    staff = current_staff()
    copy_request = processing.get_for_staff(db.session, staff, reference)
    form = WorkflowForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please try again."), "warning")
        return _back(copy_request)
    return _act(copy_request, form, lambda: processing.issue(db.session, staff, copy_request),
                lambda: _("The copy for request %(ref)s is signed and issued.", ref=copy_request.reference))


@bp.post("/<reference>/deliver")
def deliver(reference: str):
    staff = current_staff()
    copy_request = processing.get_for_staff(db.session, staff, reference)
    form = DeliverForm()
    if not form.validate_on_submit():
        return _invalid(copy_request, deliver_form=form)
    if copy_request.kind == CopyKind.PAPER_POST and not (form.tracking_number.data or "").strip() \
            and not _stale(form, copy_request):
        form.tracking_number.errors = [REFUSALS["tracking_number"]]
        return _detail_page(copy_request, deliver_form=form, status=400)

    def message():
        if copy_request.kind == CopyKind.PAPER_POST:
            return _("Request %(ref)s: the copy was posted (tracking number %(number)s).",
                     ref=copy_request.reference, number=copy_request.tracking_number)
        return _("Request %(ref)s: the copy was handed over at the desk.", ref=copy_request.reference)

    return _act(copy_request, form, lambda: processing.deliver(
        db.session, staff, copy_request, tracking_number=form.tracking_number.data or ""), message)


@bp.post("/<reference>/reject")
def reject(reference: str):
    staff = current_staff()
    copy_request = processing.get_for_staff(db.session, staff, reference)
    form = RejectForm()
    if not form.validate_on_submit():
        return _invalid(copy_request, reject_form=form)

    def run():
        processing.reject(db.session, staff, copy_request, form.reason.data, form.note.data or "")

    return _act(copy_request, form, run, lambda: _("Request %(ref)s was rejected; the requester is told why.",
                                                   ref=copy_request.reference))

