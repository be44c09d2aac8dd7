"""Pages of a listing: how many there are, counted the same way on every list."""

from __future__ import annotations


def page_count(total: int, per_page: int) -> int:
    """Pages needed for ``total`` rows, ``per_page`` a page; an empty list still has page 1."""
    return max(1, -(-total // per_page))


class Paged:
    """Mixin for a page of rows that carries ``total`` and ``per_page``: adds ``pages``."""

    total: int
    per_page: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)
