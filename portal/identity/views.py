"""Login of citizens and businesses through the national SSO: /login, /auth/callback, /logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    g,
    has_request_context,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import login_user, logout_user

from portal.extensions import db
from portal.identity import (
    citizens,
    current_actor,
    current_citizen,
    current_staff,
    end_login_session,
    oidc,
    open_login_session,
)
from portal.identity.forms import LogoutForm

bp = Blueprint("identity", __name__)

#: Session keys of this flow (authlib keeps its own state, nonce and PKCE verifier beside them).
NEXT_KEY = "login_next"
HINT_KEY = "oidc_id_token"


def safe_next(value: str | None) -> str | None:
    """``value`` when it is a path on this site, else None (never an open redirect).

    Browsers read "//host" and "/\\host" as another site and drop tabs and newlines before
    looking, so those are refused as well as anything with a scheme or a host.
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ord(c) < 32 or c in "\\\x7f" for c in value):
        return None
    parts = urlsplit(value)
    return None if parts.scheme or parts.netloc else value


def _refused(error: oidc.LoginRefused):
    # The reason and the error class only: claims (hence personal ids) are never logged.
    current_app.logger.warning("citizen login refused: %s", error)
    return render_template("identity/refused.html", reason=error.reason), error.status


@bp.get("/login")
def login():
    if current_citizen() is not None:
        return redirect(safe_next(request.args.get("next")) or url_for("records.mine"))
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    try:
        return oidc.authorize_redirect(url_for(".callback", _external=True))
    except oidc.LoginRefused as error:
        return _refused(error)


@bp.get("/auth/callback")
def callback():
    try:
        result = oidc.complete_login()
    except oidc.LoginRefused as error:
        return _refused(error)
    citizen = citizens.record_login(db.session, result.identity)
    next_path = session.pop(NEXT_KEY, None)
    end_login_session("replaced")  # a login of someone else in this browser, if any
    # A fresh session: nothing from before the login carries over (no session fixation).
    session.clear()
    g.pop("csrf_token", None)  # it was derived from the session just cleared
    login_user(citizen)
    open_login_session(citizen)
    db.session.commit()
    citizens.remember_login_level(result.identity)
    if result.id_token_hint:
        session[HINT_KEY] = result.id_token_hint
    return redirect(safe_next(next_path) or url_for("records.mine"))


@bp.post("/logout")
def logout():
    form = LogoutForm()
    if not form.validate_on_submit():
        return render_template("errors/error.html", status=400, message=None), 400
    citizen = current_citizen()
    hint = session.pop(HINT_KEY, None)
    end_login_session()  # every copy of the cookie is logged out, not just this browser's
    db.session.commit()
    logout_user()
    citizens.forget_login_level()
    session.pop(NEXT_KEY, None)
    if citizen is not None:
        url = oidc.logout_url(hint, url_for(".logged_out", _external=True))
        if url:
            return redirect(url)
    return redirect(url_for(".logged_out"))


@bp.get("/logged-out")
def logged_out():
    return render_template("identity/logged_out.html")


@bp.after_app_request
def keep_account_pages_private(response):
    """Once someone is logged in, every page carries their name: no shared cache may keep one."""
    if (response.mimetype == "text/html" and "Cache-Control" not in response.headers
            and current_actor() is not None):
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")
    return response


@bp.app_context_processor
def account_in_header():
    """The logged-in citizen, for the header's name and logout button (None when anonymous), and
    whether a staff member is logged in (their own menu has their name and logout)."""
    if not has_request_context():
        return {"header_citizen": None, "header_staff": False}
    return {"header_citizen": current_citizen(), "header_staff": current_staff() is not None}


#: Pages of the access log: nobody reads past this.
ACCESS_LOG_PAGES = 200


@bp.get("/my/access-log")
@citizens.require_loa("view_personal")
def access_log():
    """Who else looked at my personal results: staff, verifiers of my copies, lookups by number."""
    from portal.records import access_log as log

    raw = request.args.get("page", "")
    page = int(raw) if raw.isdecimal() and 1 <= int(raw) <= ACCESS_LOG_PAGES else 1
    entries = log.list_for_citizen(db.session, current_citizen(), page=page)
    response = make_response(render_template("identity/access_log.html", entries=entries))
    response.headers["Cache-Control"] = "private, no-store"
    return response
