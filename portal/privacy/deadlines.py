"""The deadlines of rights requests, kept in data (data/deadlines.json) with the rule behind each,
and when a request received at a given moment is due. Docs: docs/privacy.md."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from portal import clock

DEFAULT_FILE = Path(__file__).parent / "data" / "deadlines.json"
UNITS = ("working_days", "days", "hours")


@dataclass(frozen=True)
class Deadline:
    kind: str
    days: int
    #: "working_days", "days" (calendar days) or "hours" (then ``days`` counts hours).
    unit: str
    acknowledge_working_days: int
    basis_vi: str
    basis_en: str
    #: False: a configured policy whose article the legal department has still to confirm.
    confirmed: bool

    def due_at(self, received: datetime, calendar: clock.Calendar) -> datetime:
        """When a request received at ``received`` (aware) must be carried out: the close of
        office hours on its last day, or ``days`` hours later for a deadline in hours."""
        if self.unit == "hours":
            return received + timedelta(hours=self.days)
        if self.unit == "working_days":
            return calendar.after_working_days(received, self.days)
        day = clock.in_hanoi(received).date() + timedelta(days=self.days)
        return datetime.combine(day, calendar.office_close, tzinfo=clock.HANOI)

    def acknowledge_by(self, received: datetime, calendar: clock.Calendar) -> datetime:
        return calendar.after_working_days(received, self.acknowledge_working_days)


def parse(data: dict) -> dict[str, Deadline]:
    """Raises ValueError for an entry that is not whole days (or hours) of a known unit."""
    found = {}
    for kind, entry in data.items():
        if kind.startswith("_"):
            continue
        if (entry.get("unit") not in UNITS or int(entry["days"]) < 1
                or int(entry["acknowledge_working_days"]) < 0):
            raise ValueError(f"deadline of {kind!r}: expected days >= 1 in one of {UNITS}")
        found[kind] = Deadline(kind=kind, days=int(entry["days"]), unit=entry["unit"],
                               acknowledge_working_days=int(entry["acknowledge_working_days"]),
                               basis_vi=entry["basis_vi"], basis_en=entry["basis_en"],
                               confirmed=bool(entry.get("confirmed", False)))
    return found


@lru_cache(maxsize=4)
def load(path: str | Path | None = None) -> dict[str, Deadline]:
    """Kind of request → its deadline (the packaged file unless ``path``), read once per process."""
    with open(path or DEFAULT_FILE, encoding="utf-8") as handle:
        return parse(json.load(handle))
