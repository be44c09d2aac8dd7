"""API keys: the admins' pages at /staff/api-keys, and a key's own usage at /api/v1/keys/me/usage.

The admin blueprint is guarded as a whole (staff login, admin role); each change is audited by the
service in the same transaction. A new or rotated key's secret is in the answer to the POST and
nowhere else (no redirect, no flash, no session): reloading the page cannot show it again.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, render_template
from flask_babel import gettext as _

from portal.api_keys import service
from portal.api_keys.access import api_access
from portal.api_keys.forms import IssueForm
from portal.errors import InvalidInput
from portal.extensions import db
from portal.identity import current_staff
from portal.identity.models import StaffRole
from portal.identity.staff_forms import ActionForm
from portal.identity.staff_guard import staff_guard

admin_bp = Blueprint("api_keys", __name__, url_prefix="/staff/api-keys")
admin_bp.before_request(staff_guard(StaffRole.ADMIN))

api_bp = Blueprint("api_keys_api", __name__, url_prefix="/api/v1/keys")


def _actor() -> str:
    return current_staff().audit_name


@admin_bp.get("")
def index():
    return render_template("staff/api_keys/index.html", keys=service.all_keys(db.session))


@admin_bp.route("/new", methods=["GET", "POST"])
def issue():
    form = IssueForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("staff/api_keys/new.html", form=form), status
    try:
        issued = service.issue(db.session, _actor(), organization=form.organization.data,
                               contact_email=form.contact_email.data or "", scopes=form.scopes.data,
                               daily_quota=form.daily_quota.data)
    except InvalidInput as error:
        form.organization.errors = [str(error)]
        return render_template("staff/api_keys/new.html", form=form), 400
    db.session.commit()
    return _show(issued.key, secret=issued.secret), 201


def _show(key, secret: str | None = None):
    return render_template("staff/api_keys/show.html", key=key, secret=secret, action_form=ActionForm(),
                           usage=service.usage(db.session, key), scopes=service.SCOPES)


@admin_bp.get("/<int:key_id>")
def show(key_id: int):
    return _show(service.get(db.session, key_id))


@admin_bp.post("/<int:key_id>/rotate")
def rotate(key_id: int):
    key = service.get(db.session, key_id)
    if not ActionForm().validate_on_submit():
        return _show(key), 400
    issued = service.rotate(db.session, _actor(), key)
    db.session.commit()
    return _show(issued.key, secret=issued.secret)


@admin_bp.post("/<int:key_id>/revoke")
def revoke(key_id: int):
    key = service.get(db.session, key_id)
    if not ActionForm().validate_on_submit():
        return _show(key), 400
    service.revoke(db.session, _actor(), key)
    db.session.commit()
    return _show(key)


@api_bp.get("/me/usage")
@api_access()
def my_usage():
    """The calling key's requests per Hanoi day (last 30 days that had any); a key is required."""
    key = g.api_key
    if key is None:
        return jsonify({"error": 401, "message": _("An API key is required.")}), 401
    return jsonify({"organization": key.organization, "prefix": key.prefix, "daily_quota": key.daily_quota,
                    "scopes": key.scopes,
                    "usage": [{"day": row.day.isoformat(), "requests": row.count}
                              for row in service.usage(db.session, key)]})
