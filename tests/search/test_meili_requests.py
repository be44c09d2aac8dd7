"""Meilisearch request shapes, covered without a server (none can run on the dev machines).

A small recording HTTP server on 127.0.0.1 answers like Meilisearch's API for the calls the adapter
makes (task objects, search responses); the tests assert the exact paths and bodies the official
client sends. The behaviour itself is the contract suite's, run against a real server with MEILI_URL.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from portal.search.adapters.meili import SETTINGS, MeiliBackend
from portal.search.port import MAX_HITS, SearchQuery

STAMP = "2025-11-03T10:15:00.000000Z"


class FakeMeili:
    """Records every request; answers tasks as enqueued then succeeded, searches from ``search_response``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, object]] = []
        self.indexes: set[str] = set()
        self.tasks = 0
        self.search_response: dict = {"hits": [], "totalHits": 0}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.requests.append((method, self.path, body))
                status, payload = fake.route(method, urlsplit(self.path).path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

            def do_PATCH(self):
                self._answer("PATCH")

            def do_PUT(self):
                self._answer("PUT")

            def do_DELETE(self):
                self._answer("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def task(self, index_uid: str | None, kind: str) -> tuple[int, dict]:
        self.tasks += 1
        return 202, {"taskUid": self.tasks, "indexUid": index_uid, "status": "enqueued", "type": kind,
                     "enqueuedAt": STAMP}

    def route(self, method: str, path: str, body) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if parts[0] == "tasks" and method == "GET":
            return 200, {"uid": int(parts[1]), "indexUid": None, "status": "succeeded", "type": "x",
                         "details": {}, "duration": "PT0S", "enqueuedAt": STAMP, "startedAt": STAMP,
                         "finishedAt": STAMP}
        if parts == ["indexes"] and method == "POST":
            self.indexes.add(body["uid"])
            return self.task(body["uid"], "indexCreation")
        if parts == ["swap-indexes"]:
            return self.task(None, "indexSwap")
        uid = parts[1]
        if len(parts) == 2 and method == "GET":
            if uid not in self.indexes:
                return 404, {"message": f"Index `{uid}` not found.", "code": "index_not_found",
                             "type": "invalid_request", "link": "https://docs.meilisearch.com/errors"}
            return 200, {"uid": uid, "primaryKey": "id", "createdAt": STAMP, "updatedAt": STAMP}
        if len(parts) == 2 and method == "DELETE":
            return self.task(uid, "indexDeletion")
        if parts[2] == "settings":
            return self.task(uid, "settingsUpdate")
        if parts[2] == "documents":
            return self.task(uid, "documentAdditionOrUpdate")
        if parts[2] == "search":
            return 200, {"processingTimeMs": 1, "query": body.get("q", ""), **self.search_response}
        return 404, {"message": "no route", "code": "not_found", "type": "invalid_request", "link": ""}

    def of(self, method: str, prefix: str) -> list[tuple[str, object]]:
        return [(path, body) for m, path, body in self.requests if m == method and path.startswith(prefix)]


@pytest.fixture
def meili():
    fake = FakeMeili()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_first_write_creates_the_index_and_applies_the_settings(meili):
    backend = MeiliBackend(meili.url, "", "results")
    backend.upsert([{"id": "a", "title": "Giấy phép xây dựng", "holder": "Nguyễn Thị Lan"}])
    assert meili.of("GET", "/indexes/results") == [("/indexes/results", None)]
    assert meili.of("POST", "/indexes") [0] == ("/indexes", {"uid": "results", "primaryKey": "id"})
    [(path, settings)] = meili.of("PATCH", "/indexes/results/settings")
    assert settings == SETTINGS
    assert settings["typoTolerance"] == {"enabled": True, "minWordSizeForTypos": {"oneTypo": 4, "twoTypos": 8}}
    assert settings["sortableAttributes"] == ["issued_date"]
    assert settings["filterableAttributes"] == ["access", "current_unit", "id", "procedure_code", "status",
                                                "unit", "year"]
    assert settings["pagination"] == {"maxTotalHits": MAX_HITS}
    assert settings["rankingRules"][0] == "sort"
    [(path, docs)] = meili.of("POST", "/indexes/results/documents")
    assert path == "/indexes/results/documents?primaryKey=id"
    assert docs == [{"id": "a", "title": "Giấy phép xây dựng", "holder": "Nguyễn Thị Lan"}]
    # every task is waited for, so the write is visible when upsert returns
    assert len(meili.of("GET", "/tasks/")) == meili.tasks


def test_search_sends_filters_facets_sort_and_highlight_tags(meili):
    meili.search_response = {
        "hits": [{"id": "a", "_rankingScore": 0.9,
                  "_formatted": {"id": "a", "title": "\ue000Giấy\ue001 phép <b>", "summary": "x"}}],
        "totalHits": 41, "page": 3, "hitsPerPage": 10, "totalPages": 5,
        "facetDistribution": {"year": {"2019": 3, "2021": 7}, "status": {"valid": 10}},
    }
    page = MeiliBackend(meili.url, "", "results").search(SearchQuery(
        "Giấy phép Đông Anh", filters={"access": "public", "unit": '00"4'}, page=3, per_page=10,
        sort="newest", facets=("year", "status"), exclude=("x1",)))
    [(path, body)] = meili.of("POST", "/indexes/results/search")
    assert body == {
        "q": "giay phep dong anh", "page": 3, "hitsPerPage": 10, "matchingStrategy": "all",
        "attributesToHighlight": ["number", "holder", "title", "issuer", "summary", "units", "scan"],
        "highlightPreTag": "\ue000", "highlightPostTag": "\ue001",
        "attributesToCrop": ["summary", "scan"], "cropLength": 40, "cropMarker": "…",
        "attributesToRetrieve": ["id"], "showRankingScore": True,
        "filter": ['access = "public"', 'unit = "00\\"4"', 'NOT id IN ["x1"]'],
        "sort": ["issued_date:desc"], "facets": ["year", "status"],
    }
    assert (page.total, [h.id for h in page.hits]) == (41, ["a"])
    assert page.hits[0].highlights == {"title": "<mark>Giấy</mark> phép &lt;b&gt;"}
    assert page.facets == {"year": [("2021", 7), ("2019", 3)], "status": [("valid", 10)]}


def test_relevance_sends_no_sort_and_an_offset_window_when_not_page_aligned(meili):
    meili.search_response = {"hits": [], "estimatedTotalHits": 12, "offset": 19, "limit": 20}
    backend = MeiliBackend(meili.url, "", "results")
    page = backend.search(SearchQuery("giay", page=1, per_page=20, offset=19))
    [(_, body)] = meili.of("POST", "/indexes/results/search")
    assert (body["offset"], body["limit"]) == (19, 20)
    assert "sort" not in body and "page" not in body and "facets" not in body and "filter" not in body
    assert page.total == 12


def test_deep_pages_stop_at_max_hits(meili):
    backend = MeiliBackend(meili.url, "", "results")
    backend.search(SearchQuery("giay", page=MAX_HITS // 20, per_page=20))
    backend.search(SearchQuery("giay", page=MAX_HITS // 20 + 1, per_page=20))
    [(_, last), (_, beyond)] = meili.of("POST", "/indexes/results/search")
    assert (last["page"], last["hitsPerPage"]) == (MAX_HITS // 20, 20)
    assert (beyond["offset"], beyond["limit"]) == (MAX_HITS, 0)


def test_filters_only_sorts_newest_first(meili):
    MeiliBackend(meili.url, "", "results").search(SearchQuery("", filters={"year": "2020"}))
    [(_, body)] = meili.of("POST", "/indexes/results/search")
    assert (body["q"], body["sort"], body["filter"]) == ("", ["issued_date:desc"], ['year = "2020"'])


def test_rebuild_fills_a_new_index_then_swaps_and_drops_it(meili):
    backend = MeiliBackend(meili.url, "", "results")
    docs = [{"id": str(i), "title": "Giấy phép"} for i in range(3)]
    assert backend.rebuild(iter(docs)) == 3
    created = [body["uid"] for _, body in meili.of("POST", "/indexes") if body and "uid" in body]
    build = created[0]
    assert build.startswith("results_build_") and "results" in created
    assert [path for path, _ in meili.of("PATCH", "/indexes/")] == [f"/indexes/{build}/settings",
                                                                    "/indexes/results/settings"]
    assert meili.of("POST", f"/indexes/{build}/documents") == [(f"/indexes/{build}/documents?primaryKey=id",
                                                                docs)]
    assert meili.of("POST", "/swap-indexes") == [("/swap-indexes", [{"indexes": ["results", build]}])]
    assert meili.of("DELETE", "/indexes/") == [(f"/indexes/{build}", None)]


def test_remove_and_clear(meili):
    backend = MeiliBackend(meili.url, "", "results")
    backend.remove(["a", "b"])
    backend.clear()
    assert meili.of("POST", "/indexes/results/documents/delete") == [
        ("/indexes/results/documents/delete", {"filter": 'id IN ["a", "b"]'})]
    assert meili.of("DELETE", "/indexes/results/documents") == [("/indexes/results/documents", None)]
