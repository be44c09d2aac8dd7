"""Search: one port, adapters chosen by SEARCH_BACKEND, imported lazily."""

from __future__ import annotations

from flask import Flask, current_app
from werkzeug.utils import import_string

from portal.search.port import SearchBackend

_ADAPTERS = {
    "meilisearch": "portal.search.adapters.meili:MeiliBackend",
    "embedded": "portal.search.adapters.embedded:EmbeddedBackend",
}


def init_app(app: Flask) -> None:
    name = app.config["SEARCH_BACKEND"]
    if name not in _ADAPTERS:  # fail at boot, not on the first citizen's search
        raise RuntimeError(f"SEARCH_BACKEND={name!r}; expected one of {sorted(_ADAPTERS)}")
    # from_config must not open files or connect: gunicorn workers open the index lazily after fork.
    app.extensions["portal.search"] = import_string(_ADAPTERS[name]).from_config(app.config)
    from portal.search import tasks  # noqa: F401  (registers the index nudge with the outbox)


def get_search() -> SearchBackend:
    return current_app.extensions["portal.search"]
