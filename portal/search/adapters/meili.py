"""Meilisearch adapter through the official client, imported lazily (the embedded default doesn't need it).

Settings are applied by code, so an empty server is configured on first write: searchable fields
in boost order, filters, sort, and the typo rule we measured for Vietnamese (one typo from 4 letters).
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from portal.search.port import (
    FACET_SIZE,
    FACETS,
    FILTERS,
    MAX_HITS,
    SORTS,
    TEXT_FIELDS,
    SearchHit,
    SearchPage,
    SearchQuery,
    SearchUnavailable,
)
from portal.text import fold

#: Searchable attributes, strongest first: Meilisearch's "attribute" rule ranks by this order.
SEARCHABLE = list(TEXT_FIELDS)
SETTINGS = {
    "searchableAttributes": SEARCHABLE,
    # "id" too: the service leaves its identifier hits out of the engine's pages (id NOT IN […]).
    "filterableAttributes": sorted({*FILTERS.values(), "id"}),
    "sortableAttributes": ["issued_date"],
    "displayedAttributes": ["id", "digest", *SEARCHABLE],
    "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 4, "twoTypos": 8}},
    # "sort" first: a date sort orders every matching hit (as on tantivy); without a sort parameter
    # the rule does nothing and relevance decides. Exact before typo'd: typo ranks, then exactness;
    # proximity ranks adjacent words (the phrase boost), attribute the field order (SEARCHABLE).
    "rankingRules": ["sort", "words", "typo", "proximity", "attribute", "exactness"],
    # Deep pages: the same cap as the embedded adapter (the server's default is 1,000).
    "pagination": {"maxTotalHits": MAX_HITS},
    # Keep the most frequent values when a facet has more than FACET_SIZE (default: alphabetical).
    "faceting": {"maxValuesPerFacet": FACET_SIZE, "sortFacetValuesBy": {"*": "count"}},
}
_SORT = {"newest": ["issued_date:desc"], "oldest": ["issued_date:asc"]}
#: Bulk loads can take minutes on a busy server; the client's default gives up after 5 s.
BULK_TIMEOUT_MS = 30 * 60 * 1000
TASK_TIMEOUT_MS = 60 * 1000
BATCH = 5000
# Private-use characters as highlight tags: the snippet is HTML-escaped first, then they become <mark>.
_PRE, _POST = "\ue000", "\ue001"


def _unavailable(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        from meilisearch.errors import (
            MeilisearchApiError,
            MeilisearchCommunicationError,
            MeilisearchTimeoutError,
        )

        try:
            return method(self, *args, **kwargs)
        except (MeilisearchCommunicationError, MeilisearchTimeoutError, OSError) as error:
            raise SearchUnavailable(f"Meilisearch at {self.url} unreachable: {error}") from error
        except MeilisearchApiError as error:
            if getattr(error, "code", "") == "index_not_found":
                raise SearchUnavailable(f"Meilisearch index {self.index_uid!r} missing") from error
            raise

    return wrapper


class MeiliBackend:
    """The Meilisearch adapter. Raises SearchUnavailable when the server or the index is missing."""

    def __init__(self, url: str, api_key: str = "", index_uid: str = "results") -> None:
        self.url = url
        self.api_key = api_key or None
        self.index_uid = index_uid
        self._client = None
        self._configured = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MeiliBackend:
        if not config.get("MEILI_URL"):
            raise RuntimeError("SEARCH_BACKEND=meilisearch needs PORTAL_MEILI_URL")
        return cls(config["MEILI_URL"], config.get("MEILI_KEY", ""), config.get("MEILI_INDEX", "results"))

    @property
    def client(self):
        if self._client is None:
            import meilisearch

            self._client = meilisearch.Client(self.url, self.api_key, timeout=10)
        return self._client

    def _wait(self, task_info, timeout_ms: int = TASK_TIMEOUT_MS) -> None:
        task = self.client.wait_for_task(task_info.task_uid, timeout_in_ms=timeout_ms, interval_in_ms=50)
        if task.status != "succeeded":
            raise RuntimeError(f"Meilisearch task {task.uid} {task.status}: {task.error}")

    def _create(self, uid: str) -> None:
        from meilisearch.errors import MeilisearchApiError

        try:
            self.client.get_index(uid)
        except MeilisearchApiError:
            self._wait(self.client.create_index(uid, {"primaryKey": "id"}))
        self._wait(self.client.index(uid).update_settings(dict(SETTINGS)))

    def _ensure(self) -> None:
        if not self._configured:
            self._create(self.index_uid)
            self._configured = True

    @property
    def index(self):
        return self.client.index(self.index_uid)

    # -- writing ---------------------------------------------------------------------------

    @_unavailable
    def upsert(self, documents: Iterable[Mapping[str, Any]]) -> None:
        docs = [_clean(d) for d in documents]
        if not docs:
            return
        self._ensure()
        for start in range(0, len(docs), BATCH):
            self._wait(self.index.add_documents(docs[start:start + BATCH], primary_key="id"), BULK_TIMEOUT_MS)

    @_unavailable
    def remove(self, record_ids: Iterable[str]) -> None:
        ids = [str(i) for i in record_ids]
        if ids:
            self._ensure()
            # By filter on the (filterable) id: the client deprecated deleting by a list of ids.
            for start in range(0, len(ids), 1000):
                chunk = ids[start:start + 1000]
                self._wait(self.index.delete_documents(filter=_id_in(chunk)))

    @_unavailable
    def clear(self) -> None:
        self._ensure()
        self._wait(self.index.delete_all_documents())

    @_unavailable
    def rebuild(self, documents: Iterable[Mapping[str, Any]],
                progress: Callable[[int], None] | None = None) -> int:
        """Fill a fresh index, then swap it with the live one (swap-indexes API): no downtime."""
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        build_uid = f"{self.index_uid}_build_{stamp}"
        self._create(build_uid)
        self._ensure()
        build = self.client.index(build_uid)
        count = 0
        batch: list[dict] = []
        try:
            for doc in documents:
                batch.append(_clean(doc))
                if len(batch) >= BATCH:
                    self._wait(build.add_documents(batch, primary_key="id"), BULK_TIMEOUT_MS)
                    count += len(batch)
                    batch = []
                    if progress is not None:
                        progress(count)
            if batch:
                self._wait(build.add_documents(batch, primary_key="id"), BULK_TIMEOUT_MS)
                count += len(batch)
            if progress is not None:
                progress(count)
            self._wait(self.client.swap_indexes([{"indexes": [self.index_uid, build_uid]}]))
        finally:
            # After the swap the build uid holds the old documents; on failure, the half-built ones.
            self._wait(self.client.delete_index(build_uid))
        return count

    @_unavailable
    def drop(self) -> None:
        """Delete the whole index (tests)."""
        self._wait(self.client.delete_index(self.index_uid))

    # -- reading ---------------------------------------------------------------------------

    @_unavailable
    def count(self) -> int:
        return self.index.get_stats().number_of_documents

    @_unavailable
    def fingerprints(self) -> dict[str, str]:
        out: dict[str, str] = {}
        offset = 0
        while True:
            page = self.index.get_documents({"fields": ["id", "digest"], "limit": 1000, "offset": offset})
            for doc in page.results:
                data = doc if isinstance(doc, dict) else dict(doc)
                out[str(data["id"])] = data.get("digest", "")
            offset += len(page.results)
            if not page.results or offset >= page.total:
                return out

    @_unavailable
    def search(self, query: SearchQuery) -> SearchPage:
        text = fold(query.text).strip()
        filters = []
        for name, value in (query.filters or {}).items():
            if name not in FILTERS:
                raise ValueError(f"unknown search filter {name!r}")
            if value not in (None, ""):
                filters.append(f'{FILTERS[name]} = "{_quote(str(value))}"')
        if query.sort not in SORTS:
            raise ValueError(f"unknown sort {query.sort!r}")
        unknown = set(query.facets) - set(FACETS)
        if unknown:
            raise ValueError(f"unknown facets {sorted(unknown)}")
        if not text and not filters:
            return SearchPage(total=0, hits=[], page=query.page, per_page=query.per_page)
        if query.exclude:
            filters.append(f"NOT {_id_in(query.exclude)}")
        start = min(query.start, MAX_HITS)
        limit = max(0, min(query.per_page, MAX_HITS - start))
        if query.offset is None and limit == query.per_page:
            # page/hitsPerPage: the server counts every hit exactly (offset/limit only estimates)
            window: dict[str, Any] = {"page": start // query.per_page + 1, "hitsPerPage": query.per_page}
        else:
            window = {"offset": start, "limit": limit}
        params: dict[str, Any] = {
            **window,
            "matchingStrategy": "all",
            "attributesToHighlight": SEARCHABLE,
            "highlightPreTag": _PRE, "highlightPostTag": _POST,
            "attributesToCrop": ["summary", "scan"], "cropLength": 40, "cropMarker": "…",
            "attributesToRetrieve": ["id"],
            "showRankingScore": True,
        }
        if filters:
            params["filter"] = filters
        if query.sort != "relevance" or not text:
            params["sort"] = _SORT.get(query.sort, _SORT["newest"])
        if query.facets:
            params["facets"] = list(query.facets)
        result = self.index.search(text, params)
        hits = [SearchHit(id=str(hit["id"]), score=float(hit.get("_rankingScore", 0.0)),
                          highlights=_highlights(hit.get("_formatted", {})))
                for hit in result["hits"]]
        total = result.get("totalHits", result.get("estimatedTotalHits", 0))
        return SearchPage(total=int(total), hits=hits, page=query.page, per_page=query.per_page,
                          facets=_facets(result.get("facetDistribution") or {}, query.facets))


def _clean(doc: Mapping[str, Any]) -> dict[str, Any]:
    import unicodedata

    out = {}
    for key, value in doc.items():
        if isinstance(value, str):
            value = unicodedata.normalize("NFC", value)
        elif isinstance(value, list):
            value = [unicodedata.normalize("NFC", v) if isinstance(v, str) else v for v in value]
        out[key] = value
    return out


def _facets(distribution: Mapping[str, Mapping[str, int]], names: Iterable[str]) -> dict:
    """facetDistribution → {field: [(value, count)]}, most frequent first (as on tantivy)."""
    return {name: sorted(((str(v), int(c)) for v, c in (distribution.get(name) or {}).items() if c),
                         key=lambda pair: (-pair[1], pair[0]))
            for name in names}


def _id_in(ids: Iterable[str]) -> str:
    return "id IN [" + ", ".join(f'"{_quote(str(i))}"' for i in ids) + "]"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _highlights(formatted: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for field in SEARCHABLE:
        value = formatted.get(field)
        if isinstance(value, list):
            value = " · ".join(str(v) for v in value if v)
        if not value or _PRE not in value:
            continue
        out[field] = html.escape(value).replace(_PRE, "<mark>").replace(_POST, "</mark>")
    return out
