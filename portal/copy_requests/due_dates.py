"""When a copy request is due, in working days of Hanoi's one-stop desks.

Received on a working day before the cutoff (15:00, Asia/Ho_Chi_Minh): due that day at the close
of office hours (17:00). After the cutoff, or on a day off: the next working day. Some kinds take
longer (paper copies: printed, certified, posted): ``extra_working_days`` more. Days off are
weekends and Vietnamese public holidays as the `holidays` library lists them (Tết and the others,
with the weekend swaps it knows), plus the ``days_off`` of the data file (bridge days the
Government announces each year); ``working_days`` are weekend days worked in exchange.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

from portal.copy_requests import workflow

TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_FILE = Path(__file__).parent / "data" / "due_dates.json"


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
        """The close of office hours on the day a request received at ``received`` is due (aware)."""
        if received.tzinfo is None:
            raise ValueError("naive datetime; pass an aware one")
        local = received.astimezone(TIMEZONE)
        day = local.date()
        if not self.is_working_day(day) or local.time() >= self.cutoff:
            day = self.next_working_day(day)
        for _ in range(self.extra_working_days.get(str(kind), 0)):
            day = self.next_working_day(day)
        return datetime.combine(day, self.office_close, tzinfo=TIMEZONE)

    def after_working_days(self, received: datetime, days: int) -> datetime:
        """The close of office hours on the ``days``-th working day after the day of ``received``
        (aware): a deadline "within N working days of receipt" (petitions, Decree 20/2008)."""
        if received.tzinfo is None:
            raise ValueError("naive datetime; pass an aware one")
        day = received.astimezone(TIMEZONE).date()
        if days <= 0:
            return self.due_at(received)
        for _ in range(days):
            day = self.next_working_day(day)
        return datetime.combine(day, self.office_close, tzinfo=TIMEZONE)


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
    with open(path or DEFAULT_FILE, encoding="utf-8") as f:
        return parse_calendar(json.load(f))


def due_at(received: datetime, kind: str = "", calendar: Calendar | None = None) -> datetime:
    return (calendar or load_calendar()).due_at(received, kind)


def is_overdue(request, now: datetime) -> bool:
    """Still open (submitted or in progress) past its due time."""
    return workflow.State(request.state) in workflow.OPEN and request.due_at < now
