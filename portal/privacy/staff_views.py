"""The staff side, under /staff/privacy: the requests about personal data with their legal
deadlines (overdue and soon due marked), one request, and its answer or refusal (mailed to the
person when they left an address; audited).

Supervisors and administrators handle them: an objection or a restriction concerns the portal's
processing as a whole, not one unit's cases, and a correction is also a problem-report case the
clerks of the result's unit handle as usual.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal import clock, outbox
from portal.errors import InvalidInput
from portal.extensions import db
from portal.identity import current_staff
from portal.identity.models import StaffRole
from portal.identity.staff_guard import staff_guard
from portal.privacy import services
from portal.privacy.forms import AnswerForm

bp = Blueprint("privacy_staff", __name__, url_prefix="/staff/privacy")
#: Who handles rights requests (see the module's docstring).
ROLES = (StaffRole.SUPERVISOR.value, StaffRole.ADMIN.value)
bp.before_request(staff_guard(*ROLES))

PER_PAGE = 25


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdecimal() and len(raw) < 6 and int(raw) >= 1 else 1


@bp.get("/")
def index():
    tab = request.args.get("tab", "open")
    tab = tab if tab in services.TABS else "open"
    now = clock.now()
    found = services.list_for_staff(db.session, tab, page=_page_arg(), per_page=PER_PAGE, now=now)
    return render_template("staff/privacy/index.html", found=found, tab=tab, now=now,
                           urgency=lambda item: services.urgency(item, now))


def _detail_page(item, form=None, status: int = 200):
    now = clock.now()
    deadline = services.deadline_table()[item.kind]
    return render_template("staff/privacy/detail.html", item=item, form=form or AnswerForm(), now=now,
                           urgency=services.urgency(item, now), deadline=deadline), status


@bp.get("/<reference>")
def detail(reference: str):
    item = services.get_for_staff(db.session, current_staff(), reference)
    db.session.commit()  # the audit entry stands even if rendering fails
    return _detail_page(item)


@bp.post("/<reference>/answer")
def answer(reference: str):
    staff = current_staff()
    item = services.get_for_staff(db.session, staff, reference)
    form = AnswerForm()
    refuse = request.form.get("decision") == "refuse"
    if not form.validate_on_submit():
        db.session.rollback()
        flash(_("The form has expired. Please try again."), "warning")
        return redirect(url_for(".detail", reference=item.reference))
    try:
        services.answer(db.session, staff, item, form.note.data or "", refuse=refuse)
    except InvalidInput as refusal:
        db.session.rollback()
        item = services.get_for_staff(db.session, staff, reference)
        db.session.commit()
        form.note.errors = [str(refusal)]
        return _detail_page(item, form, 400)
    outbox.commit(db.session)
    flash(_("Request %(ref)s was answered.", ref=item.reference) if not refuse
          else _("Request %(ref)s was refused.", ref=item.reference), "info")
    return redirect(url_for(".index"))
