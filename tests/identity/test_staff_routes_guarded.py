"""Structural: every route under /staff/ refuses anyone without a staff login, and the account
pages refuse staff who are not admins. New staff routes are covered without being listed here."""

from __future__ import annotations

import pytest
from flask_login.utils import _create_identifier

from portal.extensions import db
from portal.identity import sessions
from portal.identity.models import Citizen
from tests.identity.staff_builders import form_token

#: The login steps themselves are the only pages open to everyone.
OPEN = {"staff.login", "staff.second_factor", "staff.enrol"}
USER_AGENT = "guard-test"


def staff_requests(app):
    """(method, path, endpoint) for every rule under /staff/, URL arguments filled with 1."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff/"):
            continue
        path = adapter.build(rule.endpoint, {arg: 1 for arg in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path, rule.endpoint))
    return found


def send(client, method, path):
    # A valid CSRF token on every POST: the guard, not the CSRF check, must be what refuses.
    page = "/staff/" if client.get("/staff/login").status_code == 302 else "/staff/login"
    data = {"csrf_token": form_token(client, page)} if method != "GET" else None
    return client.open(path, method=method, data=data)


def assert_refused(response, where):
    assert response.status_code == 302, where
    assert response.location.startswith("/staff/login"), where


def test_the_url_map_has_staff_routes_to_check(app):
    endpoints = {endpoint for _, _, endpoint in staff_requests(app)}
    assert {"staff.dashboard", "staff.logout", "staff.accounts.index", "staff.accounts.edit"} <= endpoints


def test_anonymous_visitors_are_refused_everywhere_under_staff(app):
    client = app.test_client()
    for method, path, endpoint in staff_requests(app):
        if endpoint in OPEN:
            continue
        assert_refused(send(client, method, path), f"{method} {path}")


def test_a_logged_in_citizen_is_refused_everywhere_under_staff(app):
    citizen = Citizen(issuer="https://sso.example.vn", sub="guard-citizen", name="Công dân thử")
    db.session.add(citizen)
    db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": USER_AGENT}):
        identifier = _create_identifier()
    token = sessions.start(db.session, citizen)  # a real login session on the server, as at login
    db.session.commit()
    with client.session_transaction() as session:
        session.update({"_user_id": citizen.get_id(), "_fresh": True, "_id": identifier,
                        sessions.TOKEN_KEY: token})
    assert client.get("/my/results").status_code != 302  # logged in as the citizen: a real test
    for method, path, endpoint in staff_requests(app):
        if endpoint in OPEN:
            continue
        assert_refused(send(client, method, path), f"{method} {path}")
        with client.session_transaction() as session:  # still logged in as the citizen: a real test
            assert session.get("_user_id") == citizen.get_id()


@pytest.mark.parametrize("role", ["clerk", "supervisor", "operator"])
def test_account_pages_refuse_staff_who_are_not_admins(app, make_staff, login_staff, role):
    client = app.test_client()
    login_staff(client, make_staff(role=role, units=["phuong-cau-giay"]))
    assert client.get("/staff/").status_code == 200
    for method, path, endpoint in staff_requests(app):
        if endpoint.startswith("staff.accounts."):
            assert send(client, method, path).status_code == 403, f"{method} {path}"


def test_an_admin_reaches_the_account_pages(app, make_staff, login_staff):
    client = app.test_client()
    admin = make_staff(role="admin")
    login_staff(client, admin)
    assert client.get("/staff/accounts").status_code == 200
    assert client.get(f"/staff/accounts/{admin.id}").status_code == 200


def test_a_staff_login_on_one_client_is_not_seen_by_another(app, make_staff, login_staff):
    logged_in, anonymous = app.test_client(), app.test_client()
    login_staff(logged_in, make_staff(role="admin"))
    assert logged_in.get("/staff/").status_code == 200
    assert_refused(anonymous.get("/staff/"), "anonymous after a login elsewhere")
