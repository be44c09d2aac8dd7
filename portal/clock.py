"""Hanoi's clock and the one-stop desks' working days: the one place that knows either.

Days off are weekends and Vietnamese public holidays as the `holidays` library lists them (Tết and
the others, with the weekend swaps it knows), plus the ``days_off`` of the calendar file (bridge
days the Government announces each year); ``working_days`` are weekend days worked in exchange.
The file (default ``portal/data/due_dates.json``, replaced by ``COPY_DUE_DATES_FILE``) also holds
the office hours and, per kind of copy, the working days a copy takes beyond the first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays

#: Every date a person reads (issue dates, "valid as of", deadlines) is a date in Hanoi.
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
#: The name, for settings that want a string (Babel's default time zone).
HANOI_NAME = HANOI.key
DEFAULT_CALENDAR_FILE = Path(__file__).parent / "data" / "due_dates.json"


def now() -> datetime:
    """The current time in Hanoi (aware)."""
    return datetime.now(HANOI)


def today() -> date:
    """Today's date in Hanoi: what "still valid today" means, whatever the server's zone."""
    return now().date()


def in_hanoi(moment: datetime) -> datetime:
    """An aware moment as Hanoi's wall clock shows it."""
    return moment.astimezone(HANOI)


def _time(value: str) -> time:
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes or 0))


@dataclass(frozen=True)
class Calendar:
    cutoff: time = time(15, 0)
    office_close: time = time(17, 0)
    #: Kind of copy → working days added after the first one.
    extra_working_days: dict[str, int] = field(default_factory=dict)
    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.days_off:
            return False
        if day in self.working_days:
            return True
        return _vietnam(day.year).is_working_day(day)

    def next_working_day(self, day: date) -> date:
        """The first working day after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def due_at(self, received: datetime, kind: str = "") -> datetime:
        """The close of office hours on the day something received at ``received`` is due (aware):
        that day before the cutoff on a working day, else the next working day, plus the extra
        working days of ``kind``. Raises ValueError for a naive datetime."""
        if received.tzinfo is None:
            raise ValueError("naive datetime; pass an aware one")
        local = in_hanoi(received)
        day = local.date()
        if not self.is_working_day(day) or local.time() >= self.cutoff:
            day = self.next_working_day(day)
        for _ in range(self.extra_working_days.get(str(kind), 0)):
            day = self.next_working_day(day)
        return datetime.combine(day, self.office_close, tzinfo=HANOI)

    def after_working_days(self, received: datetime, days: int) -> datetime:
        """The close of office hours on the ``days``-th working day after the day of ``received``
        (aware): a deadline "within N working days of receipt" (petitions, Decree 20/2008)."""
        if received.tzinfo is None:
            raise ValueError("naive datetime; pass an aware one")
        day = in_hanoi(received).date()
        if days <= 0:
            return self.due_at(received)
        for _ in range(days):
            day = self.next_working_day(day)
        return datetime.combine(day, self.office_close, tzinfo=HANOI)


@lru_cache(maxsize=64)
def _vietnam(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year)


def parse_calendar(data: dict) -> Calendar:
    return Calendar(
        cutoff=_time(data.get("cutoff", "15:00")),
        office_close=_time(data.get("office_close", "17:00")),
        extra_working_days={str(k): int(v) for k, v in data.get("extra_working_days", {}).items()},
        days_off=frozenset(date.fromisoformat(d) for d in data.get("days_off", [])),
        working_days=frozenset(date.fromisoformat(d) for d in data.get("working_days", [])),
    )


@lru_cache(maxsize=8)
def load_calendar(path: str | Path | None = None) -> Calendar:
    """The calendar of ``path`` (default: the packaged data/due_dates.json), read once per process."""
    with open(path or DEFAULT_CALENDAR_FILE, encoding="utf-8") as f:
        return parse_calendar(json.load(f))


def calendar_from_config(config: Mapping[str, Any]) -> Calendar:
    """The calendar the app is configured with (``COPY_DUE_DATES_FILE``, else the packaged one)."""
    return load_calendar(config.get("COPY_DUE_DATES_FILE") or None)


def spoken(moment: datetime | None) -> str:
    """"14:05 ngày 03/12/2026": a moment as Vietnamese letters and mails write it, in Hanoi time."""
    return in_hanoi(moment).strftime("%H:%M ngày %d/%m/%Y") if moment else ""
