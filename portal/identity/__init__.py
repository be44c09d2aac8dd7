"""Logins: flask-login holds both kinds of account, told apart by the prefix of their id.

``citizen:<id>`` comes from the national SSO (oidc.py), ``staff:<id>`` from a local staff login
(staff.py). Views ask `current_citizen()` / `current_staff()`, which are None for the other kind.

The cookie names the account and carries the token of a session kept on the server
(sessions.py): the loader opens the account only while that session is open, so logout, an
admin, a lock or a deactivation end every copy of the cookie at once.
"""

from __future__ import annotations

from flask import Flask, current_app, flash, g, request, session
from flask_babel import gettext as _
from flask_login import current_user

from portal.db import commit_read
from portal.extensions import db, login_manager
from portal.identity import sessions
from portal.identity.models import Citizen, StaffUser

#: Set on `g` by the loader when it wrote the session's row (seen again, or ended).
_WRITTEN = "portal.login_session_written"


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    app.before_request(_resume_login)

    from portal.identity import oidc
    from portal.identity.views import bp as citizen_login_bp

    oidc.init_app(app)
    app.register_blueprint(citizen_login_bp)
    if app.config["DEV_IDP"]:  # create_app refused it outside development and testing
        from portal.identity import dev_idp_views

        dev_idp_views.init_app(app)


@login_manager.user_loader
def _load_account(account_id: str):
    """The account of this request's login session, or None when the session is over or unknown
    (a cookie without a server-side session opens nothing: nor would a remember-me cookie)."""
    kind, _sep, raw = account_id.partition(":")
    if not raw.isdecimal() or kind not in ("citizen", "staff"):
        return None
    policy = sessions.SessionPolicy.from_config(current_app.config, kind)
    resumed = sessions.resume(db.session, kind, int(raw), session.get(sessions.TOKEN_KEY), policy)
    if resumed.written:
        g.setdefault(_WRITTEN, True)
    return resumed.account


def _resume_login():
    """Before every other hook of a request: the login is checked (and its row written) first."""
    # flask-login and flask-wtf cache the user and the CSRF token on `g`, which lives as long as the
    # app context; one context can serve several requests (tests, CLI), so each request starts clean.
    g.pop("_login_user", None)
    g.pop("csrf_token", None)
    account_id = session.get("_user_id")
    if account_id is None or request.endpoint == "static":
        return  # anonymous: not one statement (the public page cache counts on it)
    # Loaded now, not at the view's first look: the commit below then carries nothing of the view's.
    user = current_user._get_current_object()
    if g.pop(_WRITTEN, False):
        commit_read(db.session)
    if not user.is_authenticated:
        # Over (logout elsewhere, idle, too old, ended by an admin): the cookie forgets it too, so
        # the next request costs no lookup.
        session.clear()
        if str(account_id).startswith("staff:"):
            flash(_("Your session has ended. Please log in again."), "info")


def open_login_session(account: Citizen | StaffUser) -> None:
    """After `login_user`: a new server-side session whose token goes into the (cleared) cookie."""
    session[sessions.TOKEN_KEY] = sessions.start(db.session, account,
                                                 user_agent=request.user_agent.string)


def end_login_session(reason: str = "logout") -> None:
    """At logout: the server-side session ends, whoever still holds a copy of the cookie."""
    sessions.end(db.session, session.pop(sessions.TOKEN_KEY, None), reason)


def current_citizen() -> Citizen | None:
    user = current_user._get_current_object() if current_user else None
    return user if isinstance(user, Citizen) else None


def current_staff() -> StaffUser | None:
    user = current_user._get_current_object() if current_user else None
    return user if isinstance(user, StaffUser) else None


def current_actor() -> Citizen | StaffUser | None:
    """Whoever is logged in, for services that take an actor (None when anonymous)."""
    return current_citizen() or current_staff()
