"""Citizens and businesses log in through a real OpenID provider; every refusal is a clear page."""

from __future__ import annotations

import logging
from datetime import date
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from portal.identity.models import Citizen, Subject
from portal.identity.views import safe_next
from tests.conftest import csrf_token
from tests.identity.oidc_fixtures import ACCOUNTS, POST_LOGOUT_URI

CITIZEN_ID = ACCOUNTS["citizen"]["claims"]["SoDinhDanh"]
ENTERPRISE = ACCOUNTS["business"]["claims"]["MaSoDoanhNghiep"]


def logged_in_name(client) -> str | None:
    html = client.get("/").get_data(as_text=True)
    if 'action="/logout"' not in html:
        return None
    return html.split('class="account-name">')[1].split("<")[0]


# --- the happy paths -------------------------------------------------------------------------

def test_the_header_offers_login_and_comes_back_here(client):
    html = client.get("/search?q=giay+phep").get_data(as_text=True)
    assert '<a href="/login?next=/search?q%3Dgiay%2Bphep">Đăng nhập</a>' in html
    assert "Đăng xuất" not in html


def test_login_starts_with_state_nonce_and_pkce(client, sso, oidc_provider):
    response = client.get("/login")
    assert response.status_code == 302
    target = urlsplit(response.location)
    endpoint = oidc_provider.discovery()["authorization_endpoint"]
    assert f"{target.scheme}://{target.netloc}{target.path}" == endpoint
    params = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert params["response_type"] == "code"
    assert params["client_id"] == oidc_provider.client_id
    assert params["redirect_uri"] == "http://localhost/auth/callback"
    assert "openid" in params["scope"].split()
    assert len(params["state"]) >= 20 and len(params["nonce"]) >= 20
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43


def test_citizen_sees_all_their_results_and_only_theirs(client, sso, own_record, db_session, caplog):
    personal = own_record(CITIZEN_ID, access="personal", doc_type_name="Trích lục khai sinh",
                          doc_number="77", doc_notation="TLKS", holder="Nguyễn Thị Lan", files=True,
                          summary="Đăng ký khai sinh cho cháu Nguyễn Minh An")
    public = own_record(CITIZEN_ID, doc_number="501")
    someone_else = own_record("001099000111", access="personal", summary="Kết quả của người khác")
    caplog.set_level(logging.DEBUG)

    response = sso.login(client, "citizen")

    assert response.status_code == 302 and response.location == "/my/results"
    html = client.get("/my/results").get_data(as_text=True)
    assert "Nguyễn Thị Lan" in html and "Đăng xuất" in html
    assert f"/results/{personal.source_id}" in html and f"/results/{public.source_id}" in html
    assert someone_else.source_id not in html
    assert "2 kết quả" in html
    # The account points at the subject their results already had: the personal id is stored once.
    citizen = db_session.scalar(select(Citizen))
    assert citizen.subject_id == personal.subject_id
    assert db_session.scalar(select(func.count()).select_from(Subject).where(
        Subject.id_number == CITIZEN_ID)) == 1
    assert citizen.subject.birth_date == date(1985, 3, 12)  # filled in from the SSO
    # Never in a URL of the whole redirect chain, nor in a log line.
    assert not [url for url in sso.visited if CITIZEN_ID in url]
    assert CITIZEN_ID not in caplog.text


def test_the_subject_opens_a_personal_result_with_every_field_and_its_scans(client, login_citizen,
                                                                            own_record):
    record = own_record(CITIZEN_ID, access="personal", doc_type_name="Trích lục khai sinh",
                        summary="Đăng ký khai sinh cho cháu Nguyễn Minh An", files=True)
    anonymous = client.get(f"/results/{record.source_id}").get_data(as_text=True)
    assert "Nguyễn Minh An" not in anonymous
    assert client.get(f"/results/{record.source_id}/files/1/pages/1.png").status_code == 404

    login_citizen(client, "citizen")

    response = client.get(f"/results/{record.source_id}")
    html = response.get_data(as_text=True)
    assert "Nguyễn Minh An" in html and record.number_display in html and CITIZEN_ID in html
    assert response.headers["Cache-Control"] == "private, no-store"
    assert f"/results/{record.source_id}/files/1/pages/1.png" in html
    preview = client.get(f"/results/{record.source_id}/files/1/pages/1.png?w=240")
    preview.close()
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    assert preview.headers["Cache-Control"] == "private, no-store"
    page = client.get(f"/results/{record.source_id}/files/1/pages/2")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"


