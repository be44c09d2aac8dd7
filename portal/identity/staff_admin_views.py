"""Account administration at /staff/accounts: admins only (clerks and supervisors get 403).

Nested in the `staff` blueprint, so its staff-login guard runs first; this blueprint's own guard
then asks for the admin role. The services check the role again (an admin action from anywhere
else must be refused too) and write each change to the audit log in the same transaction.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.errors import InvalidInput
from portal.extensions import db
from portal.identity import current_staff, sessions
from portal.identity import staff as service
from portal.identity.models import StaffRole
from portal.identity.staff_forms import (
    ROLE_LABELS,
    AccountCreateForm,
    AccountEditForm,
    ActionForm,
    set_unit_choices,
)
from portal.identity.staff_guard import staff_guard

bp = Blueprint("accounts", __name__, url_prefix="/accounts")
bp.before_request(staff_guard(StaffRole.ADMIN))

PER_PAGE = 25

#: Why a password was refused (codes from `staff.password_problems`).
PASSWORD_MESSAGES = {
    "too_short": _l("The password must have at least %(n)s characters.", n=service.MIN_PASSWORD_LENGTH),
    "too_long": _l("The password is too long."),
    "contains_username": _l("The password must not contain the username."),
    "too_simple": _l("The password uses too few different characters."),
}
INPUT_MESSAGES = {
    "username_taken": _l("This username is already used by another account."),
    "bad_username": _l("Letters, digits, dots, hyphens and underscores only."),
    "own_admin_rights": _l("You cannot remove your own administrator role or deactivate your own account."),
}


@bp.app_context_processor
def account_helpers():
    return {"role_label": lambda role: ROLE_LABELS.get(role, role), "is_locked": service.is_locked}


def _page_arg() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isdecimal() and 0 < int(page) <= 10_000 else 1


@bp.get("")
def index():
    query = request.args.get("q", "")[:80]
    accounts = service.list_staff(db.session, current_staff(), query=query, page=_page_arg(),
                                  per_page=PER_PAGE)
    return render_template("staff/accounts/index.html", accounts=accounts, q=query)


@bp.route("/new", methods=["GET", "POST"])
def create():
    form = AccountCreateForm()
    set_unit_choices(form, service.list_current_units(db.session))
    if request.method == "GET":
        return render_template("staff/accounts/create.html", form=form)
    if not form.validate():
        return render_template("staff/accounts/create.html", form=form), 400
    generated = not form.password.data
    password = service.generate_password() if generated else form.password.data
    try:
        staff = service.create_staff(
            db.session, current_staff(), username=form.username.data, full_name=form.full_name.data,
            email=form.email.data or "", role=form.role.data,
            units=service.units_by_ids(db.session, form.units.data), password=password)
    except service.WeakPassword as error:
        db.session.rollback()
        form.password.errors = [PASSWORD_MESSAGES[str(error)]]
        return render_template("staff/accounts/create.html", form=form), 400
    except InvalidInput as error:
        db.session.rollback()
        form.username.errors = [INPUT_MESSAGES.get(str(error), _("Please check this field."))]
        return render_template("staff/accounts/create.html", form=form), 400
    db.session.commit()
    # Rendered, not redirected: the generated password is shown on this one response and stored nowhere.
    return render_template("staff/accounts/password.html", account=staff,
                           password=password if generated else None, created=True)


@bp.route("/<int:staff_id>", methods=["GET", "POST"])
def edit(staff_id: int):
    account = service.get_staff(db.session, current_staff(), staff_id)
    form = AccountEditForm(obj=account if request.method == "GET" else None)
    set_unit_choices(form, service.list_current_units(db.session))
    if request.method == "GET":
        form.units.data = [unit.id for unit in account.units]
        return _edit_page(account, form)
    if not form.validate():
        return _edit_page(account, form), 400
    try:
        service.update_staff(db.session, current_staff(), account, full_name=form.full_name.data,
                             email=form.email.data or "", role=form.role.data,
                             units=service.units_by_ids(db.session, form.units.data), active=form.active.data)
    except InvalidInput as error:
        db.session.rollback()
        form.role.errors = [INPUT_MESSAGES.get(str(error), _("Please check this field."))]
        return _edit_page(account, form), 400
    db.session.commit()
    flash(_("Account %(username)s saved.", username=account.username), "info")
    return redirect(url_for(".edit", staff_id=account.id))


def _edit_page(account, form):
    policy = sessions.SessionPolicy.from_config(current_app.config, "staff")
    return render_template("staff/accounts/edit.html", account=account, form=form, action_form=ActionForm(),
                           open_sessions=service.open_sessions(db.session, current_staff(), account, policy))


def _action(staff_id: int, apply, message: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    account = service.get_staff(db.session, current_staff(), staff_id)
    apply(db.session, current_staff(), account)
    db.session.commit()
    flash(message % {"username": account.username}, "info")
    return redirect(url_for(".edit", staff_id=account.id))


@bp.post("/<int:staff_id>/unlock")
def unlock(staff_id: int):
    return _action(staff_id, service.unlock, _("Account %(username)s unlocked."))


@bp.post("/<int:staff_id>/reset-otp")
def reset_otp(staff_id: int):
    return _action(staff_id, service.reset_second_factor,
                   _("Second factor of %(username)s reset: a new authenticator is set up at the next login."))


@bp.post("/<int:staff_id>/sessions/end")
def end_sessions(staff_id: int):
    """Log the account out everywhere: its cookies, wherever they are, open nothing any more."""
    return _action(staff_id, service.end_sessions, _("Every session of %(username)s has ended."))


@bp.post("/<int:staff_id>/password")
def reset_password(staff_id: int):
    """A new random password, shown once to the admin to hand over (forgotten password)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    account = service.get_staff(db.session, current_staff(), staff_id)
    password = service.generate_password()
    service.set_password(db.session, current_staff(), account, password)
    db.session.commit()
    return render_template("staff/accounts/password.html", account=account, password=password, created=False)
