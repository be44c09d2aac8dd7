"""Pages of a listing: how many there are, counted the same way on every list."""

from __future__ import annotations

from flask import request, url_for


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


def page_links(page: int, pages: int, parameters) -> dict[str, str | None]:
    """Root-relative addresses of the pages of the list this request shows (API answers' ``links``):
    the request's own ``parameters`` kept as sent, unknown ones dropped; next/prev None at the ends."""
    args = {key: value for key, value in request.args.items() if key in parameters and key != "page"}

    def at(number: int) -> str:
        return url_for(request.endpoint, **request.view_args, **args, page=number)

    return {"self": at(page), "first": at(1), "last": at(pages),
            "next": at(page + 1) if page < pages else None,
            "prev": at(min(page - 1, pages)) if page > 1 else None}
