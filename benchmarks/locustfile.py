"""Issue 12: people and programs using the public portal, for locust (run by benchmarks/load_test.py).

    LOAD_TEST_DATA=path/to/locust-data.json locust -f benchmarks/locustfile.py --host http://127.0.0.1:8000

The JSON file (written by load_test.py from the database, seeded) holds queries by kind, each with
the result it was drawn from, result numbers and result ids. Two kinds of users, 1-5 s think time:

- a person (9 in 10): lands on the home page, or types a search (the search box asks
  /api/v1/suggest as they type) as people type it: without tone marks, with a typo, cut in the
  last word, a result number "123/GPXD", with filters; opens a hit, whose page makes the browser
  fetch the scan thumbnails, and sometimes the larger view of a page; or opens a result page
  directly (a link, a QR code on the paper);
- a program using the JSON API (1 in 10): /api/v1/search and /api/v1/suggest.

Every request is named by its type (locust `name=`), so the report has one row, and one p95, per
type. A failure: any status but 2xx/304, a page without its marker, or a degraded answer (the
engine failed and the database answered instead).
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path
from urllib.parse import urlencode

from locust import FastHttpUser, between, events, task

DATA = json.loads(Path(os.environ.get("LOAD_TEST_DATA", "locust-data.json")).read_text(encoding="utf-8"))
QUERIES: dict[str, list] = DATA["queries"]
NUMBERS: list = DATA["numbers"]
SOURCE_IDS: list[str] = DATA["source_ids"]
RANDOM = random.Random(DATA["seed"])
#: Requests slower than SLOW_MS are written, with their URL, to LOAD_TEST_SLOW_LOG (JSON lines): the
#: report has one row per type and the portal's access log leaves out query strings.
SLOW_LOG = os.environ.get("LOAD_TEST_SLOW_LOG")
SLOW_MS = float(os.environ.get("LOAD_TEST_SLOW_MS", "1000"))

#: How people type a search (kinds of make_queries in search_at_scale.py, plus numbers): mostly
#: without tone marks, often with a typo or a word not finished; numbers as printed.
SEARCH_KINDS = {"no diacritics": 4, "typo": 2, "prefix": 2, "number": 2, "filtered": 1, "diacritics": 1}
#: Kinds left out of the mix (load_test.py --skip-kinds): to see what the rest costs without one.
for _kind in filter(None, os.environ.get("LOAD_TEST_SKIP_KINDS", "").split(",")):
    del SEARCH_KINDS[_kind]
KIND_DATA = {"no diacritics": "no diacritics", "typo": "typo", "prefix": "prefix",
             "filtered": "filtered (unit+status+year)", "diacritics": "exact (diacritics)"}
FILTER_PARAMS = {"unit": "unit", "status": "status", "year": "year"}

HIT_LINK = re.compile(r'<a href="(/results/[^"/?#]+)"')
THUMBNAIL = re.compile(r'<img src="(/results/[^"]+\.png\?w=\d+)"')
RESULT_MARKER = b'id="result-title"'
#: The search page's notice when the engine failed and the database answered (records/search.html).
DEGRADED_NOTICE = b'notice--warning" role="status"'
PAGE_LINK = re.compile(r'<a href="(/results/[^"]+/files/\d+/pages/\d+)"')


def pick_search() -> tuple[str, str, dict]:
    """(kind, text, filters) as a person would type it."""
    kind = RANDOM.choices(list(SEARCH_KINDS), weights=list(SEARCH_KINDS.values()))[0]
    if kind == "number":
        number, _ = RANDOM.choice(NUMBERS)
        return kind, number, {}
    text, filters, _ = RANDOM.choice(QUERIES[KIND_DATA[kind]])
    return kind, text, {FILTER_PARAMS[k]: v for k, v in filters.items() if k in FILTER_PARAMS}


def check(response, marker: bytes | tuple[bytes, ...] | None = None, content_type: str | None = None) -> bool:
    """Mark the response failed unless it is 2xx/304 with its marker (one of them); True when it passed."""
    if not (200 <= response.status_code < 300 or response.status_code == 304):
        response.failure(f"HTTP {response.status_code}")
        return False
    if response.status_code == 304:
        response.success()
        return True
    body = response.content or b""
    if content_type and not response.headers.get("Content-Type", "").startswith(content_type):
        response.failure(f"content type {response.headers.get('Content-Type')!r}, expected {content_type}")
        return False
    markers = (marker,) if isinstance(marker, bytes) else marker or ()
    if markers and not any(m in body for m in markers):
        response.failure(f"marker {' or '.join(m.decode() for m in markers)!r} missing")
        return False
    if b'"degraded":true' in body.replace(b" ", b"") or DEGRADED_NOTICE in body:
        response.failure("degraded answer (engine unavailable, database fallback)")
        return False
    response.success()
    return True


@events.request.add_listener
def note_slow(request_type, name, response_time, url=None, exception=None, **kwargs) -> None:
    if SLOW_LOG and response_time > SLOW_MS:
        with open(SLOW_LOG, "a", encoding="utf-8") as out:
            entry = {"name": name, "ms": round(response_time), "url": url,
                     "error": repr(exception) if exception else None}
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")


class Person(FastHttpUser):
    """A person with a browser (without its cache: every page is asked for again)."""

    weight = 9
    wait_time = between(1, 5)

    def get(self, path: str, name: str, marker: bytes | tuple[bytes, ...] | None = None,
            content_type: str | None = None):
        with self.client.get(path, name=name, catch_response=True) as response:
            return response.content if check(response, marker, content_type) else None

    def typing(self, text: str) -> None:
        """The search box asks for completions as the person types (debounced: a few, not each key)."""
        for end in sorted({max(2, len(text) // 3), max(2, 2 * len(text) // 3)}):
            self.get("/api/v1/suggest?" + urlencode({"q": text[:end]}), "/api/v1/suggest (typing)",
                     content_type="application/json")

    def open_result(self, path: str, name: str) -> None:
        body = self.get(path, name, RESULT_MARKER)
        if body is None:
            return
        self.thumbnails(body.decode("utf-8", "replace"))
        if RANDOM.random() < 0.25:  # a look at one page, larger
            pages = PAGE_LINK.findall(body.decode("utf-8", "replace"))
            if pages:
                page = self.get(pages[0], "/results/<id>/files/<n>/pages/<n> (page view)", b"<img")
                if page is not None:
                    self.get(pages[0] + ".png?w=800", "/results/<id>/…/pages/<n>.png?w=800 (large preview)",
                             content_type="image/png")

    def thumbnails(self, html: str) -> None:
        for src in THUMBNAIL.findall(html)[:3]:  # what the page shows (THUMBNAIL_PAGES)
            self.get(src, "/results/<id>/…/pages/<n>.png?w=240 (thumbnail)", content_type="image/png")

    @task(2)
    def home(self) -> None:
        self.get("/", "/ (home)", b'id="hero-title"')

    @task(6)
    def search(self) -> None:
        kind, text, filters = pick_search()
        if kind != "filtered":
            self.typing(text)
        # A number found once goes straight to its result page (a redirect, followed and timed here).
        body = self.get("/search?" + urlencode({"q": text, **filters}), f"/search ({kind})",
                        (b'id="q"', RESULT_MARKER))
        if body is None or RANDOM.random() >= 0.6:  # 6 in 10 open a hit
            return
        html = body.decode("utf-8", "replace")
        if RESULT_MARKER.decode() in html:
            self.thumbnails(html)
            return
        hits = HIT_LINK.findall(html)
        if hits:
            # Most open the first hit, fewer the second, and so on.
            hit = hits[min(len(hits) - 1, int(RANDOM.expovariate(0.7)))]
            self.open_result(hit, "/results/<id> (from search)")

    @task(2)
    def result_page(self) -> None:
        self.open_result(f"/results/{RANDOM.choice(SOURCE_IDS)}", "/results/<id> (direct)")


class ApiClient(FastHttpUser):
    """A program of another agency or a business using the JSON API."""

    weight = 1
    wait_time = between(1, 5)

    def get(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as response:
            check(response, None, "application/json")

    @task(4)
    def search(self) -> None:
        kind, text, filters = pick_search()
        self.get("/api/v1/search?" + urlencode({"q": text, **filters}), "/api/v1/search")

    @task(1)
    def suggest(self) -> None:
        _, text, _ = pick_search()
        self.get("/api/v1/suggest?" + urlencode({"q": text[: max(2, len(text) // 2)]}), "/api/v1/suggest")
