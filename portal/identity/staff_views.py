"""Staff pages under /staff: login (password, then a TOTP code), dashboard, account administration.

Every route under /staff/ needs a staff login except the login steps themselves: the blueprint's
`before_request` guard decides, not a decorator each view must remember
(tests/identity/test_staff_routes_guarded.py checks every rule in the URL map). Blueprints of other
areas under /staff reuse the guard: ``bp.before_request(staff_guard())``.
"""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user

from portal.extensions import db
from portal.identity import current_staff, end_login_session, open_login_session
from portal.identity import staff as service
from portal.identity.models import StaffRole, StaffUser
from portal.identity.staff_admin_views import bp as accounts_bp
from portal.identity.staff_forms import ActionForm, CodeForm, LoginForm
from portal.identity.staff_guard import refusal
from portal.rate_limits import limit_posts

bp = Blueprint("staff", __name__, url_prefix="/staff")
# Nested once, at import: a blueprint takes no new children after its first registration.
bp.register_blueprint(accounts_bp)

#: The only endpoints under /staff open without a staff login: the steps of logging in.
PUBLIC_ENDPOINTS = frozenset({"staff.login", "staff.second_factor", "staff.enrol"})
#: Where the login steps keep who passed the password step (an id and a deadline; no secret).
PENDING_KEY = "staff_login"

CODE_FAILED = _l("This code is not valid or has already been used, or the account is temporarily locked. "
                 "Wait for the next code in your app and try again.")


@bp.before_request
def require_staff():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    return refusal()


@bp.after_request
def no_store(response):
    # Staff pages show personal data and one-time passwords: never kept by a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def staff_helpers():
    return {"current_staff": current_staff}


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path inside /staff on this site, else None (no open redirect)."""
    if not target or not target.startswith("/staff/") or target.startswith(("//", "/\\")):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def _policy() -> service.LoginPolicy:
    return service.LoginPolicy.from_config(current_app.config)


def _login_failed_message() -> str:
    # One message for every refused login: it must not tell whether the username exists.
    return _("Wrong username or password, or the account is temporarily locked. After %(n)s failed "
             "attempts an account is locked for %(minutes)s minutes.",
             n=current_app.config["STAFF_MAX_FAILURES"], minutes=current_app.config["STAFF_LOCKOUT_MINUTES"])


def _pending_staff() -> StaffUser | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        session.pop(PENDING_KEY, None)
        return None
    staff = db.session.get(StaffUser, pending.get("id"))
    return staff if staff is not None and staff.active else None


def _finish_login(staff: StaffUser, message: str | None = None):
    target = safe_next(session.get(PENDING_KEY, {}).get("next"))
    end_login_session("replaced")  # a login of someone else in this browser, if any
    # A fresh session for the logged-in staff member: nothing from before the login carries over
    # (a cookie planted before the login opens nothing: its token is not the new one).
    session.clear()
    g.pop("csrf_token", None)  # it was derived from the session just cleared
    login_user(staff, remember=False)
    open_login_session(staff)
    db.session.commit()
    if message:
        flash(message, "info")
    return redirect(target or url_for(".dashboard"))


@bp.route("/login", methods=["GET", "POST"])
@limit_posts("STAFF_LOGIN_RATE_LIMIT")
def login():
    if current_staff() is not None:
        return redirect(url_for(".dashboard"))
    form = LoginForm()
    if request.method == "GET":
        return render_template("staff/login.html", form=form)
    if not form.validate():
        return render_template("staff/login.html", form=form), 400
    try:
        staff = service.check_password(db.session, form.username.data, form.password.data, policy=_policy())
    except service.LoginFailed:
        db.session.commit()  # the failure count must outlive the refusal
        return render_template("staff/login.html", form=form, error=_login_failed_message())
    db.session.commit()
    minutes = current_app.config["STAFF_SECOND_FACTOR_MINUTES"]
    session[PENDING_KEY] = {"id": staff.id, "until": time.time() + 60 * minutes,
                            "next": safe_next(request.args.get("next"))}
    return redirect(url_for(".second_factor" if staff.totp_secret else ".enrol"))


@bp.route("/login/otp", methods=["GET", "POST"])
@limit_posts("STAFF_LOGIN_RATE_LIMIT")
def second_factor():
    staff = _pending_staff()
    if staff is None:
        flash(_("Your login took too long or was not started. Please enter your password again."), "info")
        return redirect(url_for(".login"))
    if not staff.totp_secret:
        return redirect(url_for(".enrol"))
    form = CodeForm()
    if request.method == "GET":
        return render_template("staff/second_factor.html", form=form)
    if not form.validate():
        return render_template("staff/second_factor.html", form=form), 400
    try:
        service.check_second_factor(db.session, staff, form.code.data, policy=_policy())
    except service.LoginFailed:
        db.session.commit()
        return render_template("staff/second_factor.html", form=form, error=CODE_FAILED)
    return _finish_login(staff)


@bp.route("/login/enrol", methods=["GET", "POST"])
@limit_posts("STAFF_LOGIN_RATE_LIMIT")
def enrol():
    """First login (or after an admin reset): show a new secret, confirm it with a code from the app."""
    staff = _pending_staff()
    if staff is None:
        flash(_("Your login took too long or was not started. Please enter your password again."), "info")
        return redirect(url_for(".login"))
    if staff.totp_secret:
        return redirect(url_for(".second_factor"))
    enrolment = service.enrolment(db.session, staff, issuer=current_app.config["STAFF_TOTP_ISSUER"])
    db.session.commit()  # the same secret on a reload: the person may have scanned it already
    form = CodeForm()
    if request.method == "GET":
        return render_template("staff/enrol.html", form=form, enrolment=enrolment)
    if not form.validate():
        return render_template("staff/enrol.html", form=form, enrolment=enrolment), 400
    try:
        service.confirm_enrolment(db.session, staff, form.code.data, policy=_policy())
    except service.LoginFailed:
        db.session.commit()
        return render_template("staff/enrol.html", form=form, enrolment=enrolment, error=CODE_FAILED)
    return _finish_login(staff, _("Your authenticator app is set up. Use a new code from it at every login."))


@bp.post("/logout")
def logout():
    if not ActionForm().validate_on_submit():
        abort(400)
    staff = current_staff()
    if staff is not None:
        service.record_logout(db.session, staff)
    end_login_session()  # every copy of the cookie is logged out, not just this browser's
    db.session.commit()
    logout_user()
    session.clear()
    g.pop("csrf_token", None)
    flash(_("You have logged out."), "info")
    return redirect(url_for(".login"))


@bp.get("/")
def dashboard():
    from portal.feedback import petition_processing, reports
    from portal.records.services import count_public_results

    staff = current_staff()
    units = sorted(staff.units, key=lambda unit: unit.name)
    work = {}
    if staff.role in (StaffRole.CLERK, StaffRole.SUPERVISOR):
        # The queues' own counts (one row fetched each): the dashboard says what waits where.
        petition_counts = petition_processing.list_petitions(db.session, staff, per_page=1).counts
        work = {"reports_open": reports.list_cases(db.session, staff, per_page=1).counts["open"],
                "petitions_received": petition_counts["received"],
                "petitions_overdue": petition_counts["overdue"]}
    return render_template("staff/dashboard.html", staff=staff, units=units,
                           counts=count_public_results(db.session), work=work,
                           is_admin=staff.role == StaffRole.ADMIN)
