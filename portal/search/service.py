"""Searching results for people: identifiers first, then the engine, the database if it is down.

INTERFACE (implemented by the search work; the pages rely on it):

    search_records(session, text, *, filters=None, page=1, per_page=20, today=None) -> ResultsPage

- An exact identifier (number with notation "123/GPXD" in any spacing/case, or dossier code)
  matches personal results too; those hits carry `restricted=True` and views show only
  type, issuing unit and status.
- Otherwise only public results are searched (filter access=public).
- When the engine raises SearchUnavailable, a plain database search answers and `degraded=True`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portal.records.models import Record


@dataclass(frozen=True)
class RecordHit:
    record: Record
    #: field → HTML snippet with <mark> in original diacritics (already escaped, safe to render).
    highlights: dict[str, str] = field(default_factory=dict)
    #: A personal result found by its exact identifier: show type, unit and status only.
    restricted: bool = False


@dataclass(frozen=True)
class ResultsPage:
    query: str
    total: int
    hits: list[RecordHit]
    page: int
    per_page: int
    #: The engine was unavailable; results come from a plain database search and may be incomplete.
    degraded: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))
