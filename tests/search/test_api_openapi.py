"""The API's contract (/api/v1/openapi.json), its reference page (/api/docs) and its one error shape."""

from __future__ import annotations

from openapi_spec_validator import validate
from werkzeug.exceptions import TooManyRequests

from portal.search import api_views

PROBLEM = "application/problem+json"


def test_openapi_document_is_valid_3_1_and_describes_every_answer(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    contract = response.get_json()
    validate(contract)  # raises on an invalid OpenAPI 3.1 document
    assert contract["openapi"] == "3.1.0"
    operations = {(method, path): op for path, item in contract["paths"].items() for method, op in item.items()}
    paths = {path for _method, path in operations}
    assert {"/api/v1/search", "/api/v1/suggest", "/api/v1/keys/me/usage", "/api/v1/results/{source_id}"} <= paths
    assert {p["name"] for p in operations["get", "/api/v1/search"]["parameters"]} >= {
        "q", "page", "per_page", "sort", "status", "procedure", "unit", "current_unit", "year", "facets"}
    assert set(contract["components"]["securitySchemes"]) == {"apiKey", "bearerKey"}
    for where, operation in operations.items():
        assert " / " in operation["description"], where  # Vietnamese / English
        assert {"200", "401", "405", "429", "500"} <= set(operation["responses"]), where  # behind api_access
        # Who may call it, as api_access enforces: {} (no key) listed only where anonymous calls are served.
        security = operation["security"]
        assert {"apiKey", "bearerKey"} <= {name for requirement in security for name in requirement}, where
        if {} not in security:
            assert "401" in operation["responses"], where
        for status, answer in operation["responses"].items():
            assert " / " in answer["description"], (where, status)
            if status.startswith("3"):
                assert "content" not in answer, (where, status)  # 304, 308: no body
                continue
            (media, body), = answer["content"].items()
            assert "$ref" in body["schema"], (where, status)
            assert media == ("application/json" if status == "200" else PROBLEM), (where, status)
    assert "400" in operations["get", "/api/v1/search"]["responses"]
    assert operations["get", "/api/v1/search"]["security"][0] == {}  # anonymous allowed
    assert {} not in operations["get", "/api/v1/keys/me/usage"]["security"]  # a key's own data


def _assert_problem(response, status: int):
    assert response.status_code == status and response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["type"] == "about:blank" and body["title"]
    assert body["messages"]["vi"] and body["messages"]["en"]
    assert body["detail"] == f"{body['messages']['vi']} / {body['messages']['en']}"
    return body


def test_every_api_error_is_a_problem_in_both_languages(client, app, monkeypatch):
    assert "sort" in _assert_problem(client.get("/api/v1/search?sort=price"), 400)["messages"]["en"]
    _assert_problem(client.get("/api/v1/nothing-here"), 404)
    refused = _assert_problem(client.post("/api/v1/search"), 405)
    assert "GET" in client.post("/api/v1/search").headers["Allow"]

    def limited(*args, **kwargs):
        raise TooManyRequests()

    monkeypatch.setattr(api_views, "search_records", limited)
    _assert_problem(client.get("/api/v1/search?q=x"), 429)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api_views, "search_records", broken)
    body = _assert_problem(client.get("/api/v1/search?q=x"), 500)
    assert "a bug" not in str(body) and refused["title"] == "Method Not Allowed"


def test_site_error_pages_stay_html(client):
    response = client.get("/khong-co-trang-nay")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_reference_page_lists_operations_parameters_and_schemas_without_script(client):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for text in ("GET /api/v1/search", "GET /api/v1/suggest", "per_page", "facets", 'id="schema-Problem"',
                 'id="schema-SearchAnswer"', 'id="schema-Hit"', "application/problem+json",
                 "/api/v1/openapi.json",
                 "Tìm kết quả / Search results"):
        assert text in page, text
    assert "<script" not in page  # nothing to run: the strict CSP holds and it reads without JavaScript
