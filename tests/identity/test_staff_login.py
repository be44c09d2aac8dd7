"""Staff login through the real pages: password, then a TOTP code; lockout; enrolment; logout."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity import staff as service
from tests.identity.staff_builders import STAFF_PASSWORD, form_token, unused_code

FAILED = "Wrong username or password, or the account is temporarily locked."
CODE_FAILED = "This code is not valid or has already been used"


@pytest.fixture
def client(app):
    client = app.test_client()
    client.set_cookie("lang", "en")  # assert on the English msgids; the catalog is checked elsewhere
    return client


def post_password(client, username, password, url="/staff/login"):
    return client.post(url, data={"username": username, "password": password,
                                  "csrf_token": form_token(client, "/staff/login")})


def post_code(client, code, url="/staff/login/otp"):
    return client.post(url, data={"code": code, "csrf_token": form_token(client, url)})


def error_text(response) -> str:
    match = re.search(r'role="alert"><p>(.*?)</p>', response.get_data(as_text=True), re.S)
    return match.group(1) if match else ""


def test_login_with_password_and_code_reaches_the_dashboard(client, make_staff, login_staff):
    staff = make_staff(units=["phuong-cau-giay"])
    response = login_staff(client, staff)
    assert response.location.endswith("/staff/")
    html = client.get("/staff/").get_data(as_text=True)
    assert staff.full_name in html and "Phường Cầu Giấy" in html
    db.session.refresh(staff)
    assert staff.last_login_at is not None and staff.failed_logins == 0


def test_public_pages_show_a_logged_in_officer_their_workspace_not_the_citizen_login(client, make_staff,
                                                                                     login_staff):
    def account_nav() -> str:
        return client.get("/").get_data(as_text=True).split('class="account-nav"')[1].split("</nav>")[0]

    assert 'href="/login' in account_nav()
    login_staff(client, make_staff())
    assert 'href="/login' not in account_nav()
    assert 'href="/staff/"' in account_nav()  # their workspace


def test_password_alone_does_not_log_in(client, make_staff):
    staff = make_staff()
    assert post_password(client, staff.username, STAFF_PASSWORD).location.endswith("/staff/login/otp")
    response = client.get("/staff/")
    assert response.status_code == 302 and response.location.startswith("/staff/login")


def test_passwords_are_stored_as_argon2id_hashes_only(make_staff):
    staff = make_staff(password="một mật khẩu rất dài 2025")
    assert staff.password_hash.startswith("$argon2id$")
    assert "mật khẩu" not in staff.password_hash and "2025" not in staff.password_hash.split("$")[-1]
    assert service.hash_password("một mật khẩu rất dài 2025") != staff.password_hash  # salted


def test_wrong_password_and_unknown_username_get_the_same_answer(client, make_staff):
    staff = make_staff()
    wrong = post_password(client, staff.username, "not-the-password-at-all")
    unknown = post_password(client, "no.such.person", "not-the-password-at-all")
    assert wrong.status_code == unknown.status_code == 200
    assert FAILED in error_text(wrong)
    assert error_text(wrong) == error_text(unknown)
    assert client.get("/staff/").status_code == 302


def test_five_failures_lock_the_account_even_for_the_right_password(client, make_staff):
    staff = make_staff()
    for _ in range(5):
        post_password(client, staff.username, "wrong-password-123")
    response = post_password(client, staff.username, STAFF_PASSWORD)
    assert FAILED in error_text(response)  # the same words: a lock does not confirm the username
    assert "5 failed attempts" in error_text(response) and "15 minutes" in error_text(response)
    db.session.refresh(staff)
    assert staff.locked_until is not None and service.is_locked(staff)


def test_the_lock_expires_after_the_configured_minutes(db_session, make_staff):
    staff = make_staff()
    policy = service.LoginPolicy(max_failures=3, lockout=timedelta(minutes=15))
    start = datetime.now(UTC)
    for _ in range(3):
        with pytest.raises(service.LoginFailed):
            service.check_password(db_session, staff.username, "wrong-password-123", policy=policy, now=start)
    with pytest.raises(service.LoginFailed):
        service.check_password(db_session, staff.username, STAFF_PASSWORD, policy=policy,
                               now=start + timedelta(minutes=14))
    assert service.check_password(db_session, staff.username, STAFF_PASSWORD, policy=policy,
                                  now=start + timedelta(minutes=16)) is staff


def test_lockout_settings_come_from_the_config(make_app, make_staff):
    app = make_app(STAFF_MAX_FAILURES=2, STAFF_LOCKOUT_MINUTES=60)
    with app.app_context():
        staff = make_staff()
        client = app.test_client()
        client.set_cookie("lang", "en")
        for _ in range(2):
            post_password(client, staff.username, "wrong-password-123")
        response = post_password(client, staff.username, STAFF_PASSWORD)
        assert "2 failed attempts" in error_text(response) and "60 minutes" in error_text(response)
        db.session.refresh(staff)
        assert staff.locked_until > datetime.now(UTC) + timedelta(minutes=59)


def test_wrong_codes_count_towards_the_lockout(client, make_staff, totp_clock):
    staff = make_staff()
    post_password(client, staff.username, STAFF_PASSWORD)
    for _ in range(5):
        assert CODE_FAILED in error_text(post_code(client, "000000"))
    response = post_code(client, unused_code(staff, totp_clock))
    assert CODE_FAILED in error_text(response)
    assert client.get("/staff/").status_code == 302
    db.session.refresh(staff)
    assert service.is_locked(staff)


def test_a_code_is_never_accepted_twice(client, make_staff, login_staff, totp_clock):
    staff = make_staff()
    post_password(client, staff.username, STAFF_PASSWORD)
    code = unused_code(staff, totp_clock)
    assert post_code(client, code).status_code == 302
    client.post("/staff/logout", data={"csrf_token": form_token(client, "/staff/")})
    post_password(client, staff.username, STAFF_PASSWORD)
    replay = post_code(client, code)
    assert CODE_FAILED in error_text(replay)
    assert client.get("/staff/").status_code == 302
    # A step later the code is still inside the drift window (±1 step): only the rule refuses it.
    totp_clock.now += timedelta(seconds=30)
    assert CODE_FAILED in error_text(post_code(client, code))
    assert post_code(client, unused_code(staff, totp_clock)).status_code == 302  # a fresh code still works


def test_an_older_code_is_refused_after_a_newer_one(db_session, make_staff):
    staff = make_staff()
    totp = pyotp.TOTP(staff.totp_secret)
    now = datetime.now(UTC)
    policy = service.LoginPolicy()
    step = totp.timecode(now)
    service.check_second_factor(db_session, staff, totp.generate_otp(step + 1), policy=policy, now=now)
    with pytest.raises(service.LoginFailed):
        service.check_second_factor(db_session, staff, totp.generate_otp(step), policy=policy, now=now)
    assert staff.totp_last_step == step + 1


def test_first_login_enrols_the_authenticator(client, make_staff):
    staff = make_staff(enrolled=False)
    response = post_password(client, staff.username, STAFF_PASSWORD)
    assert response.location.endswith("/staff/login/enrol")
    assert client.get("/staff/login/otp").location.endswith("/staff/login/enrol")
    html = client.get("/staff/login/enrol").get_data(as_text=True)
    db.session.refresh(staff)
    secret = staff.totp_pending_secret
    assert secret and staff.totp_secret is None
    assert "<svg" in html and 'class="segno"' in html and "style=" not in html
    assert " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in html
    reloaded = client.get("/staff/login/enrol").get_data(as_text=True)
    assert secret in reloaded.replace(" ", "")  # the same secret on a reload
    assert CODE_FAILED in error_text(post_code(client, "123456", "/staff/login/enrol"))
    response = post_code(client, pyotp.TOTP(secret).now(), "/staff/login/enrol")
    assert response.status_code == 302 and response.location.endswith("/staff/")
    assert "authenticator app is set up" in client.get("/staff/").get_data(as_text=True)
    db.session.refresh(staff)
    assert staff.totp_secret == secret and staff.totp_pending_secret is None


def test_enrolment_uri_names_the_issuer_and_the_account(db_session, make_staff):
    staff = make_staff(enrolled=False)
    enrolment = service.enrolment(db_session, staff, issuer="Cổng Hà Nội")
    parsed = pyotp.parse_uri(enrolment.uri)
    assert (parsed.secret, parsed.issuer, parsed.name) == (enrolment.secret, "Cổng Hà Nội", staff.username)


def test_the_second_step_expires(make_app, make_staff):
    app = make_app(STAFF_SECOND_FACTOR_MINUTES=0)
    with app.app_context():
        staff = make_staff()
        client = app.test_client()
        post_password(client, staff.username, STAFF_PASSWORD)
        response = client.get("/staff/login/otp")
        assert response.status_code == 302 and response.location.endswith("/staff/login")


def test_a_deactivated_account_cannot_log_in(client, make_staff):
    staff = make_staff(active=False)
    assert FAILED in error_text(post_password(client, staff.username, STAFF_PASSWORD))


def test_login_returns_to_the_page_asked_for_but_never_off_site(client, make_staff, login_staff, totp_clock):
    admin = make_staff(role="admin")
    response = client.get("/staff/accounts?q=x")
    assert response.location == "/staff/login?next=/staff/accounts?q%3Dx"
    post = client.post(response.location, data={"username": admin.username, "password": STAFF_PASSWORD,
                                                 "csrf_token": form_token(client, "/staff/login")})
    assert post.location.endswith("/staff/login/otp")
    assert post_code(client, unused_code(admin, totp_clock)).location == "/staff/accounts?q=x"
    assert service_safe_next("//evil.example/staff/") is None
    assert service_safe_next("https://evil.example/staff/") is None
    assert service_safe_next("/staff/\\evil") is None
    assert service_safe_next("/search?q=x") is None


def service_safe_next(target):
    from portal.identity.staff_views import safe_next

    return safe_next(target)


def test_logout_ends_the_staff_session(client, make_staff, login_staff):
    login_staff(client, make_staff())
    assert client.get("/staff/").status_code == 200
    response = client.post("/staff/logout", data={"csrf_token": form_token(client, "/staff/")})
    assert response.location.endswith("/staff/login")
    assert "You have logged out." in client.get("/staff/login").get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


def test_logout_needs_the_csrf_token(client, make_staff, login_staff):
    login_staff(client, make_staff())
    assert client.post("/staff/logout").status_code == 400
    assert client.get("/staff/").status_code == 200


def test_staff_pages_are_not_cached(client):
    assert client.get("/staff/login").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("password, problem", [
    ("short-pw", "too_short"),
    ("xx-nguyen.van.an-2025", "contains_username"),
    ("aaaaaaaaaaaaaaa", "too_simple"),
])
def test_password_policy(password, problem):
    assert problem in service.password_problems(password, "Nguyen.Van.An")
    assert service.password_problems("a long and fine passphrase", "nguyen.van.an") == []
    assert service.password_problems(service.generate_password(), "nguyen.van.an") == []


def test_logins_locks_and_logouts_are_on_the_audit_chain_but_single_failures_are_not(
        client, make_staff, login_staff):
    from portal.audit import AuditEntry

    def trail() -> list[tuple[str, str, str]]:
        return [(e.actor, e.action, e.object_ref) for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action.like("staff.%")).order_by(AuditEntry.id))]

    staff = make_staff()
    me = f"staff:{staff.id}"
    for _ in range(4):
        post_password(client, staff.username, "wrong-password-123")
    assert trail() == []  # four guesses: counted on the account, not chained
    post_password(client, staff.username, "wrong-password-123")
    assert trail() == [("system", "staff.locked", me)]

    other = make_staff()
    login_staff(client, other)
    client.post("/staff/logout", data={"csrf_token": form_token(client, "/staff/")})
    assert trail()[1:] == [(other.audit_name, "staff.login", f"staff:{other.id}"),
                           (other.audit_name, "staff.logout", f"staff:{other.id}")]
