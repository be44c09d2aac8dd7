"""Rate limits on the forms anyone can send (Flask-Limiter): per client address, counted in Redis
when PORTAL_REDIS_URL is set (shared by every worker), else in the process's memory.

    @bp.route("/feedback/petitions/new", methods=["GET", "POST"])
    @limit_posts("FEEDBACK_PETITION_RATE_LIMIT")
    def new(): ...

Only POSTs count: reading a form is free. Over the limit the person gets the 429 page, in
Vietnamese, with a Retry-After header; nothing they typed was stored.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # A storage outage must not take the forms down with it: let requests through and log it.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)


def limit_posts(config_key: str) -> Callable:
    """Limit POSTs of the view to ``app.config[config_key]`` ("5 per hour;20 per day")."""
    return limiter.limit(lambda: current_app.config[config_key], methods=["POST"], scope=config_key)
