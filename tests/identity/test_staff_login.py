"""Staff login through the real pages: password, then a TOTP code; lockout; enrolment."""

from __future__ import annotations

from tests.identity.staff_builders import STAFF_PASSWORD, form_token

GENERIC_FAILURE = "Sai tên đăng nhập hoặc mật khẩu"


def post_password(client, username, password):
    return client.post("/staff/login", data={"username": username, "password": password,
                                             "csrf_token": form_token(client, "/staff/login")})


def post_code(client, code, url="/staff/login/otp"):
    return client.post(url, data={"code": code, "csrf_token": form_token(client, url)})


def test_login_with_password_and_code_reaches_the_dashboard(client, make_staff, login_staff):
    staff = make_staff(units=["phuong-cau-giay"])
    response = login_staff(client, staff)
    assert response.location.endswith("/staff/")
    html = client.get("/staff/").get_data(as_text=True)
    assert staff.full_name in html and "Phường Cầu Giấy" in html


def test_password_alone_does_not_log_in(client, make_staff):
    staff = make_staff()
    assert post_password(client, staff.username, STAFF_PASSWORD).location.endswith("/staff/login/otp")
    response = client.get("/staff/")
    assert response.status_code == 302 and "/staff/login" in response.location
