"""Sessions kept on the server (security test, issue 13, item 3): a cookie is only a key to them.

Before, the signed cookie was the whole session: a copy saved before logout kept opening staff
pages and a citizen's requests, and nothing ended a staff member's sessions but the cookie's own
expiry. Every test here failed then. "A saved cookie" is a second test client given the first
one's session cookie, as a thief (or a shared computer's next user) would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_login.utils import encode_cookie
from sqlalchemy import event, select

from portal.audit import AuditEntry
from portal.db import utcnow
from portal.extensions import db
from portal.identity import sessions
from portal.identity.models import Citizen, LoginSession
from tests.conftest import csrf_token
from tests.copy_requests.conftest import make_citizen, make_request, record_of  # noqa: F401  (fixtures)
from tests.identity.staff_builders import form_token


class SessionClock:
    """The time sessions are checked against, standing still until a test moves it."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> SessionClock:
    clock = SessionClock()
    monkeypatch.setattr(sessions, "clock", clock)
    return clock


def english(app):
    """A new browser, reading pages in English (the catalog is checked elsewhere)."""
    client = app.test_client()
    client.set_cookie("lang", "en")
    return client


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie, taken now."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None, "no session cookie to copy"
    thief = app.test_client()
    thief.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return thief


def staff_refused(response) -> bool:
    return response.status_code == 302 and response.location.startswith("/staff/login")


def citizen_refused(response) -> bool:
    return response.status_code == 302 and response.location.startswith("/login?next=")


def ended_reason(staff) -> str | None:
    return db.session.scalar(select(LoginSession.ended_reason).where(LoginSession.staff_id == staff.id))


def log_out_staff(client):
    response = client.post("/staff/logout", data={"csrf_token": form_token(client, "/staff/")})
    assert response.status_code == 302 and response.location.endswith("/staff/login")


@pytest.fixture
def copy_request(app, login_citizen, make_request, db_session):  # noqa: F811  (the fixture)
    """A copy request of the "citizen" SSO account about a personal result of theirs (the account
    is made by a first login, in a browser of its own)."""
    login_citizen(app.test_client(), "citizen")
    citizen = db_session.scalar(select(Citizen))
    request, _code = make_request(citizen=citizen)
    return request


# --- logout ends every copy of the cookie --------------------------------------------------------

def test_a_clerk_s_cookie_saved_before_logout_opens_nothing_after(app, client, make_staff, login_staff,
                                                                  copy_request):
    clerk = make_staff(role="clerk", units=[copy_request.unit])
    login_staff(client, clerk)
    page = f"/staff/copy-requests/{copy_request.reference}"
    assert client.get(page).status_code == 200
    saved = copy_of(app, client)
    assert saved.get("/staff/").status_code == 200  # the copy works while the login lasts

    log_out_staff(client)

    assert staff_refused(saved.get("/staff/"))
    assert staff_refused(saved.get(page))
    assert staff_refused(client.get(page))
    assert ended_reason(clerk) == "logout"


def test_a_citizen_s_cookie_saved_before_logout_opens_nothing_after(app, client, login_citizen, copy_request):
    login_citizen(client, "citizen")
    page = f"/copy-requests/{copy_request.reference}"
    assert client.get(page).status_code == 200
    saved = copy_of(app, client)
    assert saved.get("/my/results").status_code == 200

    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/my/results")})
    assert response.status_code == 302

    assert citizen_refused(saved.get("/my/results"))
    assert citizen_refused(saved.get(page))
    assert 'action="/logout"' not in saved.get("/").get_data(as_text=True)  # the header: nobody


def test_logging_out_in_one_browser_leaves_the_other_logins_of_the_person(app, make_staff, login_staff):
    clerk = make_staff()
    office, home = app.test_client(), app.test_client()
    login_staff(office, clerk)
    login_staff(home, clerk)
    log_out_staff(office)
    assert home.get("/staff/").status_code == 200
    assert staff_refused(office.get("/staff/"))


def test_a_cookie_naming_an_account_without_a_server_session_opens_nothing(app, client, make_staff):
    """What a remember-me cookie would be (the portal sets none), or a cookie made before the
    upgrade: it names the account, signed with the app's key, but no session on the server."""
    clerk = make_staff()
    client.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), encode_cookie(clerk.get_id()))
    assert staff_refused(client.get("/staff/"))
    with client.session_transaction() as cookie:
        cookie.update({"_user_id": clerk.get_id(), "_fresh": True})
    assert staff_refused(client.get("/staff/"))


