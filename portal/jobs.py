"""Background work on huey: SQLite queues under PORTAL_DATA_DIR by default, Redis when configured.

Two queues, two consumers:

- ``huey`` ("portal"): general work (e-mail to requesters, portal/copy_requests/tasks.py),
  ``huey_consumer portal.worker.huey``;
- ``index_huey`` ("portal-index"): index writes only, consumed by exactly one worker
  (``huey_consumer portal.worker.index_huey --workers 1``): the embedded engine allows one writer
  per index, and one consumer thread keeps index writes in order without a lock that a killed
  worker would leave behind.

Queues are chosen from the environment at import because the consumer imports this module
without an app. Tasks build their own app in the consumer process, lazily, after any fork.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey


def make_huey(name: str, filename: str, environ: Mapping[str, str] | None = None) -> Huey:
    """A queue called ``name``: on Redis when PORTAL_REDIS_URL is set, else DATA_DIR/``filename``."""
    environ = os.environ if environ is None else environ
    redis_url = environ.get("PORTAL_REDIS_URL")
    if redis_url:
        return RedisHuey(name, url=redis_url)
    data_dir = Path(environ.get("PORTAL_DATA_DIR", "var")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(data_dir / filename))


def make_index_huey(environ: Mapping[str, str] | None = None) -> Huey:
    """The index-writer queue; PORTAL_INDEX_QUEUE renames it (one Redis shared by several installs)."""
    environ = os.environ if environ is None else environ
    return make_huey(environ.get("PORTAL_INDEX_QUEUE", "portal-index"), "index-queue.sqlite3", environ)


huey = make_huey("portal", "queue.sqlite3")
index_huey = make_index_huey()


@cache
def _consumer_app() -> Flask:
    from portal import create_app

    return create_app()


@contextmanager
def app_context() -> Iterator[Flask]:
    """The current app when a request or command runs the task inline, else the consumer's own."""
    if has_app_context():
        yield current_app._get_current_object()
        return
    app = _consumer_app()
    with app.app_context():
        yield app


def init_app(app: Flask) -> None:
    if app.config["HUEY_IMMEDIATE"]:
        huey.immediate = True
        index_huey.immediate = True
    app.extensions["portal.huey"] = huey
    app.extensions["portal.index_huey"] = index_huey
