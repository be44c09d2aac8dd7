"""Background work on huey: a SQLite queue under PORTAL_DATA_DIR by default, Redis when configured.

The queue is chosen from the environment at import because the consumer
(`huey_consumer portal.jobs.huey`) imports this module without an app. Tasks build
their own app in the consumer process, lazily, after any fork.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey


def _from_env() -> Huey:
    redis_url = os.environ.get("PORTAL_REDIS_URL")
    if redis_url:
        return RedisHuey("portal", url=redis_url)
    data_dir = Path(os.environ.get("PORTAL_DATA_DIR", "var")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("portal", filename=str(data_dir / "queue.sqlite3"))


huey = _from_env()


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
    app.extensions["portal.huey"] = huey