def test_no_remember_me_cookie_is_ever_set(app, client, make_staff, login_staff, login_citizen):
    response = login_staff(client, make_staff())
    assert "remember_token" not in response.headers.get("Set-Cookie", "")
    response = login_citizen(app.test_client(), "citizen")
    assert "remember_token" not in response.headers.get("Set-Cookie", "")
    assert db.session.scalar(select(LoginSession.token_hash).limit(1)) not in response.headers["Set-Cookie"]


# --- idle timeout and absolute lifetime ----------------------------------------------------------

def test_a_staff_session_ends_after_15_idle_minutes(app, make_staff, login_staff, clock):
    client = english(app)
    login_staff(client, make_staff())
    for _ in range(3):  # busy: 14 minutes between requests, three times, is never idle
        clock.advance(minutes=14)
        assert client.get("/staff/").status_code == 200
    clock.advance(minutes=15)
    response = client.get("/staff/")
    assert staff_refused(response)
    login_page = client.get(response.location).get_data(as_text=True)
    assert "Your session has ended. Please log in again." in login_page


def test_the_idle_timeout_and_lifetime_are_settings(make_app, make_staff, login_staff, clock):
    app = make_app(STAFF_IDLE_MINUTES=5)
    defaults = make_app().config
    assert (defaults["STAFF_IDLE_MINUTES"], defaults["STAFF_SESSION_HOURS"]) == (15, 12)
    with app.app_context():
        client = app.test_client()
        login_staff(client, make_staff())
        clock.advance(minutes=4)
        assert client.get("/staff/").status_code == 200
        clock.advance(minutes=5, seconds=1)
        assert staff_refused(client.get("/staff/"))


def test_a_busy_staff_session_still_ends_at_its_absolute_lifetime(make_app, make_staff, login_staff, clock):
    app = make_app(STAFF_SESSION_HOURS=1)
    with app.app_context():
        client = app.test_client()
        login_staff(client, make_staff())
        for _ in range(5):
            clock.advance(minutes=11)
            assert client.get("/staff/").status_code == 200
        clock.advance(minutes=5)  # 60 minutes since the login, 5 since the last request
        assert staff_refused(client.get("/staff/"))


def test_a_citizen_session_ends_when_idle_and_at_its_lifetime(app, client, login_citizen, clock):
    login_citizen(client, "citizen")
    clock.advance(minutes=29)
    assert client.get("/my/results").status_code == 200
    clock.advance(minutes=30)
    assert citizen_refused(client.get("/my/results"))

    login_citizen(client, "citizen")
    for _ in range(24 * 2 - 1):  # a request every 30 minutes for 23.5 hours
        clock.advance(minutes=29, seconds=30)
        assert client.get("/my/results").status_code == 200
    clock.advance(minutes=30)
    assert citizen_refused(client.get("/my/results"))


# --- admins, locks, deactivation -----------------------------------------------------------------

def test_an_admin_ends_a_clerk_s_sessions_everywhere(app, make_staff, login_staff, copy_request):
    clerk = make_staff(role="clerk", units=[copy_request.unit], username="can.bo.an")
    # All in English: the clients share the test's app context, where flask-babel keeps the locale.
    desk, laptop, admin = (english(app) for _ in range(3))
    login_staff(desk, clerk)
    login_staff(laptop, clerk)
    login_staff(admin, make_staff(role="admin"))
    edit = f"/staff/accounts/{clerk.id}"
    assert admin.get(edit).get_data(as_text=True).count("Werkzeug/") == 2  # both open sessions, listed

    response = admin.post(f"{edit}/sessions/end", data={"csrf_token": form_token(admin, edit)})

    assert response.status_code == 302
    for browser in (desk, laptop):
        assert staff_refused(browser.get("/staff/"))
        assert staff_refused(browser.get(f"/staff/copy-requests/{copy_request.reference}"))
    page = admin.get(edit).get_data(as_text=True)
    assert "Every session of can.bo.an has ended." in page and "No open session." in page
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.end_sessions"))
    assert entry.object_ref == f"staff:{clerk.id}" and entry.details["sessions"] == 2
    assert login_staff(desk, clerk).location.endswith("/staff/")  # logging in again works


