"""What an API client expects of every answer (issue 15, item 4): CORS on public reads only,
Deprecation/Sunset when a version is being retired, and a request id it can quote, which is also
on the portal's log lines of that request."""

from __future__ import annotations

import logging

import pytest

from portal.api_keys import service

ORIGIN = {"Origin": "https://mot-cua.bacninh.gov.vn"}


def test_public_reads_allow_any_origin_without_credentials(client):
    answer = client.get("/api/v1/search?q=giay", headers=ORIGIN)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in answer.headers
    exposed = answer.headers["Access-Control-Expose-Headers"]
    assert "RateLimit-Remaining" in exposed and "X-Request-ID" in exposed and "ETag" in exposed
    # An error of a read is readable too (a page elsewhere can show why).
    missing = client.get("/api/v1/results/khong-co", headers=ORIGIN)
    assert missing.status_code == 404 and missing.headers["Access-Control-Allow-Origin"] == "*"


def test_a_preflight_allows_reads_with_a_key_and_nothing_else(client):
    preflight = client.options("/api/v1/search", headers={
        **ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-api-key"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert "X-API-Key" in preflight.headers["Access-Control-Allow-Headers"]
    assert int(preflight.headers["Access-Control-Max-Age"]) >= 3600


def test_site_pages_and_writes_get_no_cors_header(client):
    assert "Access-Control-Allow-Origin" not in client.get("/", headers=ORIGIN).headers
    post = client.post("/api/v1/search", headers=ORIGIN)  # not allowed: 405, and no CORS either
    assert post.status_code == 405 and "Access-Control-Allow-Origin" not in post.headers


def test_no_retirement_headers_until_a_date_is_set(client):
    answer = client.get("/api/v1/openapi.json")
    assert "Deprecation" not in answer.headers and "Sunset" not in answer.headers


def test_a_retiring_version_says_since_when_until_when_and_where_to_go(make_app):
    app = make_app(API_V1_DEPRECATION="2027-01-01", API_V1_SUNSET="2027-07-01",
                   API_V1_SUCCESSOR="https://tracuu.hanoi.gov.vn/api/docs#v2")
    answer = app.test_client().get("/api/v1/search?q=giay")
    assert answer.headers["Deprecation"] == "@1798761600"  # 2027-01-01T00:00:00Z, RFC 9745
    assert answer.headers["Sunset"] == "Thu, 01 Jul 2027 00:00:00 GMT"
    links = answer.headers.getlist("Link")
    assert '<https://tracuu.hanoi.gov.vn/api/docs#v2>; rel="deprecation"' in links
    assert '<https://tracuu.hanoi.gov.vn/api/docs#v2>; rel="sunset"' in links
    assert "Deprecation" not in app.test_client().get("/").headers  # pages are not retired


@pytest.mark.parametrize("settings", [{"API_V1_SUNSET": "1/7/2027"},
                                      {"API_V1_DEPRECATION": "2027-07-01", "API_V1_SUNSET": "2027-01-01"}])
def test_a_wrong_retirement_date_refuses_to_start(make_app, settings):
    with pytest.raises(RuntimeError, match="refusing to start"):
        make_app(**settings)


def test_every_answer_has_a_request_id_and_keeps_a_plain_one_sent_by_the_proxy(client):
    made = client.get("/api/v1/search?q=giay").headers["X-Request-ID"]
    assert len(made) == 32 and made != client.get("/").headers["X-Request-ID"]
    sent = "7f3c2a9e4b1d4e8f9a0b1c2d3e4f5a6b"
    assert client.get("/", headers={"X-Request-ID": sent}).headers["X-Request-ID"] == sent
    # Not a plain token (a header or log line forged through it): replaced, not echoed.
    forged = client.get("/", headers={"X-Request-ID": "abc\tdef 200 OK"}).headers["X-Request-ID"]
    assert forged != "abc\tdef 200 OK" and len(forged) == 32


def test_an_api_error_quotes_its_request_id_in_the_body(client):
    answer = client.get("/api/v1/search?per_page=0", headers={"X-Request-ID": "req-2026-12-05-0001"})
    assert answer.status_code == 400
    assert answer.json["request_id"] == answer.headers["X-Request-ID"] == "req-2026-12-05-0001"


def test_a_server_error_is_logged_with_the_id_the_reader_is_shown(make_app, capsys):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    page = app.test_client().get("/boom", headers={"X-Request-ID": "req-boom-12345678"})
    assert page.status_code == 500 and "req-boom-12345678" in page.get_data(as_text=True)
    logged = capsys.readouterr().err
    assert "[req-boom-12345678]" in logged and "unhandled error" in logged


def test_log_lines_outside_a_request_say_so(make_app, capsys):
    make_app()
    logging.getLogger("portal.jobs").warning("queue is slow")
    assert "[-] queue is slow" in capsys.readouterr().err


def test_a_nul_byte_in_an_address_or_query_is_a_400_everywhere(client):
    assert client.get("/results/a%00b").status_code == 400
    assert client.get("/search?q=%00").status_code == 400
    assert client.get("/api/v1/results/a%00b").mimetype == "application/problem+json"


def test_many_apps_in_one_process_log_each_line_once(make_app, capsys):
    for _ in range(3):
        make_app()
    logging.getLogger("portal.search").warning("index behind")
    assert capsys.readouterr().err.count("index behind") == 1


def test_no_operation_answers_a_nul_byte_with_a_server_error(client, db_session):
    """PostgreSQL refuses a NUL in a string: each parameter and body string of every operation sent
    one must be refused (4xx) or answered, never reach the database as a 500 (schemathesis draws
    it only sometimes; this sends it every time, on both databases)."""
    contract = client.get("/api/v1/openapi.json").get_json()
    key = {"X-API-Key": service.issue(db_session, "cli", organization="Thử", scopes=sorted(service.SCOPES),
                                      daily_quota=1000).secret}
    db_session.commit()
    for path, item in contract["paths"].items():
        for method, operation in item.items():
            url = path
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    url = url.replace("{" + parameter["name"] + "}", "a%00b")
            queries = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            tries = [f"{url}?{name}=%00" for name in queries] or [url]
            for target in tries:
                if method == "post":
                    answer = client.post(target, headers=key, json={
                        "items": ["1\x00"], "reference": "BS-2026-000001\x00", "code": "\x00"})
                else:
                    answer = client.get(target, headers=key)
                assert answer.status_code < 500, (method, target, answer.status_code)


def test_search_answers_link_its_pages_keeping_its_parameters(client, make_record, db_session):
    from portal.search.indexing import reindex

    for n in range(5):
        make_record(doc_number=str(300 + n), doc_notation="GPXD")
    reindex(db_session)
    first = client.get("/api/v1/search?q=GPXD&per_page=2&sort=newest&bogus=1").json
    assert first["pages"] == 3
    links = first["links"]
    assert links["prev"] is None and links["self"].startswith("/api/v1/search?")
    assert "bogus" not in links["next"] and "sort=newest" in links["next"] and "page=2" in links["next"]
    seen, url = [], links["self"]
    while url:  # walking next visits every hit once
        page = client.get(url).json
        seen += [hit["source_id"] for hit in page["hits"]]
        url = page["links"]["next"]
    assert len(seen) == len(set(seen)) == 5
    assert client.get(links["last"]).json["links"]["next"] is None
