"""`/readyz`: 200 when the database and the index are usable, 503 naming what is not, never a 500;
cheap (one statement), never cached, no cookie; `/healthz` stays a liveness check."""

from __future__ import annotations

import shutil
import time

import pytest
from sqlalchemy import event

from portal import create_app
from portal.extensions import db
from portal.search.indexing import reindex
from tests.conftest import TEST_DB


@pytest.fixture
def ready_app(make_app):
    app = make_app()
    with app.app_context():
        reindex(db.session)
        yield app


def _statements(app):
    seen = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_ready_when_database_and_index_are_usable(ready_app):
    client = ready_app.test_client()
    statements = _statements(ready_app)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "search": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert len(statements) <= 2, statements
    started = time.perf_counter()
    for _ in range(20):
        client.get("/readyz")
    assert (time.perf_counter() - started) / 20 < 0.05  # polled every few seconds by each balancer


def test_index_directory_removed_is_503_naming_search(ready_app):
    shutil.rmtree(ready_app.config["SEARCH_INDEX_DIR"])
    response = ready_app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failed"] == ["search"] and body["checks"] == {"database": "ok", "search": "unavailable"}
    assert body["detail"]["vi"] and body["detail"]["en"] == "the search index is unusable"
    assert response.headers["Cache-Control"] == "no-store"
    # Liveness is not readiness: the process still answers.
    assert ready_app.test_client().get("/healthz").status_code == 200


def test_database_unreachable_is_503_naming_it_and_pages_say_so_never_500(tmp_path):
    url = (f"sqlite:///{tmp_path / 'no-such-dir' / 'portal.sqlite3'}" if TEST_DB == "sqlite"
           else "postgresql+psycopg://postgres@127.0.0.1:1/test")
    app = create_app({"TESTING": True, "DATABASE_URL": url, "DATA_DIR": str(tmp_path / "data"),
                      "HUEY_IMMEDIATE": True})
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        body = response.get_json()
        assert "database" in body["failed"] and body["checks"]["database"] == "unavailable"
        assert body["status"] == "not ready"
        # A page and an API call that need the database: 503, "nothing was saved", come back soon.
        page = app.test_client().get("/results/HN-0001")
        assert page.status_code == 503 and page.headers["Retry-After"] == "30"
        assert "Cơ sở dữ liệu của cổng tạm thời không trả lời" in page.get_data(as_text=True)
        api = app.test_client().get("/api/v1/units")
        assert api.status_code == 503 and api.headers["Retry-After"] == "30"
        assert api.content_type == "application/problem+json"
        assert "nothing was saved" in api.get_json()["messages"]["en"]
    finally:
        with app.app_context():
            db.engine.dispose()


def test_readyz_carries_no_personal_data_and_only_component_names(ready_app):
    shutil.rmtree(ready_app.config["SEARCH_INDEX_DIR"])
    text = ready_app.test_client().get("/readyz").get_data(as_text=True)
    assert str(ready_app.config["DATA_DIR"]) not in text  # no paths, no errors: names and states only
