"""Due dates in working days: the 15:00 cutoff, weekends, Tết and the other public holidays."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import holidays
import pytest

from portal.clock import HANOI
from portal.copy_requests import due_dates, services


def at(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=HANOI)


def close_of(y, m, d) -> datetime:
    return datetime(y, m, d, 17, 0, tzinfo=HANOI)


def test_the_library_knows_tet_2026():
    vn = holidays.country_holidays("VN", years=2026)
    # Lunar New Year 2026 is Tuesday 17 February; the days off run Monday 16 to Friday 20.
    assert "Tết" in vn[date(2026, 2, 17)]
    assert all(date(2026, 2, d) in vn for d in range(16, 21))


def test_before_the_cutoff_it_is_due_the_same_day():
    assert due_dates.due_at(at(2026, 3, 10, 14, 59)) == close_of(2026, 3, 10)
    assert due_dates.due_at(at(2026, 3, 10, 8, 0)) == close_of(2026, 3, 10)


def test_at_or_after_the_cutoff_it_is_due_the_next_working_day():
    assert due_dates.due_at(at(2026, 3, 10, 15, 0)) == close_of(2026, 3, 11)
    assert due_dates.due_at(at(2026, 3, 10, 23, 59)) == close_of(2026, 3, 11)


def test_the_cutoff_is_in_hanoi_time_whatever_the_zone_of_the_input():
    # 07:59 UTC is 14:59 in Hanoi; 08:00 UTC is 15:00.
    assert due_dates.due_at(datetime(2026, 3, 10, 7, 59, tzinfo=UTC)) == close_of(2026, 3, 10)
    assert due_dates.due_at(datetime(2026, 3, 10, 8, 0, tzinfo=UTC)) == close_of(2026, 3, 11)
    with pytest.raises(ValueError):
        due_dates.due_at(datetime(2026, 3, 10, 8, 0))


def test_a_weekend_is_skipped():
    # Friday 6 March 2026 after 15:00 → Monday 9 March; Saturday or Sunday morning → Monday too.
    assert due_dates.due_at(at(2026, 3, 6, 16, 30)) == close_of(2026, 3, 9)
    assert due_dates.due_at(at(2026, 3, 7, 9, 0)) == close_of(2026, 3, 9)
    assert due_dates.due_at(at(2026, 3, 8, 9, 0)) == close_of(2026, 3, 9)


def test_tet_is_skipped():
    # Friday 13 February 2026: before 15:00 it is still due that day; after, the week of Tết and
    # both weekends around it pass: due Monday 23 February.
    assert due_dates.due_at(at(2026, 2, 13, 14, 0)) == close_of(2026, 2, 13)
    assert due_dates.due_at(at(2026, 2, 13, 15, 30)) == close_of(2026, 2, 23)
    assert due_dates.due_at(at(2026, 2, 17, 9, 0)) == close_of(2026, 2, 23)


def test_longer_kinds_add_working_days_across_tet():
    # A paper copy by post takes 3 more working days: 23 Feb → 24, 25, 26 Feb.
    assert due_dates.due_at(at(2026, 2, 13, 15, 30), "paper_post") == close_of(2026, 2, 26)
    assert due_dates.due_at(at(2026, 2, 13, 15, 30), "paper_desk") == close_of(2026, 2, 24)
    assert due_dates.due_at(at(2026, 2, 13, 15, 30), "certified") == close_of(2026, 2, 23)


def test_national_day_and_its_swap_are_known():
    # 31 August 2026 (Monday) is given off in exchange for Saturday 22 August, a working day.
    assert due_dates.due_at(at(2026, 8, 28, 16, 0)) == close_of(2026, 9, 3)
    assert due_dates.due_at(at(2026, 8, 22, 9, 0)) == close_of(2026, 8, 22)


def test_extra_days_off_and_working_days_come_from_data(tmp_path):
    path = tmp_path / "due.json"
    path.write_text(json.dumps({"cutoff": "15:00", "office_close": "16:30",
                                "extra_working_days": {"paper_post": 2},
                                "days_off": ["2026-01-02"], "working_days": ["2026-01-10"]}))
    calendar = services.rules_from_config({"COPY_DUE_DATES_FILE": str(path)}).calendar
    # Wednesday 31 Dec after 15:00: New Year's Day, then the bridge day Friday 2 January, then the weekend.
    assert calendar.due_at(at(2025, 12, 31, 15, 10)) == datetime(2026, 1, 5, 16, 30, tzinfo=HANOI)
    assert due_dates.due_at(at(2025, 12, 31, 15, 10)) == close_of(2026, 1, 2)  # the packaged data: no bridge
    # Friday 9 January after 15:00: Saturday 10 January is worked in exchange.
    assert calendar.due_at(at(2026, 1, 9, 15, 10)) == datetime(2026, 1, 10, 16, 30, tzinfo=HANOI)
    assert calendar.due_at(at(2026, 1, 9, 15, 10), "paper_post") == \
        datetime(2026, 1, 13, 16, 30, tzinfo=HANOI)


def test_is_overdue_only_while_open():
    due = close_of(2026, 3, 10)
    later, earlier = due + timedelta(minutes=1), due - timedelta(minutes=1)
    for state, expected in (("submitted", True), ("in_progress", True), ("issued", False),
                            ("delivered", False), ("rejected", False), ("cancelled", False)):
        request = SimpleNamespace(state=state, due_at=due)
        assert due_dates.is_overdue(request, later) is expected, state
        assert due_dates.is_overdue(request, earlier) is False