def test_ending_sessions_needs_an_admin_and_the_csrf_token(app, make_staff, login_staff):
    clerk = make_staff()
    browser, admin = app.test_client(), app.test_client()
    login_staff(browser, clerk)
    login_staff(admin, make_staff(role="admin"))
    assert admin.post(f"/staff/accounts/{clerk.id}/sessions/end").status_code == 400
    colleague = app.test_client()
    login_staff(colleague, make_staff())
    assert colleague.post(f"/staff/accounts/{clerk.id}/sessions/end",
                          data={"csrf_token": form_token(colleague, "/staff/")}).status_code == 403
    assert browser.get("/staff/").status_code == 200


def test_a_lock_ends_the_account_s_sessions_at_once(app, client, make_staff, login_staff):
    clerk = make_staff()
    login_staff(client, clerk)
    guesser = app.test_client()
    for _ in range(5):
        guesser.post("/staff/login", data={"username": clerk.username, "password": "wrong-password-123",
                                           "csrf_token": form_token(guesser, "/staff/login")})
    assert staff_refused(client.get("/staff/"))
    assert ended_reason(clerk) == "locked"


def test_a_locked_account_is_refused_even_with_its_session_open(client, make_staff, login_staff):
    """The loader checks the account too, not only the session row (a lock written elsewhere)."""
    clerk = make_staff()
    login_staff(client, clerk)
    clerk.locked_until = utcnow() + timedelta(minutes=15)
    db.session.commit()
    assert staff_refused(client.get("/staff/"))


@pytest.mark.parametrize("action, reason", [("deactivate", "deactivated"), ("password", "password_reset"),
                                            ("reset-otp", "otp_reset")])
def test_deactivating_or_resetting_an_account_ends_its_sessions(app, make_staff, login_staff, action, reason):
    clerk = make_staff(units=["phuong-cau-giay"])
    browser, admin = app.test_client(), app.test_client()
    login_staff(browser, clerk)
    login_staff(admin, make_staff(role="admin"))
    edit = f"/staff/accounts/{clerk.id}"
    token = form_token(admin, edit)
    if action == "deactivate":
        data = {"full_name": clerk.full_name, "email": clerk.email, "role": "clerk",
                "units": [u.id for u in clerk.units], "csrf_token": token}  # "active" unticked
        assert admin.post(edit, data=data).status_code == 302
    else:
        assert admin.post(f"{edit}/{action}", data={"csrf_token": token}).status_code in (200, 302)
    assert staff_refused(browser.get("/staff/"))
    assert ended_reason(clerk) == reason


# --- what it costs -------------------------------------------------------------------------------

def test_a_logged_in_request_looks_its_session_up_in_its_account_query(client, login_citizen, clock):
    login_citizen(client, "citizen")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def session_statements(url) -> list[str]:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return [s for s in statements if "login_session" in s or "FROM citizen" in s]

    [lookup] = session_statements("/my/results")
    assert "JOIN login_session" in lookup and "FROM citizen" in lookup  # one statement: both
    clock.advance(seconds=59)
    assert len(session_statements("/my/results")) == 1  # seen a minute ago: nothing written
    clock.advance(seconds=2)
    written = session_statements("/my/results")
    assert len(written) == 2 and written[1].startswith("UPDATE login_session SET last_seen_at")


def test_tokens_are_stored_hashed_and_old_rows_are_purged(client, make_staff, login_staff, clock):
    login_staff(client, make_staff())
    [row] = db.session.scalars(select(LoginSession))
    with client.session_transaction() as cookie:
        token = cookie[sessions.TOKEN_KEY]
    assert row.token_hash == sessions.hash_token(token) != token and token not in row.token_hash
    assert sessions.purge(db.session, timedelta(days=30), now=clock.now + timedelta(days=29)) == 0
    assert sessions.purge(db.session, timedelta(days=30), now=clock.now + timedelta(days=31)) == 1
    db.session.commit()


def test_the_worker_purges_old_sessions_every_hour():
    from portal import worker

    periodic = [task.__name__ for task in worker.huey._registry._periodic_tasks]
    assert "identity.purge_login_sessions" in periodic

