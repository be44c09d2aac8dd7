"""Possible duplicates at /staff/duplicates: pairs of results an import flagged as perhaps one
result digitized twice, for the clerks and supervisors of the issuing units (and administrators)
to mark "same result" (merge) or "different". Another unit's pair is a 404."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from portal import casework, clock, outbox
from portal.errors import InvalidInput
from portal.extensions import db
from portal.identity import current_staff
from portal.identity.models import StaffRole
from portal.identity.staff_guard import staff_guard
from portal.records import duplicates
from portal.records.duplicate_forms import DecisionForm, SameForm
from portal.records.services import public_view

bp = Blueprint("duplicates_staff", __name__, url_prefix="/staff/duplicates")
bp.before_request(staff_guard(*casework.WORKING_ROLES, StaffRole.ADMIN))

PER_PAGE = 25


@bp.after_request
def no_store(response):
    # Both results' personal fields: never kept by a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdecimal() and len(raw) < 6 and int(raw) > 0 else 1


@bp.get("/")
def index():
    state = request.args.get("state", "open")
    flags = duplicates.list_flags(db.session, current_staff(), state=state, page=_page_arg(), per_page=PER_PAGE)
    state = state if state in duplicates.STATES else "open"
    return render_template("staff/duplicates/index.html", flags=flags, state=state)


def _detail_page(flag, same_form=None, status: int = 200):
    staff = current_staff()
    if same_form is None:
        same_form = SameForm(keep=flag.other.source_id)
    same_form.keep.choices = [SelectChoice(r.source_id, r.source_id) for r in (flag.other, flag.record)]
    return render_template("staff/duplicates/detail.html", flag=flag, same_form=same_form,
                           decision_form=DecisionForm(), today=clock.today(),
                           fields={r.id: public_view(r, staff) for r in (flag.record, flag.other)}), status


@bp.get("/<int:flag_id>")
def detail(flag_id: int):
    return _detail_page(duplicates.get_flag(db.session, current_staff(), flag_id))


def _decide(flag_id: int, form, action):
    staff = current_staff()
    flag = duplicates.get_flag(db.session, staff, flag_id)
    if not form.validate_on_submit():
        flash(_("The form has expired. Please try again."), "warning")
        return redirect(url_for(".detail", flag_id=flag.id))
    try:
        message = action(staff, flag, form)
    except casework.AlreadyProcessed:
        db.session.rollback()
        flash(_("A colleague decided this pair meanwhile."), "warning")
        return redirect(url_for(".detail", flag_id=flag_id))
    except InvalidInput:
        db.session.rollback()
        flash(_("This decision is not possible any more: one of the results was merged with another one meanwhile."),
              "warning")
        return redirect(url_for(".detail", flag_id=flag_id))
    outbox.commit(db.session)  # then the index worker takes the merged result out of search
    flash(message, "info")
    return redirect(url_for(".index"))


@bp.post("/<int:flag_id>/same")
def same(flag_id: int):
    def act(staff, flag, form):
        kept = duplicates.mark_same(db.session, staff, flag, form.keep.data or "")
        return _("Merged: %(kept)s is kept; the other source id now leads to it.", kept=kept.source_id)
    return _decide(flag_id, SameForm(), act)


@bp.post("/<int:flag_id>/different")
def different(flag_id: int):
    def act(staff, flag, form):
        duplicates.mark_different(db.session, staff, flag)
        return _("Marked as two different results: this pair will not be flagged again.")
    return _decide(flag_id, DecisionForm(), act)


@bp.post("/<int:flag_id>/undo")
def undo(flag_id: int):
    def act(staff, flag, form):
        duplicates.undo(db.session, staff, flag)
        return _("The decision was undone: the pair is open again.")
    return _decide(flag_id, DecisionForm(), act)
