"""The server's copy of anonymous public pages (portal/page_cache.py): the next anonymous visitor gets
the page without the view running; nothing personal, per session, degraded or logged is ever kept;
one copy for every worker in Redis; a cache that is down costs nothing but speed."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from sqlalchemy import func, select, update

from portal.audit import AuditEntry
from portal.records.models import Record
from portal.search.indexing import reindex
from portal.search.port import SearchUnavailable
from tests.identity.conftest import own_record  # noqa: F401  (the fixture)
from tests.identity.oidc_fixtures import ACCOUNTS
from tests.web.test_http_cache import assert_private, assert_public
from tests.web.test_sql_budget import counting

CITIZEN_ID = ACCOUNTS["citizen"]["claims"]["SoDinhDanh"]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def app(make_app):
    app = make_app(PUBLIC_PAGE_SERVER_CACHE=True)
    with app.app_context():
        yield app


def get_counting(client, url: str, **kwargs):
    """The response, and how many SQL statements answering it took (the anonymous API counter's
    aside: it runs for a kept answer too, and is in Redis in production)."""
    with counting() as statements:
        response = client.get(url, **kwargs)
    return response, len(statements)


def test_the_next_anonymous_visitor_gets_the_kept_page_without_the_view(client, make_record, db_session):
    record = make_record()
    reindex(db_session)
    for url in (f"/results/{record.source_id}", "/search?q=giay+phep", "/api/v1/search?q=giay+phep", "/"):
        first, first_statements = get_counting(client, url)
        assert_public(first)
        assert first_statements > 0, url
        again, statements = get_counting(client, url)
        assert_public(again)
        assert statements == 0, url  # no view ran: no search, no database
        assert again.get_data() == first.get_data(), url
        assert again.headers["ETag"] == first.headers["ETag"], url
        assert "Content-Security-Policy" in again.headers, url  # every hook but the view still ran
        assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_a_change_shows_once_the_max_age_has_passed(app, client, make_record, db_session):
    app.config["PUBLIC_PAGE_MAX_AGE"] = 3  # whole seconds: cachelib rounds the clock down
    record = make_record()
    url = f"/results/{record.source_id}"
    before = client.get(url)
    db_session.execute(update(Record).where(Record.id == record.id).values(status="revoked"))
    db_session.commit()
    assert client.get(url).headers["ETag"] == before.headers["ETag"]  # what browsers may keep too
    time.sleep(4.1)
    assert client.get(url).headers["ETag"] != before.headers["ETag"]


def test_each_language_has_its_own_copy(client, make_record):
    record = make_record()
    url = f"/results/{record.source_id}"
    vietnamese = client.get(url).get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = client.get(url).get_data(as_text=True)
    assert 'lang="en"' in english and 'lang="vi"' in vietnamese
    assert client.get(url).get_data(as_text=True) == english


def test_a_logged_in_person_never_gets_a_kept_page(client, make_record, login_citizen):
    record = make_record()
    url = f"/results/{record.source_id}"
    client.get(url)
    login_citizen(client, "citizen")
    response, statements = get_counting(client, url)
    assert statements > 0  # the view ran, for this person
    assert_private(response)
    assert ACCOUNTS["citizen"]["claims"]["HoVaTen"] in response.get_data(as_text=True)  # their own header


def test_a_lookup_of_a_personal_result_is_never_kept_and_each_is_logged(client, own_record, db_session):  # noqa: F811
    personal = own_record(CITIZEN_ID, access="personal", doc_type_name="Trích lục khai sinh", doc_number="77",
                          doc_notation="TLKS")
    logged = select(func.count()).select_from(AuditEntry).where(AuditEntry.object_ref == f"record:{personal.source_id}")
    for url in ("/search?q=77%2FTLKS", "/api/v1/search?q=77%2FTLKS"):
        before = db_session.scalar(logged)
        for _ in range(2):
            response, statements = get_counting(client, url)
            assert statements > 0, url
            assert_private(response, url)
        assert db_session.scalar(logged) == before + 2, url  # each lookup is on the holder's log


def test_a_degraded_answer_is_never_kept(app, client, make_record, monkeypatch):
    make_record()
    from portal import search

    class Down:
        def search(self, query):
            raise SearchUnavailable("engine down for this test")

    monkeypatch.setattr(search, "get_search", lambda: Down())
    for url in ("/search?q=giay+phep", "/api/v1/search?q=giay+phep"):
        response = client.get(url)
        assert response.status_code == 200
        assert_private(response, url)
        _, statements = get_counting(client, url)
        assert statements > 0, url


@pytest.fixture
def redis_prefix():
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # Redis is expected on this machine: fail, never skip
    yield client
    for key in client.scan_iter("portal:page:*"):
        client.delete(key)


def test_workers_share_one_copy_in_redis(make_app, make_record, redis_prefix):
    first_worker = make_app(PUBLIC_PAGE_SERVER_CACHE=True, REDIS_URL=REDIS_URL)
    second_worker = make_app(PUBLIC_PAGE_SERVER_CACHE=True, REDIS_URL=REDIS_URL)
    with first_worker.app_context():
        record = make_record(summary=f"Bản ghi {uuid.uuid4().hex}")
        url = f"/results/{record.source_id}"
        kept = first_worker.test_client().get(url)
        assert_public(kept)
    assert any(redis_prefix.scan_iter("portal:page:*"))
    with second_worker.app_context():
        response, statements = get_counting(second_worker.test_client(), url)
        assert statements == 0
        assert response.get_data() == kept.get_data()


def test_a_cache_that_is_down_costs_only_speed(make_app, make_record):
    app = make_app(PUBLIC_PAGE_SERVER_CACHE=True, REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens
    with app.app_context():
        record = make_record()
        client = app.test_client()
        for _ in range(2):
            assert_public(client.get(f"/results/{record.source_id}"))


def test_tests_and_a_setting_turn_it_off(make_app, make_record):
    app = make_app()  # TESTING, no setting: a test that changes data sees the change at once
    with app.app_context():
        record = make_record()
        client = app.test_client()
        client.get(f"/results/{record.source_id}")
        _, statements = get_counting(client, f"/results/{record.source_id}")
        assert statements > 0
    assert "portal_page_cache" not in make_app(PUBLIC_PAGE_SERVER_CACHE=False).extensions
