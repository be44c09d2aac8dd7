"""The search port: what every backend (embedded tantivy, Meilisearch) must do."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from portal.paging import Paged

#: Facets every backend counts (document filter fields); values are codes, counts are hits.
FACETS = ("procedure_code", "unit", "current_unit", "year", "status")
#: Sort orders: engine relevance (the default), or by issued_date, newest or oldest first.
SORTS = ("relevance", "newest", "oldest")
#: How deep any backend pages (Meilisearch's pagination.maxTotalHits; tantivy pays offset + limit):
#: hits past this are never returned, the UI says so and asks for filters instead.
MAX_HITS = 100_000
#: At most this many values per facet, most frequent first.
FACET_SIZE = 100


@dataclass(frozen=True)
class SearchQuery:
    text: str  # folded by text.fold() in every adapter
    #: e.g. {"access": "public", "unit": "00167"}; all must hold.
    filters: Mapping[str, str] = field(default_factory=dict)
    page: int = 1
    per_page: int = 20
    #: One of SORTS; ties (and "relevance" without words) fall back to newest first.
    sort: str = "relevance"
    #: Facet fields (from FACETS) to count over every hit of the query and its filters.
    facets: tuple[str, ...] = ()
    #: Document ids left out (the service's identifier hits, already shown above the engine's).
    exclude: tuple[str, ...] = ()
    #: First hit to return, when not page-aligned; default (page - 1) * per_page.
    offset: int | None = None

    @property
    def start(self) -> int:
        return self.offset if self.offset is not None else (max(self.page, 1) - 1) * self.per_page


@dataclass(frozen=True)
class SearchHit:
    id: str  # the record's source_id
    score: float
    #: field name → HTML-safe snippet with <mark>…</mark> around matched words, original diacritics.
    highlights: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchPage(Paged):
    total: int
    hits: list[SearchHit]
    page: int
    per_page: int
    #: facet field → [(value, count)], most frequent first; only the facets the query asked for.
    facets: Mapping[str, list[tuple[str, int]]] = field(default_factory=dict)



class SearchUnavailable(Exception):
    """The engine is down or its index is missing: callers fall back to the database."""


class SearchBackend(Protocol):
    def search(self, query: SearchQuery) -> SearchPage: ...

    def upsert(self, documents: Iterable[Mapping[str, Any]]) -> None: ...  # returns once visible

    def remove(self, record_ids: Iterable[str]) -> None: ...

    def count(self) -> int: ...

    def clear(self) -> None: ...
