"""API keys: the admins' pages at /staff/api-keys, and a key's own usage at /api/v1/keys/me/usage.

The admin blueprint is guarded as a whole (staff login, admin role); each change is audited by the
service in the same transaction. A new or rotated key's secret is in the answer to the POST and
nowhere else (no redirect, no flash, no session): reloading the page cannot show it again.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, g, jsonify, render_template
from pydantic import BaseModel, Field

from portal.api_keys import quota, service
from portal.api_keys.access import api_access
from portal.api_keys.forms import IssueForm
from portal.errors import InvalidInput
from portal.extensions import db
from portal.identity import current_staff
from portal.identity.models import StaffRole
from portal.identity.staff_forms import ActionForm
from portal.identity.staff_guard import staff_guard
from portal.openapi import responses, spec

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
                           usage=quota.usage(db.session, key), scopes=service.SCOPES)


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


class UsageDay(BaseModel):
    day: date = Field(description="Ngày theo giờ Hà Nội / day, Hanoi time")
    requests: int = Field(ge=0, description="Số yêu cầu / requests that day")


class UsageAnswer(BaseModel):
    organization: str
    prefix: str = Field(description="8 ký tự đầu của khóa / the key's 8-character prefix")
    daily_quota: int = Field(ge=0, description="Số yêu cầu mỗi ngày / requests per Hanoi day")
    scopes: list[str]
    usage: list[UsageDay] = Field(description="30 ngày gần nhất có yêu cầu / the last 30 days that had any")


@api_bp.get("/me/usage")
@spec.validate(resp=responses(UsageAnswer, "HTTP_401", ok_description=(
    "Lượt dùng của khóa đang gọi / the calling key's usage")),
    tags=["keys"], skip_validation=True, operation_id="keyUsage")
@api_access(key_required=True)
def my_usage():
    """Lượt dùng khóa API / The calling key's usage

    Số yêu cầu mỗi ngày (giờ Hà Nội) của khóa gửi kèm; cần khóa / requests per Hanoi day of the key
    sent (Authorization: Bearer or X-API-Key); a key is required.
    """
    key = g.api_key
    return jsonify({"organization": key.organization, "prefix": key.prefix, "daily_quota": key.daily_quota,
                    "scopes": key.scopes,
                    "usage": [{"day": row.day.isoformat(), "requests": row.count}
                              for row in quota.usage(db.session, key)]})
