"""Figures counted over every result (how many the portal holds, how many per unit): kept a while.

At a million results such a count is a scan (the units index: 0.9 s on PostgreSQL), and a page
that shows "1.234 kết quả" does not need it exact to the second. Each process keeps each figure
for ``PUBLIC_COUNTS_MAX_AGE`` seconds (default 300); unset in tests, where it is 0 (counted each
time), so a test that adds a result sees it counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from cachelib import SimpleCache
from flask import current_app
from sqlalchemy.orm import Session

T = TypeVar("T")
_kept = SimpleCache(threshold=64)


def max_age() -> int:
    setting = current_app.config.get("PUBLIC_COUNTS_MAX_AGE")
    if setting is None:
        return 0 if current_app.testing else 300
    return int(setting)


def kept(session: Session, name: str, count: Callable[[], T]) -> T:
    """``count()``, or what it gave for this database less than max_age() seconds ago."""
    seconds = max_age()
    if seconds <= 0:
        return count()
    key = f"{session.get_bind().url}:{name}"
    value = _kept.get(key)
    if value is None:
        value = count()
        _kept.set(key, value, timeout=seconds)
    return value


def forget() -> None:
    """Count everything anew on the next request (tests that load data, then read a page)."""
    _kept.clear()