def test_pages_of_a_logged_in_citizen_are_never_kept_by_shared_caches(client, login_citizen, own_record):
    record = own_record("001099000111")  # a public result of someone else
    # anonymous: the same page for everyone, kept a short while (portal/http_cache.py)
    assert client.get(f"/results/{record.source_id}").headers["Cache-Control"].startswith("public, max-age=")
    login_citizen(client, "citizen")
    response = client.get(f"/results/{record.source_id}")
    assert response.headers["Cache-Control"] == "private, no-store"  # the header names the citizen
    assert "Cookie" in response.headers["Vary"]


def test_someone_else_sees_a_personal_result_as_anonymous(client, login_citizen, own_record):
    record = own_record("001099000111", access="personal", summary="Kết quả của người khác", files=True)
    login_citizen(client, "citizen")
    html = client.get(f"/results/{record.source_id}").get_data(as_text=True)
    assert "Kết quả của người khác" not in html
    assert client.get(f"/results/{record.source_id}/files/1/pages/1.png").status_code == 404


def test_business_representative_sees_the_organizations_results(client, sso, own_record, db_session):
    org_personal = own_record(ENTERPRISE, kind="organization", access="personal",
                              summary="Giấy chứng nhận đủ điều kiện an toàn thực phẩm", files=True)
    org_public = own_record(ENTERPRISE, kind="organization", doc_number="502")
    # The representative's own personal results belong to their own login, not to the company's.
    mine = own_record(ACCOUNTS["business"]["claims"]["SoDinhDanh"], access="personal")

    assert sso.login(client, "business").status_code == 302

    html = client.get("/my/results").get_data(as_text=True)
    assert "Công ty TNHH Hoa Sen" in html and "Lê Minh Châu" in html
    assert org_personal.source_id in html and org_public.source_id in html
    assert mine.source_id not in html
    detail = client.get(f"/results/{org_personal.source_id}").get_data(as_text=True)
    assert "an toàn thực phẩm" in detail
    citizen = db_session.scalar(select(Citizen))
    assert citizen.account_type == "organization"
    assert citizen.organization_subject_id == org_personal.subject_id and citizen.subject_id is None


def test_first_login_without_results_gets_an_empty_page_and_a_subject(client, login_citizen, db_session):
    login_citizen(client, "citizen")
    html = client.get("/my/results").get_data(as_text=True)
    assert "Chưa có kết quả nào" in html
    subject = db_session.scalar(select(Subject).where(Subject.id_number == CITIZEN_ID))
    assert subject.kind == "individual" and subject.name == "Nguyễn Thị Lan"
    assert subject.birth_date == date(1985, 3, 12)


def test_my_results_are_paginated(client, login_citizen, own_record, app):
    for n in range(23):
        own_record(CITIZEN_ID, doc_number=str(600 + n), issued_date=date(2020, 1, 1 + n))
    login_citizen(client, "citizen")
    first = client.get("/my/results").get_data(as_text=True)
    assert "23 kết quả" in first and "trang 1/2" in first
    second = client.get("/my/results?page=2").get_data(as_text=True)
    assert second.count('class="hit"') == 3
    assert client.get("/my/results?page=99").status_code == 200  # back to page 1, not an error


def test_login_comes_back_to_a_same_site_next(client, sso, login_citizen, own_record):
    record = own_record(CITIZEN_ID, access="personal")
    response = login_citizen(client, "citizen", next=f"/results/{record.source_id}")
    assert response.location == f"/results/{record.source_id}"


def test_login_ignores_a_next_on_another_site(client, sso):
    response = sso.login(client, "citizen", next="//evil.example/phish")
    assert response.location == "/my/results"


@pytest.mark.parametrize("value,expected", [
    ("/results/HN-1?page=2", "/results/HN-1?page=2"),
    ("/", "/"),
    ("//evil.example", None),
    ("/\\evil.example", None),
    ("https://evil.example/", None),
    ("javascript:alert(1)", None),
    ("/\t/evil.example", None),
    ("evil.example", None),
    ("", None),
    (None, None),
])
def test_next_must_be_a_path_on_this_site(value, expected):
    assert safe_next(value) == expected


def test_my_results_sends_anonymous_visitors_to_login_and_back(client, sso):
    response = client.get("/my/results?page=2")
    assert response.status_code == 302
    assert response.location == "/login?next=/my/results?page%3D2"


# --- refusals: each a clear page, never a 500, never logged in ----------------------------

