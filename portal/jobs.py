"""Background work on huey: SQLite queues under PORTAL_DATA_DIR by default, Redis when configured.

Three queues, three consumers:

- ``huey`` ("portal"): general work (e-mail from the outbox, portal/mail_outbox.py),
  ``huey_consumer portal.worker.huey``;
- ``index_huey`` ("portal-index"): index writes only, consumed by exactly one worker
  (``huey_consumer portal.worker.index_huey --workers 1``): the embedded engine allows one writer
  per index, and one consumer thread keeps index writes in order without a lock that a killed
  worker would leave behind;
- ``import_huey`` ("portal-import"): staff batch imports (portal/imports/tasks.py),
  ``huey_consumer portal.worker.import_huey --workers 1``: an import runs for minutes or hours and
  must not hold up e-mail.

Queues are chosen from the environment at import because the consumer imports this module
without an app. Tasks build their own app in the consumer process, lazily, after any fork, with
the factory `portal.worker` hands over (`use_app_factory`): this module imports no area.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey

from portal.extensions import db


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
#: OCR of stored scans (portal/ocr/tasks.py), ``huey_consumer portal.worker.ocr_huey --workers 1``:
#: minutes of Tesseract per batch must never hold up imports, e-mail or index writes.
ocr_huey = make_huey(os.environ.get("PORTAL_OCR_QUEUE", "portal-ocr"), "ocr-queue.sqlite3")
index_huey = make_index_huey()
import_huey = make_huey(os.environ.get("PORTAL_IMPORT_QUEUE", "portal-import"), "import-queue.sqlite3")


#: How the consumer builds its app (set by portal.worker) and the app once built.
_factory: Callable[[], Flask] | None = None
_consumer: Flask | None = None


def use_app_factory(factory: Callable[[], Flask]) -> None:
    """Tasks outside a request or command run in an app built by ``factory``, once per process."""
    global _factory
    _factory = factory


def _consumer_app() -> Flask:
    global _consumer
    if _consumer is None:
        if _factory is None:
            raise RuntimeError("no app factory: start consumers with huey_consumer portal.worker.huey "
                               "(or portal.worker.index_huey)")
        _consumer = _factory()
    return _consumer


@contextmanager
def app_context() -> Iterator[Flask]:
    """The current app when a request or command runs the task inline, else the consumer's own."""
    if has_app_context():
        yield current_app._get_current_object()
        return
    app = _consumer_app()
    with app.app_context():
        yield app


def with_session(work: Callable[[Any], int]) -> int:
    """Run ``work(session)`` in a task; the session is removed after, unless a request or command
    runs the task inline (its session is not ours to close)."""
    inline = has_app_context()
    with app_context():
        try:
            return work(db.session)
        finally:
            if not inline:
                db.session.remove()


def init_app(app: Flask) -> None:
    if app.config["HUEY_IMMEDIATE"]:
        huey.immediate = True
        index_huey.immediate = True
        ocr_huey.immediate = True
        import_huey.immediate = True
    app.extensions["portal.huey"] = huey
    app.extensions["portal.index_huey"] = index_huey
    app.extensions["portal.import_huey"] = import_huey
