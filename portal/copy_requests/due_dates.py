"""When a copy request is due, in working days of Hanoi's one-stop desks (`portal.clock`).

Received on a working day before the cutoff (15:00 in Hanoi): due that day at the close of office
hours (17:00). After the cutoff, or on a day off: the next working day. Some kinds take longer
(paper copies: printed, certified, posted): ``extra_working_days`` more.
"""

from __future__ import annotations

from datetime import datetime

from portal import casework
from portal.clock import Calendar, load_calendar
from portal.copy_requests import workflow
from portal.copy_requests.models import CopyRequest


def due_at(received: datetime, kind: str = "", calendar: Calendar | None = None) -> datetime:
    return (calendar or load_calendar()).due_at(received, kind)


def is_overdue(request: CopyRequest, now: datetime) -> bool:
    """Still open (submitted or in progress) past its due time."""
    return casework.is_overdue(request, workflow.OPEN, now)


def overdue_clause(now: datetime):
    """The SQL twin of `is_overdue`."""
    return casework.overdue_clause(CopyRequest, workflow.OPEN, now)
