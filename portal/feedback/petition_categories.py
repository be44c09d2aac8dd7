"""Petition categories and deadlines: what a petition is about decides how long its unit has.

The categories come from ``FEEDBACK_PETITION_CATEGORIES_FILE`` (default: the packaged
``data/petition_categories.json``), each with the working days its answer may take; the
``default`` one ("unclassified") sets the deadline of a petition just received. A deadline counts
working days of Hanoi's one-stop desks (`portal.clock`) from the day of receipt, whatever the
category chosen later or a forward to another unit (Decree 20/2008 counts from when the
administration received it): a forward never buys time. What is overdue is `portal.casework`'s rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from portal import casework, clock
from portal.clock import Calendar, load_calendar
from portal.db import utcnow
from portal.feedback.models import Petition, PetitionState

DEFAULT_CATEGORIES_FILE = Path(__file__).parent / "data" / "petition_categories.json"

OPEN_STATES = frozenset({PetitionState.RECEIVED.value, PetitionState.IN_PROGRESS.value})


# -- categories -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    id: str
    vi: str
    en: str
    working_days: int


@dataclass(frozen=True)
class Categories:
    default: str
    items: tuple[Category, ...]

    def get(self, category_id: str) -> Category | None:
        return next((c for c in self.items if c.id == category_id), None)

    @property
    def default_category(self) -> Category:
        category = self.get(self.default)
        assert category is not None  # checked by parse_categories
        return category

    def days_for(self, category_id: str) -> int:
        return (self.get(category_id) or self.default_category).working_days


def parse_categories(data: Mapping) -> Categories:
    """Categories from the JSON shape of data/petition_categories.json. Raises ValueError saying
    what is wrong: a bad file must stop the app at boot, not the first clerk who classifies."""
    if not isinstance(data, Mapping) or not isinstance(data.get("categories"), list) \
            or not data["categories"]:
        raise ValueError("petition categories: a non-empty 'categories' list is required")
    items, seen = [], set()
    for raw in data["categories"]:
        if not isinstance(raw, Mapping):
            raise ValueError("petition categories: each category is an object")
        cid, days = raw.get("id"), raw.get("working_days")
        if not isinstance(cid, str) or not re.fullmatch(r"[a-z0-9_]{1,30}", cid):
            raise ValueError(f"petition categories: bad id {cid!r} (a-z, 0-9, _; at most 30)")
        if cid in seen:
            raise ValueError(f"petition categories: duplicate id {cid!r}")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            raise ValueError(f"petition categories: {cid}: working_days must be a whole number 1..365")
        for lang in ("vi", "en"):
            if not isinstance(raw.get(lang), str) or not raw[lang].strip():
                raise ValueError(f"petition categories: {cid}: a {lang!r} name is required")
        seen.add(cid)
        items.append(Category(cid, raw["vi"], raw["en"], days))
    default = data.get("default")
    if default not in seen:
        raise ValueError(f"petition categories: default {default!r} is not one of the categories")
    return Categories(default=default, items=tuple(items))


@lru_cache(maxsize=8)
def load_categories(path: str | Path | None = None) -> Categories:
    """The categories of ``path`` (default: the packaged file), read and validated once per process."""
    with open(path or DEFAULT_CATEGORIES_FILE, encoding="utf-8") as f:
        return parse_categories(json.load(f))


def categories_from_config(config: Mapping) -> Categories:
    return load_categories(config.get("FEEDBACK_PETITION_CATEGORIES_FILE") or None)


def due_at(received: datetime, category_id: str, categories: Categories | None = None,
           calendar: Calendar | None = None) -> datetime:
    """The deadline of a petition received at ``received`` in category ``category_id`` (the
    default category's for an unknown or empty one): the close of office hours on the category's
    last working day."""
    categories = categories or load_categories()
    return (calendar or load_calendar()).after_working_days(received, categories.days_for(category_id))


# -- deadlines ------------------------------------------------------------------------------------


def is_open(petition: Petition) -> bool:
    return petition.state in OPEN_STATES


def is_overdue(petition: Petition, now: datetime | None = None) -> bool:
    """Still open (received or in progress) past its deadline."""
    return casework.is_overdue(petition, OPEN_STATES, now or utcnow())


def answered_late(petition: Petition) -> bool:
    """Answered after its deadline."""
    return petition.answered_at is not None and petition.answered_at > petition.due_at


def days_left(petition: Petition, now: datetime | None = None) -> int:
    """Calendar days from today (Hanoi) to the deadline's day: negative when overdue by that many."""
    now = now or utcnow()
    return (clock.in_hanoi(petition.due_at).date() - clock.in_hanoi(now).date()).days


def overdue_clause(now: datetime):
    """The SQL twin of `is_overdue`, for the staff's queue."""
    return casework.overdue_clause(Petition, OPEN_STATES, now)