def assert_refused(client, response, status: int, title: str):
    html = response.get_data(as_text=True)
    assert response.status_code == status, html[:800]
    assert title in html
    assert logged_in_name(client) is None
    assert client.get("/my/results").status_code == 302


def test_tampered_state_is_refused(client, sso):
    start = client.get("/login")
    callback = sso.to_callback(start.location, "citizen")
    parts = urlsplit(callback)
    query = parts.query.replace("state=", "state=x")
    response = client.get(f"{parts.path}?{query}")
    assert_refused(client, response, 400, "Không thể hoàn tất đăng nhập")


def test_a_callback_replayed_after_use_is_refused(client, sso):
    start = client.get("/login")
    callback = urlsplit(sso.to_callback(start.location, "citizen"))
    assert client.get(f"{callback.path}?{callback.query}").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    response = client.get(f"{callback.path}?{callback.query}")
    assert_refused(client, response, 400, "Không thể hoàn tất đăng nhập")


@pytest.mark.parametrize("tamper", ["nonce", "expired", "audience", "issuer", "signature"])
def test_an_id_token_that_fails_a_check_is_refused(client, sso, tamper):
    response = sso.login(client, "citizen", tamper=tamper)
    assert_refused(client, response, 401, "Không thể xác minh đăng nhập")


@pytest.mark.parametrize("iss", [None, "https://sso.example.invalid"])
def test_an_authorization_response_without_the_provider_s_iss_is_refused(client, sso, oidc_provider, iss):
    """RFC 9207: the provider advertises that it names itself, so an answer without `iss` (or with
    another issuer) may come from another provider (mix-up attack). Issue 13, item 7."""
    assert oidc_provider.discovery()["authorization_response_iss_parameter_supported"] is True
    callback = urlsplit(sso.to_callback(client.get("/login").location, "citizen"))
    params = [(k, v) for k, v in parse_qsl(callback.query) if k != "iss"]
    assert len(params) < len(parse_qsl(callback.query))  # the provider did send it
    if iss:
        params.append(("iss", iss))
    response = client.get(f"{callback.path}?{urlencode(params)}")
    assert_refused(client, response, 401, "Không thể xác minh đăng nhập")


def test_the_person_cancelling_at_the_provider_gets_a_page(client, sso):
    response = sso.login(client, "citizen", deny=True)
    assert_refused(client, response, 401, "Đăng nhập đã bị hủy")


def test_an_account_without_personal_id_is_refused(client, sso, db_session):
    response = sso.login(client, "no-personal-id")
    assert_refused(client, response, 401, "Tài khoản của bạn thiếu thông tin")
    assert db_session.scalar(select(func.count()).select_from(Citizen)) == 0


def test_an_unreachable_provider_gives_a_page_not_a_500(client, app):
    app.config.update(OIDC_ISSUER="http://127.0.0.1:9", OIDC_CLIENT_ID="portal", OIDC_CLIENT_SECRET="x")
    response = client.get("/login")
    assert response.status_code == 503
    assert "Chức năng đăng nhập tạm thời chưa sẵn sàng" in response.get_data(as_text=True)


def test_login_without_any_provider_configured_gives_a_page(client):
    response = client.get("/login")
    assert response.status_code == 503
    assert "Chức năng đăng nhập tạm thời chưa sẵn sàng" in response.get_data(as_text=True)


def test_claim_names_come_from_config(client, sso, app, db_session):
    # A provider naming the personal id differently: one mapping entry changes, the rest stay.
    app.config["OIDC_CLAIMS"] = {**app.config["OIDC_CLAIMS"], "id_number": "HoVaTen"}
    response = sso.login(client, "citizen")
    assert_refused(client, response, 401, "Tài khoản của bạn thiếu thông tin")


# --- level of assurance ----------------------------------------------------------------------

def test_a_level_1_account_is_told_its_level_is_too_low(client, login_citizen, own_record):
    record = own_record(ACCOUNTS["citizen-level-1"]["claims"]["SoDinhDanh"], access="personal",
                        summary="Nội dung riêng của người dân")
    login_citizen(client, "citizen-level-1")
    response = client.get("/my/results")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Cần tài khoản định danh điện tử mức độ cao hơn" in html
    assert "mức độ 2" in html and "mức độ 1" in html
    # The result page does not show it either: a level 1 login reads like a visitor.
    detail = client.get(f"/results/{record.source_id}").get_data(as_text=True)
    assert "Nội dung riêng của người dân" not in detail


