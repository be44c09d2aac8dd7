"""The search port: what every backend (embedded tantivy, Meilisearch) must do."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from portal.paging import Paged

# The document every backend indexes is defined once, by records (`to_document`): its text fields,
# strongest first, and its filter fields are part of this port; the adapters derive their schemas.
from portal.records.documents import FILTER_FIELDS as FILTER_FIELDS
from portal.records.documents import TEXT_FIELDS as TEXT_FIELDS

#: Filter name a caller may pass → document field; "procedure" is another name of procedure_code.
FILTERS = {**{name: name for name in FILTER_FIELDS}, "procedure": "procedure_code"}
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
    """Every method raises SearchUnavailable when the engine or its index cannot be reached."""

    def search(self, query: SearchQuery) -> SearchPage:
        """One page of hits (with highlights) and, if asked, facet counts; ValueError on a bad query."""
        ...

    def upsert(self, documents: Iterable[Mapping[str, Any]]) -> None:
        """Add or replace documents by id; returns once they are searchable."""
        ...

    def remove(self, record_ids: Iterable[str]) -> None:
        """Delete documents by id; unknown ids are ignored."""
        ...

    def rebuild(self, documents: Iterable[Mapping[str, Any]],
                progress: Callable[[int], None] | None = None) -> int:
        """Index exactly these documents beside the live index, then swap it in; returns the count."""
        ...

    def fingerprints(self) -> dict[str, str]:
        """id → digest of every indexed document (`search check` compares them with the database)."""
        ...

    def count(self) -> int:
        """How many documents the index holds."""
        ...

    def clear(self) -> None:
        """Delete every document."""
        ...
