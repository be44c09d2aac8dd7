"""The scorecard served from snapshots (issue 12): the pages read stored figures and run none of the
metric queries; refresh counts every scope and period again, exactly as `metrics.compute` would;
a missing snapshot is counted on its first request; the page and the CSV say when the figures were
counted; the worker's periodic task refreshes when due.
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import clock
from portal.copy_requests.models import CopyRequest
from portal.db import utcnow
from portal.scorecard import metrics, snapshots
from portal.scorecard.models import ScorecardSnapshot
from tests.scorecard.test_scorecard import _cells, dataset, expected  # noqa: F401  (the dataset fixture)
from tests.web.test_sql_budget import counting

#: Tables the metrics count: a page served from a snapshot reads none of them.
METRIC_TABLES = re.compile(
    r"\b(copy_request|copy_request_event|rating|rating_score|petition|record|record_file)\b")


def _metric_queries(client, url: str) -> list[str]:
    with counting() as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return [s for s in statements if METRIC_TABLES.search(s.lower())]


def _snapshots(session) -> set[tuple[str, str]]:
    return {tuple(row) for row in session.execute(select(ScorecardSnapshot.scope, ScorecardSnapshot.period))}


def _same(a, b, path="card") -> None:
    """Equal JSON values, floats to 1e-9 (a median is averaged in SQL on one path, in Python on the other)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None and math.isclose(a, b, abs_tol=1e-9), (path, a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b, (path, a, b)


def test_compute_many_counts_what_compute_counts(db_session, dataset):  # noqa: F811
    today = clock.today()
    periods = metrics.offered_periods(today)
    units = [dataset.units["A"], dataset.units["B"], dataset.empty_unit]
    cards = metrics.compute_many(db_session, units, periods, dataset.now)
    for period in periods:
        _same(snapshots.encode(cards[None, period]),
              snapshots.encode(metrics.compute(db_session, None, period, dataset.now, with_ranking=True)))
        for unit in units:
            _same(snapshots.encode(cards[unit.id, period]),
                  snapshots.encode(metrics.compute(db_session, unit, period, dataset.now)))


def test_encode_and_decode_give_the_same_scorecard(db_session, dataset):  # noqa: F811
    card = metrics.compute(db_session, None, metrics.last_twelve_months(clock.today()), dataset.now,
                           with_ranking=True)
    again = snapshots.decode(db_session, snapshots.encode(card), None)
    assert again == card  # dataclasses: every figure, row and ranked unit


def test_refresh_stores_every_scope_and_period_offered(db_session, dataset):  # noqa: F811
    now = utcnow()
    report = snapshots.refresh(db_session, now)
    db_session.commit()
    keys = {snapshots.period_key(p) for p in metrics.offered_periods(clock.today())}
    stored = _snapshots(db_session)
    # The city and the two units with data; not the unit that has none.
    assert stored == {(scope, key) for scope in ("city", dataset.units["A"].code, dataset.units["B"].code)
                      for key in keys}
    assert (report.scorecards, report.scopes, report.periods) == (len(stored), 3, len(keys))
    assert set(db_session.scalars(select(ScorecardSnapshot.computed_at))) == {now}


def test_pages_from_a_snapshot_run_no_metric_query(client, db_session, dataset):  # noqa: F811
    snapshots.refresh(db_session, utcnow())
    db_session.commit()
    code = dataset.units["A"].code
    for url in ("/scorecard", "/scorecard.csv", f"/scorecard/{code}", f"/scorecard/{code}.csv",
                f"/scorecard?year={clock.today().year}", "/scorecard?ranking=all"):
        assert _metric_queries(client, url) == [], url
    # And the figures are the right ones.
    cells = _cells(client.get(f"/scorecard/{code}").get_data(as_text=True))
    assert cells["requests_received"] == str(expected(dataset, "A")["requests_received"][0])


def test_a_missing_snapshot_is_counted_on_its_first_request_then_kept(client, db_session, dataset):  # noqa: F811
    code = dataset.units["B"].code
    year = clock.today().year - 1
    assert _snapshots(db_session) == set()
    assert _metric_queries(client, f"/scorecard/{code}?year={year}")  # counted live
    db_session.expire_all()
    assert _snapshots(db_session) == {(code, str(year))}
    assert _metric_queries(client, f"/scorecard/{code}?year={year}") == []  # then served
    # The next refresh keeps it fresh, though that year is offered anyway; an unknown scope goes.
    db_session.add(ScorecardSnapshot(scope="99999", period="2021", figures={}, computed_at=utcnow()))
    db_session.commit()
    snapshots.refresh(db_session, utcnow())
    db_session.commit()
    assert (code, str(year)) in _snapshots(db_session)
    assert not any(scope == "99999" for scope, _period in _snapshots(db_session))


def test_a_year_outside_the_selector_is_kept_fresh_once_asked_for(client, db_session, dataset):  # noqa: F811
    year = metrics.FIRST_YEAR
    if year in metrics.offered_years(clock.today()):
        pytest.skip("every valid year is offered until 2026")
    client.get(f"/scorecard?year={year}")
    snapshots.refresh(db_session, utcnow())
    db_session.commit()
    assert ("city", str(year)) in _snapshots(db_session)


def test_refresh_shows_new_data_and_the_page_says_when(app, client, db_session, dataset):  # noqa: F811
    counted = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=7)
    snapshots.refresh(db_session, counted)
    db_session.commit()
    code = dataset.units["A"].code
    before = expected(dataset, "A")["requests_received"][0]
    html = client.get(f"/scorecard/{code}").get_data(as_text=True)
    assert _cells(html)["requests_received"] == str(before)
    at = clock.in_hanoi(counted)
    assert (f"Số liệu cập nhật lúc {at:%H:%M} ngày {at:%d/%m/%Y}, làm mới mỗi 15 phút.") in html
    with app.app_context():  # its own, as outside tests (babel keeps the locale in g)
        english = client.get(f"/scorecard/{code}?lang=en").get_data(as_text=True)
    assert f"Figures as of {at:%H:%M} on {at:%d/%m/%Y}, counted again every 15 minutes." in english

    # A new request: the page keeps the counted figures until the next refresh.
    first = db_session.scalar(select(CopyRequest).where(CopyRequest.unit_id == dataset.units["A"].id)
                              .order_by(CopyRequest.id))
    db_session.add(CopyRequest(
        reference="BS-2026-999999", record_id=first.record_id, requester_id=first.requester_id,
        unit_id=first.unit_id, kind="electronic", purpose="Bổ sung", pages=1, fee_vnd=0,
        submitted_at=utcnow(), due_at=utcnow() + timedelta(hours=8), state="submitted"))
    db_session.commit()
    assert _cells(client.get(f"/scorecard/{code}").get_data(as_text=True))["requests_received"] == str(before)
    snapshots.refresh(db_session, utcnow())
    db_session.commit()
    html = client.get(f"/scorecard/{code}").get_data(as_text=True)
    assert _cells(html)["requests_received"] == str(before + 1)


