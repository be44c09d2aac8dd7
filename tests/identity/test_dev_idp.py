"""The development identity provider: a real OpenID provider the unchanged login code talks to over HTTP."""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from portal import create_app

PERSON_ID = "001089004321"


def test_refuses_to_start_in_production(tmp_path):
    with pytest.raises(RuntimeError, match="PORTAL_DEV_IDP"):
        create_app({"DATA_DIR": str(tmp_path), "ENV": "production", "SECRET_KEY": "s" * 32, "DEV_IDP": True})


def test_is_off_unless_asked_for(client):
    assert client.get("/dev-idp/.well-known/openid-configuration").status_code == 404


@pytest.fixture
def served(make_app):
    """The portal with its dev IdP, served by a real threaded HTTP server (like gunicorn's threads)."""
    app = make_app(DEV_IDP=True, ENV="development", TESTING=False, SECRET_KEY="k" * 32,
                   SESSION_COOKIE_SECURE=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Served(f"http://127.0.0.1:{server.server_port}", app)
    server.shutdown()
    thread.join(5)


class Served(str):
    """The server's base URL, with the app behind it."""

    def __new__(cls, url: str, app):
        served = super().__new__(cls, url)
        served.app = app
        return served


@pytest.fixture
def demo(make_record, db_session):
    person = make_record(access="personal", holder="Đỗ Thu Hà", summary="Đăng ký kết hôn của bà Đỗ Thu Hà",
                         id_number=PERSON_ID, files=True)
    person.subject.kind = "individual"
    business = make_record(holder="Công ty Cổ phần Sông Hồng", id_number="0109876543",
                           summary="Đăng ký kinh doanh Sông Hồng")
    db_session.commit()
    return person, business


def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def choose(browser, portal: str, name: str, loa: str = "2", action: str = "login"):
    """Start at the portal's /login, pick ``name`` on the dev IdP's page; returns the final response."""
    page = browser.get(f"{portal}/login", timeout=10)
    assert page.url.startswith(f"{portal}/dev-idp/authorize?")
    option = re.search(r'name="subject" value="(\d+)"[^>]*>\s*<strong>' + re.escape(name), page.text)
    subject = option.group(1)
    return browser.post(f"{portal}/dev-idp/authorize", timeout=20,
                        data={**form_fields(page.text), "subject": subject, "loa": loa, "action": action})


def test_choosing_a_demo_person_logs_them_in_through_the_real_flow(served, demo):
    person, business = demo
    browser = requests.Session()
    page = browser.get(f"{served}/login", timeout=10)
    assert "MÔI TRƯỜNG THỬ NGHIỆM / development only" in page.text
    assert "Đỗ Thu Hà" in page.text and "Công ty Cổ phần Sông Hồng" in page.text
    assert PERSON_ID not in page.text and PERSON_ID not in page.url  # masked on the page, never in a URL

    done = choose(browser, served, "Đỗ Thu Hà")

    assert done.status_code == 200 and done.url == f"{served}/my/results"
    assert person.source_id in done.text and "Đỗ Thu Hà" in done.text
    assert not [r.url for r in done.history if PERSON_ID in r.url]
    detail = browser.get(f"{served}/results/{person.source_id}", timeout=10)
    assert "Đăng ký kết hôn" in detail.text
    scan = browser.get(f"{served}/results/{person.source_id}/files/1/pages/1.png", timeout=10)
    assert scan.status_code == 200 and scan.headers["Content-Type"] == "image/png"


def test_a_demo_business_sees_its_results(served, demo):
    _, business = demo
    browser = requests.Session()
    done = choose(browser, served, "Công ty Cổ phần Sông Hồng")
    assert done.url == f"{served}/my/results"
    assert business.source_id in done.text and "Người đại diện (thử nghiệm)" in done.text


def test_level_1_and_cancel_are_offered(served, demo):
    browser = requests.Session()
    low = choose(browser, served, "Đỗ Thu Hà", loa="1")
    assert low.status_code == 403 and "mức độ 2" in low.text
    cancelled = choose(requests.Session(), served, "Đỗ Thu Hà", action="cancel")
    assert cancelled.status_code == 401 and "Đăng nhập đã bị hủy" in cancelled.text


def test_logout_goes_through_end_session_and_back(served, demo):
    browser = requests.Session()
    page = choose(browser, served, "Đỗ Thu Hà")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    out = browser.post(f"{served}/logout", data={"csrf_token": token}, allow_redirects=False, timeout=10)
    target = urlsplit(out.headers["Location"])
    assert target.path == "/dev-idp/end-session" and "id_token_hint" in parse_qs(target.query)
    final = browser.get(out.headers["Location"], timeout=10)
    assert final.url.startswith(f"{served}/logged-out") and "Bạn đã đăng xuất" in final.text
    assert browser.get(f"{served}/my/results", allow_redirects=False, timeout=10).status_code == 302


def test_the_token_endpoint_checks_client_pkce_and_single_use(served, demo):
    from portal.identity import dev_idp

    browser = requests.Session()
    page = browser.get(f"{served}/login", timeout=10)
    fields = form_fields(page.text)
    subject = re.search(r'name="subject" value="(\d+)"', page.text).group(1)
    answer = browser.post(f"{served}/dev-idp/authorize", data={**fields, "subject": subject, "loa": "2"},
                          allow_redirects=False, timeout=10)
    callback = answer.headers["Location"]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    token_url = f"{served}/dev-idp/token"
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": fields["redirect_uri"],
                "code_verifier": "x" * 43}
    wrong_client = requests.post(token_url, data=exchange, auth=("portal-dev", "wrong"), timeout=10)
    assert wrong_client.status_code == 401
    secret = dev_idp.client_secret(served.app)
    wrong_pkce = requests.post(token_url, data=exchange, auth=("portal-dev", secret), timeout=10)
    assert wrong_pkce.status_code == 400 and wrong_pkce.json()["error"] == "invalid_grant"
    # The code is still unused (a failed exchange does not spend it): the portal's callback logs in.
    assert browser.get(callback, timeout=20).url == f"{served}/my/results"
    # The same code again, through a fresh login state: the provider refuses a spent code.
    replayed = requests.Session()
    replayed.get(f"{served}/login", timeout=10)
    assert replayed.get(callback, timeout=20).status_code == 400
    spent = requests.post(token_url, data=exchange, auth=("portal-dev", secret), timeout=10)
    assert spent.status_code == 400
