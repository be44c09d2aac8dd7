"""HTTP caching (portal/http_cache.py): anonymous public pages get an ETag, a short public max-age and
304s; nothing personal, per session or seen by a logged-in person is ever public or kept."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from portal.http_cache import PUBLIC_PAGES
from portal.records.models import Record
from portal.search.indexing import reindex
from tests.identity.conftest import own_record  # noqa: F401  (the fixture)
from tests.identity.oidc_fixtures import ACCOUNTS

CITIZEN_ID = ACCOUNTS["citizen"]["claims"]["SoDinhDanh"]


def assert_public(response, max_age: int = 60) -> None:
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == f"public, max-age={max_age}"
    assert response.headers["ETag"]
    assert "cookie" in response.headers["Vary"].lower()
    assert "Set-Cookie" not in response.headers


def assert_private(response, where: str = "") -> None:
    cache_control = response.headers.get("Cache-Control", "")
    assert "public" not in cache_control, (where, cache_control)
    assert "no-store" in cache_control, (where, cache_control)
    assert "private" in cache_control or response.status_code != 200, (where, cache_control)


@pytest.fixture
def personal(own_record, db_session):  # noqa: F811
    return own_record(CITIZEN_ID, access="personal", doc_type_name="Trích lục khai sinh",
                      summary="Đăng ký khai sinh cho cháu Nguyễn Minh An")


def test_an_anonymous_public_result_page_is_cached_and_answers_304(client, make_record):
    record = make_record()
    first = client.get(f"/results/{record.source_id}")
    assert_public(first)
    etag = first.headers["ETag"]
    assert client.get(f"/results/{record.source_id}").headers["ETag"] == etag  # same for everyone

    again = client.get(f"/results/{record.source_id}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag

    other = client.get(f"/results/{record.source_id}", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.get_data()


def test_head_answers_304_too(client, make_record):
    record = make_record()
    etag = client.get(f"/results/{record.source_id}").headers["ETag"]
    assert client.head(f"/results/{record.source_id}", headers={"If-None-Match": etag}).status_code == 304


def test_the_max_age_comes_from_the_config(app, client, make_record):
    app.config["PUBLIC_PAGE_MAX_AGE"] = 15
    assert_public(client.get(f"/results/{make_record().source_id}"), max_age=15)


def test_a_changed_status_changes_the_etag(client, make_record, db_session):
    record = make_record()
    before = client.get(f"/results/{record.source_id}").headers["ETag"]
    db_session.execute(update(Record).where(Record.id == record.id).values(status="revoked"))
    db_session.commit()

    after = client.get(f"/results/{record.source_id}", headers={"If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["ETag"] != before


def test_other_anonymous_public_pages_are_cached(client, make_record, db_session):
    make_record()
    reindex(db_session)  # an answer of the database while the engine is down is never public
    for url in ("/", "/units", "/scorecard", "/scorecard.csv", "/feedback/answers", "/search?q=giay+phep"):
        response = client.get(url)
        assert_public(response)
        assert client.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304, url


def test_a_personal_result_is_never_public_even_to_anonymous_visitors(client, personal):
    response = client.get(f"/results/{personal.source_id}")
    assert response.status_code == 200
    assert "Nguyễn Minh An" not in response.get_data(as_text=True)
    assert_private(response)
    assert "ETag" not in response.headers


def test_an_anonymous_lookup_of_a_personal_result_by_number_is_never_cached(client, own_record):  # noqa: F811
    personal = own_record(CITIZEN_ID, access="personal", doc_type_name="Trích lục khai sinh", doc_number="77",
                          doc_notation="TLKS")
    response = client.get("/search?q=77%2FTLKS")  # found, and logged on the holder's access log
    assert "Trích lục khai sinh" in response.get_data(as_text=True)
    assert_private(response)
    assert "ETag" not in response.headers
    assert personal.access == "personal"


def test_a_personal_result_to_its_subject_is_private(client, personal, login_citizen):
    login_citizen(client, "citizen")
    response = client.get(f"/results/{personal.source_id}")
    assert "Nguyễn Minh An" in response.get_data(as_text=True)
    assert_private(response, "own personal result")
    assert "ETag" not in response.headers
    assert_private(client.get("/my/results"), "/my/results")


def test_every_public_page_is_private_for_a_logged_in_citizen(client, make_record, personal, login_citizen):
    public = make_record()
    login_citizen(client, "citizen")
    for url in ("/", f"/results/{public.source_id}", "/units", "/scorecard", "/feedback/answers",
                "/search?q=giay+phep", "/my/results", "/my/copy-requests", "/my/access-log"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_private(response, url)
        assert "ETag" not in response.headers, url


def test_staff_see_nothing_public(app, client, make_record, personal, make_staff, login_staff):
    public = make_record()
    (link,) = personal.issuing_unit.successor_links
    login_staff(client, make_staff(role="clerk", units=[link.new_unit]))
    response = client.get(f"/results/{personal.source_id}")
    assert "Nguyễn Minh An" in response.get_data(as_text=True)  # the clerk reads it in full
    assert_private(response, "personal result seen by staff")
    for url in ("/", f"/results/{public.source_id}", "/scorecard", "/staff/", "/staff/copy-requests/",
                "/staff/petitions/", "/staff/problem-reports/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "public" not in response.headers.get("Cache-Control", ""), url
        assert "no-store" in response.headers.get("Cache-Control", ""), url


def test_a_page_that_sets_a_cookie_is_not_public(client, make_record):
    record = make_record()
    response = client.get(f"/results/{record.source_id}?lang=en")  # remembers the language
    assert "Set-Cookie" in response.headers
    assert_private(response)
    assert_public(client.get(f"/results/{record.source_id}"))  # English now, from the cookie, for anyone


def test_a_form_with_a_csrf_token_is_never_public(client, make_record):
    record = make_record()
    for url in (f"/results/{record.source_id}/report", "/feedback/petitions/new", "/verify",
                "/copy-requests/track"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "public" not in response.headers.get("Cache-Control", ""), url
        assert "ETag" not in response.headers, url


def test_the_allow_list_names_real_get_endpoints(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    assert PUBLIC_PAGES <= endpoints