def test_the_csv_carries_the_time_of_counting(client, db_session, dataset):  # noqa: F811
    counted = utcnow().replace(microsecond=0) - timedelta(minutes=3)
    snapshots.refresh(db_session, counted)
    db_session.commit()
    response = client.get("/scorecard.csv")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows and {row["computed_at"] for row in rows} == {clock.in_hanoi(counted).isoformat()}
    assert rows[0]["computed_at"].endswith("+07:00")


def test_refresh_minutes_come_from_the_config(make_app):
    app = make_app(SCORECARD_REFRESH_MINUTES=5)
    with app.app_context():
        html = app.test_client().get("/scorecard").get_data(as_text=True)
    assert "làm mới mỗi 5 phút." in html


def test_a_snapshot_of_another_format_is_counted_again(client, db_session, dataset):  # noqa: F811
    snapshots.refresh(db_session, utcnow())
    db_session.commit()
    row = db_session.get(ScorecardSnapshot, ("city", snapshots.LAST_12_MONTHS))
    row.figures = {**row.figures, "format": snapshots.FORMAT - 1}
    db_session.commit()
    assert _metric_queries(client, "/scorecard")  # counted again…
    db_session.expire_all()
    assert db_session.get(ScorecardSnapshot, ("city", snapshots.LAST_12_MONTHS)).figures["format"] == \
        snapshots.FORMAT  # …and stored in today's format
    assert _metric_queries(client, "/scorecard") == []


def test_the_worker_refreshes_every_minute_when_due(app, db_session, dataset):  # noqa: F811
    from portal import worker
    from portal.scorecard.tasks import refresh_when_due

    assert "scorecard.refresh" in [task.__name__ for task in worker.huey._registry._periodic_tasks]
    assert refresh_when_due.task_class().validate_datetime(utcnow())  # every minute

    assert refresh_when_due.call_local() > 0  # nothing stored yet: due
    assert refresh_when_due.call_local() == 0  # fresh
    every = timedelta(minutes=app.config["SCORECARD_REFRESH_MINUTES"])
    assert snapshots.refresh_if_due(db_session, utcnow() + every - timedelta(minutes=1), every) is None
    assert snapshots.refresh_if_due(db_session, utcnow() + every, every) is not None


def test_the_cli_refreshes(runner, db_session, dataset):  # noqa: F811
    result = runner.invoke(args=["scorecard", "refresh"])
    assert result.exit_code == 0, result.output
    assert "3 phạm vi / scopes" in result.output
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(ScorecardSnapshot)) == 3 * len(
        metrics.offered_periods(clock.today()))