def test_the_level_needed_is_configurable(client, login_citizen, app):
    app.config["REQUIRED_LOA"] = {"view_personal": 1}
    login_citizen(client, "citizen-level-1")
    assert client.get("/my/results").status_code == 200


# --- logout ----------------------------------------------------------------------------------

def test_logout_needs_the_csrf_token(client, login_citizen):
    login_citizen(client, "citizen")
    assert client.post("/logout").status_code == 400
    assert logged_in_name(client) == "Nguyễn Thị Lan"


def test_logout_ends_the_portal_and_the_provider_sessions(client, sso, login_citizen, oidc_provider):
    login_citizen(client, "citizen")
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/my/results")})

    assert response.status_code == 302
    assert logged_in_name(client) is None
    assert client.get("/my/results").status_code == 302
    target = urlsplit(response.location)
    endpoint = oidc_provider.discovery()["end_session_endpoint"]
    assert f"{target.scheme}://{target.netloc}{target.path}" == endpoint
    params = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert params["post_logout_redirect_uri"] == POST_LOGOUT_URI
    assert params["id_token_hint"].count(".") == 2
    # The provider asks to confirm (its own page), then comes back to the portal.
    page = sso.http.get(response.location, timeout=10)
    form_action = page.text.split('action="')[1].split('"')[0]
    xsrf = page.text.split('name="xsrf" value="')[1].split('"')[0]
    confirm = form_action if form_action.startswith("http") else oidc_provider.issuer + form_action
    done = sso.http.post(confirm, data={"xsrf": xsrf, "logout": "yes"}, allow_redirects=False, timeout=10)
    assert done.status_code == 303 and done.headers["Location"].startswith(POST_LOGOUT_URI)
    assert "Bạn đã đăng xuất" in client.get("/logged-out").get_data(as_text=True)
    # The provider's session is gone too: the next login asks who you are again.
    start = client.get("/login")
    with pytest.raises(AssertionError, match="asked for a login"):
        sso.to_callback(start.location, account=None)


def test_without_logout_the_provider_session_logs_straight_back_in(client, sso, login_citizen):
    # The counterpart of the test above: proves that test's last check can fail.
    login_citizen(client, "citizen")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})  # portal only: not followed
    start = client.get("/login")
    callback = urlsplit(sso.to_callback(start.location, account=None))
    assert client.get(f"{callback.path}?{callback.query}").status_code == 302
    assert logged_in_name(client) == "Nguyễn Thị Lan"


def test_configured_claim_names_merge_over_the_national_sso_defaults(make_app):
    app = make_app(OIDC_CLAIMS={"id_number": "cccd"})
    assert app.config["OIDC_CLAIMS"]["id_number"] == "cccd"
    assert app.config["OIDC_CLAIMS"]["name"] == "HoVaTen" and app.config["OIDC_CLAIMS"]["loa"] == "acr"
    assert make_app().config["OIDC_CLAIMS"]["id_number"] == "SoDinhDanh"  # nothing leaks to the next app


def test_the_level_is_the_login_s_not_the_account_s(sso, own_record, db_session):
    """Security test, item 1: a session keeps the level of its own login, whatever the same person's
    other logins write onto the shared account row."""
    from sqlalchemy import select

    from portal.identity.models import Citizen

    strong = ACCOUNTS["citizen"]
    weak = ACCOUNTS["citizen-level-1"]
    own_record(strong["claims"]["SoDinhDanh"], access="personal", summary="Nội dung riêng")
    from flask import current_app, g

    high, low = current_app.test_client(), current_app.test_client()

    def my_results(client):
        g.pop("_login_user", None)  # one app context serves both clients here: no user carried over
        return client.get("/my/results")

    from tests.identity.oidc_fixtures import SsoDriver

    assert sso.login(high, "citizen").status_code == 302
    g.pop("_login_user", None)
    assert SsoDriver(sso.provider).login(low, "citizen-level-1").status_code == 302  # another browser
    assert my_results(high).status_code == 200
    assert my_results(low).status_code == 403

    # The same people log in elsewhere at the other level: their rows change, these sessions do not.
    for account, level in ((strong, 1), (weak, 2)):
        citizen = db_session.scalar(select(Citizen).where(Citizen.sub == account["sub"]))
        citizen.loa = level
    db_session.commit()
    assert my_results(high).status_code == 200  # not downgraded by a level-1 login elsewhere
    low_page = my_results(low)
    assert low_page.status_code == 403  # not upgraded by a level-2 login elsewhere
    assert "mức độ 1" in low_page.get_data(as_text=True)  # and told the level of this login
