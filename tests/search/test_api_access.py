"""API keys on the v1 search views (issue 15): anonymous callers stay served at the per-address
limit, a key is counted against its own quota, a bad key is refused with problem details, and a
keyed request never gets or leaves the server's copy of the public search answer."""

from __future__ import annotations

import pytest

from portal.search.indexing import reindex
from tests.api_keys.test_api_keys import bearer, issue
from tests.web.test_page_cache import get_counting

URL = "/api/v1/search?q=giay+phep"


@pytest.fixture
def app(make_app):
    app = make_app(PUBLIC_PAGE_SERVER_CACHE=True, API_ANONYMOUS_RATE_LIMIT="3 per minute")
    with app.app_context():
        yield app


@pytest.mark.parametrize("url", [URL, "/api/v1/suggest?q=giay"])
def test_anonymous_callers_are_limited_per_address_with_problem_details(client, url):
    answers = [client.get(url, environ_base={"REMOTE_ADDR": "203.0.113.9"}) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    refused = answers[3]
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert refused.json["status"] == 429 and int(refused.headers["Retry-After"]) > 0
    # another address is not refused
    assert client.get(url, environ_base={"REMOTE_ADDR": "203.0.113.10"}).status_code == 200


@pytest.mark.parametrize("url", [URL, "/api/v1/suggest?q=giay"])
def test_a_bad_key_is_refused_with_401_problem_details(client, url):
    refused = client.get(url, headers=bearer("hnp_abcdefgh_wrong"))
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert refused.json["messages"]["en"] == "The API key is invalid or has been revoked."


def test_a_keyed_request_never_gets_or_leaves_the_public_copy(client, make_record, db_session):
    make_record()
    reindex(db_session)
    issued = issue(scopes=("search",), quota=10)
    first, statements = get_counting(client, URL, headers=bearer(issued.secret))
    assert first.status_code == 200 and statements > 0
    assert first.headers["RateLimit-Limit"] == "10" and first.headers["RateLimit-Remaining"] == "9"
    assert "public" not in first.headers["Cache-Control"]
    assert {"Authorization", "X-API-Key"} <= set(first.vary)
    # Nothing kept by the keyed request: the first anonymous one still runs the view...
    anonymous, statements = get_counting(client, URL)
    assert anonymous.status_code == 200 and statements > 0
    assert anonymous.headers["Cache-Control"].startswith("public")
    # ...and a copy kept by an anonymous one is never handed to a key: its quota is still counted.
    again, statements = get_counting(client, URL, headers={"X-API-Key": issued.secret})
    assert statements > 0 and again.headers["RateLimit-Remaining"] == "8"
    assert "public" not in again.headers["Cache-Control"]


def test_an_answer_from_the_servers_copy_is_still_counted_per_address(client, make_record, db_session):
    make_record()
    reindex(db_session)
    address = {"REMOTE_ADDR": "203.0.113.20"}
    made = client.get(URL, environ_base=address)
    assert made.status_code == 200 and made.headers["RateLimit-Remaining"] == "2"
    make_record()
    reindex(db_session)
    kept = client.get(URL, environ_base=address)
    # Served from the copy (no search ran: the new result is not in it yet), yet counted...
    assert kept.status_code == 200 and kept.get_data() == made.get_data() and kept.json["total"] == 1
    assert kept.headers["RateLimit-Remaining"] == "1" and kept.headers["RateLimit-Limit"] == "3"
    assert {"Authorization", "X-API-Key"} <= set(kept.vary)
    assert client.get(URL, environ_base=address).headers["RateLimit-Remaining"] == "0"
    # ...so the copy is no way around the limit: the fourth call is refused.
    refused = client.get(URL, environ_base=address)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 0
    # Another address still gets the kept copy.
    other = client.get(URL, environ_base={"REMOTE_ADDR": "203.0.113.21"})
    assert other.status_code == 200 and other.headers["RateLimit-Remaining"] == "2"
