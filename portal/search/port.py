"""The search port: what every backend (embedded tantivy, Meilisearch) must do."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class SearchQuery:
    text: str  # folded by text.fold() in every adapter
    #: e.g. {"access": "public", "unit": "00167"}; all must hold.
    filters: Mapping[str, str] = field(default_factory=dict)
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class SearchHit:
    id: str  # the record's source_id
    score: float
    #: field name → HTML-safe snippet with <mark>…</mark> around matched words, original diacritics.
    highlights: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: list[SearchHit]
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class SearchUnavailable(Exception):
    """The engine is down or its index is missing: callers fall back to the database."""


class SearchBackend(Protocol):
    def search(self, query: SearchQuery) -> SearchPage: ...

    def upsert(self, documents: Iterable[Mapping[str, Any]]) -> None: ...  # returns once visible

    def remove(self, record_ids: Iterable[str]) -> None: ...

    def count(self) -> int: ...

    def clear(self) -> None: ...
