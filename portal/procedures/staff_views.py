"""Uncatalogued procedures at /staff/procedures: administrators see the procedures imports created
from codes the portal did not know, and complete them (a catalogue export does it in bulk:
`flask refdata procedures FILE`)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal import outbox
from portal.errors import InvalidInput
from portal.extensions import db
from portal.identity import current_staff
from portal.identity.models import StaffRole
from portal.identity.staff_guard import staff_guard
from portal.procedures import services
from portal.procedures.staff_forms import ProcedureForm
from portal.records import index_queue

bp = Blueprint("procedures_staff", __name__, url_prefix="/staff/procedures")
bp.before_request(staff_guard(StaffRole.ADMIN))

PER_PAGE = 25


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdecimal() and len(raw) < 6 and int(raw) > 0 else 1


@bp.get("/")
def index():
    procedures = services.list_uncatalogued(db.session, current_staff(), page=_page_arg(), per_page=PER_PAGE)
    return render_template("staff/procedures/index.html", procedures=procedures)


@bp.route("/<code>", methods=["GET", "POST"])
def edit(code: str):
    staff = current_staff()
    procedure = services.get_uncatalogued(db.session, staff, code)
    form = ProcedureForm(obj=procedure if request.method == "GET" else None)
    if request.method == "GET":
        form.level.data = procedure.level or "commune"
        return render_template("staff/procedures/edit.html", procedure=procedure, form=form)
    if not form.validate():  # only the CSRF token can fail here
        return render_template("staff/procedures/edit.html", procedure=procedure, form=form,
                               error=_("The form has expired. Please try again.")), 400
    try:
        renamed = services.complete(
            db.session, staff, procedure, name=form.name.data or "", field=form.field.data or "",
            level=form.level.data or "", result_doc_type=form.result_doc_type.data or "",
            notation=form.notation.data or "", access=form.access.data or "")
    except InvalidInput as problem:
        db.session.rollback()
        getattr(form, str(problem)).errors = [_("Please check this field.")]
        return render_template("staff/procedures/edit.html", procedure=procedure, form=form,
                               error=_("Please correct the answers marked below.")), 400
    if renamed:
        index_queue.enqueue_procedure(db.session, procedure.code)
    outbox.commit(db.session)
    flash(_("Procedure %(code)s is catalogued.", code=procedure.code), "info")
    return redirect(url_for(".index"))
