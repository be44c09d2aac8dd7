"""/staff/admin/fixity: the fixity runs and the files each found missing or altered (admins only).

Read-only: the checks run from `flask files audit` and the nightly slice, never from a page.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from portal.extensions import db
from portal.fixity import services
from portal.fixity.models import FixityRun
from portal.identity.models import StaffRole
from portal.identity.staff_guard import staff_guard

bp = Blueprint("fixity", __name__, url_prefix="/staff/admin/fixity")
bp.before_request(staff_guard(StaffRole.ADMIN))


@bp.get("")
def index():
    runs = services.list_runs(db.session)
    return render_template("staff/fixity/index.html", runs=runs, speed=services.speed)


@bp.get("/<int:run_id>")
def detail(run_id: int):
    run = db.session.get(FixityRun, run_id) or abort(404)
    return render_template("staff/fixity/detail.html", run=run, speed=services.speed)
