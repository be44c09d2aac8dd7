"""Logins: flask-login holds both kinds of account, told apart by the prefix of their id.

``citizen:<id>`` comes from the national SSO (oidc.py), ``staff:<id>`` from a local staff login
(staff.py). Views ask `current_citizen()` / `current_staff()`, which are None for the other kind.
"""

from __future__ import annotations

from flask import Flask
from flask_login import current_user

from portal.extensions import db, login_manager
from portal.identity.models import Citizen, StaffUser


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"

    from portal.identity import oidc
    from portal.identity.views import bp as citizen_login_bp

    oidc.init_app(app)
    app.register_blueprint(citizen_login_bp)
    if app.config["DEV_IDP"]:  # create_app refused it outside development and testing
        from portal.identity import dev_idp_views

        dev_idp_views.init_app(app)


@login_manager.user_loader
def _load_account(account_id: str):
    kind, _, raw = account_id.partition(":")
    if not raw.isdecimal():
        return None
    model = {"citizen": Citizen, "staff": StaffUser}.get(kind)
    account = db.session.get(model, int(raw)) if model else None
    if isinstance(account, StaffUser) and not account.active:
        return None
    return account


def current_citizen() -> Citizen | None:
    user = current_user._get_current_object() if current_user else None
    return user if isinstance(user, Citizen) else None


def current_staff() -> StaffUser | None:
    user = current_user._get_current_object() if current_user else None
    return user if isinstance(user, StaffUser) else None


def current_actor() -> Citizen | StaffUser | None:
    """Whoever is logged in, for services that take an actor (None when anonymous)."""
    return current_citizen() or current_staff()
