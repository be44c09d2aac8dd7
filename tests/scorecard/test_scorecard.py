"""The public scorecard: every number on the page, in the CSV and from `metrics` equals a count made
here, in Python, over the rows this test wrote; city vs unit scoping; old unit codes; empty units;
and the demo activity command.

The dataset lies within the last few weeks (so inside the default period, the last 12 months),
plus one request and one rating from 400 days ago that no period figure may count.
"""

from __future__ import annotations

import csv
import io
import re
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal import clock
from portal.clock import HANOI
from portal.copy_requests.models import CopyRequest, CopyRequestEvent
from portal.db import utcnow
from portal.feedback.models import Petition, Rating, RatingScore
from portal.identity.models import Citizen, Subject
from portal.procedures.models import Procedure
from portal.records.models import Document, Record, RecordFile
from portal.scorecard import metrics
from portal.scorecard.models import ScorecardSnapshot
from portal.units.models import AdminUnit, UnitSuccession

ELECTRONIC = {"electronic", "certified"}


@dataclass
class Req:
    unit: str
    kind: str
    ago_h: float  # submitted this many hours before now
    due_h: float  # due this many hours after submission
    outcome: str | None  # "issue", "reject", "cancel" or None (still open)
    after_h: float | None = None  # handled this many hours after submission
    delivered: bool = False


REQUESTS = [
    Req("A", "electronic", 240, 8, "issue", 5, delivered=True),  # on time
    Req("A", "certified", 200, 8, "issue", 30, delivered=True),  # late
    Req("A", "paper_desk", 150, 30, "reject", 10),  # rejected on time
    Req("A", "paper_post", 100, 50, "issue", 49),  # on time, waiting to be posted
    Req("A", "electronic", 90, 8, "reject", 20),  # rejected late
    Req("A", "electronic", 50, 8, None),  # open, overdue
    Req("A", "paper_desk", 3, 40, None),  # open, within its time
    Req("A", "electronic", 30, 8, "cancel", 1),  # cancelled by the requester
    Req("A", "electronic", 24 * 400, 8, "issue", 3),  # long before the period
    Req("B", "electronic", 300, 8, "issue", 2, delivered=True),
    Req("B", "paper_desk", 120, 30, "issue", 40),  # late
    Req("B", "electronic", 70, 8, None),  # open, overdue
]
#: (unit, scale levels, {criterion: value}, hours ago)
RATINGS = [
    ("A", 5, {"overall": 5, "on_time": 4, "staff_attitude": 5, "clarity": 3}, 100),
    ("A", 3, {"overall": 2, "on_time": 1}, 80),
    ("A", 5, {"overall": 3, "staff_attitude": 2}, 60),
    ("A", 3, {"overall": 1}, 40),
    ("A", 5, {"overall": 1}, 24 * 400),  # before the period
    ("B", 5, {"overall": 4, "clarity": 5}, 90),
]
#: (unit or None for the city, state, received hours ago, due hours after receipt, answered hours
#: after receipt, published)
PETITIONS = [
    ("A", "answered", 300, 200, 100, True),  # on time, published
    ("A", "answered", 280, 100, 150, False),  # late
    ("A", "received", 200, 50, None, False),  # open, overdue
    ("A", "in_progress", 20, 200, None, False),  # open, within its time
    ("A", "declined", 100, 100, None, False),
    ("B", "answered", 150, 100, 20, True),
    (None, "answered", 120, 100, 30, False),
]
#: (unit "A", "A-old" (a former unit merged into A) or "B", procedure 0/1, year, files:
#: "result" / "attachment" (not digitized) / None, access)
RESULTS = [
    ("A", 0, 2019, "result", "public"),
    ("A", 0, 2019, None, "personal"),
    ("A", 0, 2023, "result", "personal"),
    ("A-old", 0, 2019, "result", "public"),
    ("A-old", 1, 2023, "attachment", "personal"),
    ("A", 1, 2023, "result", "public"),
    ("B", 1, 2023, None, "public"),
    ("B", 0, 2019, "result", "personal"),
]


@dataclass
class Dataset:
    now: datetime
    units: dict[str, AdminUnit]
    procedures: list[Procedure]
    old_unit: AdminUnit
    split_unit: AdminUnit
    empty_unit: AdminUnit


def _current_with_single_predecessor(session) -> tuple[AdminUnit, AdminUnit]:
    """A current commune and an old commune whose only successor it is."""
    rows = session.execute(
        select(UnitSuccession.old_unit_id, func.min(UnitSuccession.new_unit_id))
        .join(AdminUnit, AdminUnit.id == UnitSuccession.old_unit_id)
        .where(AdminUnit.system == "legacy", AdminUnit.level == "commune")
        .group_by(UnitSuccession.old_unit_id).having(func.count() == 1)
        .order_by(UnitSuccession.old_unit_id)).first()
    return session.get(AdminUnit, rows[1]), session.get(AdminUnit, rows[0])


def _split_unit(session) -> AdminUnit:
    old_id = session.scalar(
        select(UnitSuccession.old_unit_id).join(AdminUnit, AdminUnit.id == UnitSuccession.old_unit_id)
        .where(AdminUnit.system == "legacy", AdminUnit.level == "commune")
        .group_by(UnitSuccession.old_unit_id).having(func.count() > 1).order_by(UnitSuccession.old_unit_id))
    return session.get(AdminUnit, old_id)


@pytest.fixture
def dataset(db_session) -> Dataset:
    session = db_session
    now = utcnow()
    unit_a, old = _current_with_single_predecessor(session)
    others = session.scalars(select(AdminUnit).where(
        AdminUnit.system == "current", AdminUnit.level == "commune", AdminUnit.id != unit_a.id)
        .order_by(AdminUnit.code)).all()
    unit_b, empty = others[0], others[-1]
    units = {"A": unit_a, "B": unit_b}
    procedures = session.scalars(select(Procedure).order_by(Procedure.code).limit(2)).all()
    document = Document(sha256="ab" * 32, size=100, media_type="application/pdf", pages=2, dpi=200)
    records = []
    for n, (where, procedure, year, files, access) in enumerate(RESULTS):
        subject = Subject(kind="individual", id_number=f"00109900{n:04d}", name=f"Người thứ {n}")
        record = Record(
            source_id=f"SC-{n}", procedure_code=procedures[procedure].code, doc_type_name="Giấy phép",
            doc_number=str(100 + n), issued_date=date(year, 5, 14), issuer_name="UBND",
            issuing_unit=old if where == "A-old" else units[where], summary="Kết quả", subject=subject,
            valid_from=date(year, 5, 14), status="valid", access=access, number_key=f"{100 + n}",
            content_hash=f"{n:064d}")
        if files:
            record.files = [RecordFile(document=document, position=1, role=files, original_path="a.pdf")]
        session.add(record)
        records.append(record)
    citizen = Citizen(issuer="https://sso.test", sub="scorecard", name="Nguyễn Văn Nam", loa=2)
    session.add(citizen)
    session.flush()

    made = []
    for n, spec in enumerate(REQUESTS):
        submitted = now - timedelta(hours=spec.ago_h)
        request = CopyRequest(
            reference=f"BS-2026-{n + 1:06d}", record=records[0], requester=citizen, unit=units[spec.unit],
            kind=spec.kind, purpose="Bổ sung hồ sơ", pages=2, fee_vnd=0, submitted_at=submitted,
            due_at=submitted + timedelta(hours=spec.due_h), state="submitted")
        events = [("submit", None, "submitted", submitted)]
        if spec.outcome == "cancel":
            events.append(("cancel", "submitted", "cancelled", submitted + timedelta(hours=spec.after_h)))
        elif spec.outcome is None:
            events.append(("assign", "submitted", "in_progress", submitted + timedelta(minutes=10)))
        else:
            handled = submitted + timedelta(hours=spec.after_h)
            events.append(("assign", "submitted", "in_progress", submitted + timedelta(minutes=10)))
            to = "issued" if spec.outcome == "issue" else "rejected"
            events.append((spec.outcome, "in_progress", to, handled))
            if spec.delivered:
                events.append(("deliver", "issued", "delivered", handled + timedelta(minutes=30)))
        for action, before, after, at in events:
            request.events.append(CopyRequestEvent(action=action, from_state=before, to_state=after, at=at,
                                                   actor="system"))
            request.state = after
        session.add(request)
        made.append(request)
    session.flush()

    for n, (where, levels, values, ago) in enumerate(RATINGS):
        at = now - timedelta(hours=ago)
        rating = Rating(copy_request_id=made[n].id, citizen_id=citizen.id, unit_id=units[where].id,
                        scale_id=f"{levels}-levels", scale_levels=levels, created_at=at, updated_at=at,
                        scores=[RatingScore(criterion=c, value=v) for c, v in values.items()])
        session.add(rating)

    for n, (where, state, ago, due_h, answered_h, published) in enumerate(PETITIONS):
        received = now - timedelta(hours=ago)
        session.add(Petition(
            reference=f"PA-2026-{n + 1:06d}", about="application", title="Phản ánh", content="Nội dung",
            sender_name="Trần Thị Mai", sender_address="Hà Nội", unit_id=units[where].id if where else None,
            state=state, received_at=received, due_at=received + timedelta(hours=due_h),
            answered_at=received + timedelta(hours=answered_h) if answered_h is not None else None,
            answer="Trả lời" if answered_h is not None else "", published=published))
    session.commit()
    return Dataset(now=now, units=units, procedures=procedures, old_unit=old, split_unit=_split_unit(session),
                   empty_unit=empty)


# -- the expected numbers, counted in Python over the specs above ------------------------------


def _pct(numerator: int, denominator: int) -> float | None:
    return 100 * numerator / denominator if denominator else None


def expected(ds: Dataset, where: str | None) -> dict[str, tuple]:
    """metric id → (value, numerator, denominator) for unit "A", "B" or the city (None)."""
    period = metrics.last_twelve_months(clock.today())
    start = period.start_at
    now = ds.now
    mine = [r for r in REQUESTS if where is None or r.unit == where]
    received = [r for r in mine if now - timedelta(hours=r.ago_h) >= start]
    handled = [r for r in mine if r.outcome in ("issue", "reject")
               and now - timedelta(hours=r.ago_h) + timedelta(hours=r.after_h) >= start]
    issued = [r for r in handled if r.outcome == "issue"]
    on_time = [r for r in handled if r.after_h <= r.due_h]
    open_ = [r for r in mine if r.outcome is None]
    overdue = [r for r in open_ if r.ago_h > r.due_h]
    median = statistics.median(r.after_h for r in issued) if issued else None
    electronic = [r for r in received if r.kind in ELECTRONIC]

    rated = [r for r in RATINGS if (where is None or r[0] == where) and now - timedelta(hours=r[3]) >= start]
    overall = [100 * (r[2]["overall"] - 1) / (r[1] - 1) for r in rated]
    satisfied = [r for r in rated if r[2]["overall"] >= {5: 4, 3: 2}[r[1]]]

    pets = [p for p in PETITIONS if where is None or p[0] == where]
    answered = [p for p in pets if p[1] == "answered"]
    answered_on_time = [p for p in answered if p[4] <= p[3]]
    published = [p for p in answered if p[5]]
    pet_overdue = [p for p in pets if p[1] in ("received", "in_progress") and p[2] > p[3]]

    results = [r for r in RESULTS if where is None or r[0] == where or (where == "A" and r[0] == "A-old")]
    digitized = [r for r in results if r[3] == "result"]
    public = [r for r in results if r[4] == "public"]
    return {
        "results_total": (len(results), None, None),
        "results_public_share": (_pct(len(public), len(results)), len(public), len(results)),
        "answers_published_share": (_pct(len(published), len(answered)), len(published), len(answered)),
        "requests_received": (len(received), None, None),
        "requests_handled": (len(handled), None, None),
        "requests_issued": (len(issued), None, None),
        "requests_rejected": (len(handled) - len(issued), None, None),
        "requests_on_time_share": (_pct(len(on_time), len(handled)), len(on_time), len(handled)),
        "median_hours_to_issue": (median, None, len(issued)),
        "requests_open": (len(open_), None, None),
        "requests_overdue": (len(overdue), None, None),
        "petitions_received": (len(pets), None, None),
        "petitions_answered": (len(answered), None, None),
        "petitions_on_time_share": (_pct(len(answered_on_time), len(answered)), len(answered_on_time),
                                    len(answered)),
        "petitions_overdue": (len(pet_overdue), None, None),
        "results_digitized_share": (_pct(len(digitized), len(results)), len(digitized), len(results)),
        "online_share": (_pct(len(electronic), len(received)), len(electronic), len(received)),
        "ratings": (len(rated), None, None),
        "satisfaction_score": (sum(overall) / len(overall) if overall else None, None, len(rated)),
        "satisfied_share": (_pct(len(satisfied), len(rated)), len(satisfied), len(rated)),
    }


def expected_digitization(ds: Dataset, where: str | None) -> dict[tuple[str, int], tuple[int, int]]:
    counts: dict[tuple[str, int], tuple[int, int]] = {}
    for unit, procedure, year, files, _access in RESULTS:
        if where is None or unit == where or (where == "A" and unit == "A-old"):
            key = (ds.procedures[procedure].code, year)
            total, done = counts.get(key, (0, 0))
            counts[key] = (total + 1, done + (files == "result"))
    return counts


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) < 1e-6


# -- metrics ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["A", "B", None])
def test_metrics_equal_counts_made_here(db_session, dataset, where):
    unit = dataset.units[where] if where else None
    card = metrics.compute(db_session, unit, metrics.last_twelve_months(clock.today()), dataset.now)
    want = expected(dataset, where)
    assert [m.id for m in card.metrics] == list(want)
    for m in card.metrics:
        value, numerator, denominator = want[m.id]
        assert _close(m.value, value), (m.id, m.value, value)
        assert (m.numerator, m.denominator) == (numerator, denominator), m.id
    got = {(d.procedure_code, d.year): (d.total, d.digitized) for d in card.digitization}
    assert got == expected_digitization(dataset, where)
    assert sum(m.received for m in card.monthly) == want["requests_received"][0]
    assert sum(m.handled for m in card.monthly) == want["requests_handled"][0]
    assert len(card.monthly) == 12


def test_a_year_counts_only_that_year(db_session, dataset):
    last_year = clock.today().year - 2
    card = metrics.compute(db_session, dataset.units["A"], metrics.calendar_year(last_year, clock.today()),
                           dataset.now)
    assert card.metric("requests_received").value == 0 and card.metric("ratings").value == 0
    # State now does not depend on the period.
    assert card.metric("requests_open").value == expected(dataset, "A")["requests_open"][0]


def test_monthly_series_by_hanoi_month(db_session, dataset):
    card = metrics.compute(db_session, None, metrics.last_twelve_months(clock.today()), dataset.now)
    start = metrics.last_twelve_months(clock.today()).start_at
    received: dict[str, int] = {}
    handled: dict[str, int] = {}
    for r in REQUESTS:
        submitted = dataset.now - timedelta(hours=r.ago_h)
        if submitted >= start:
            key = submitted.astimezone(HANOI).strftime("%Y-%m")
            received[key] = received.get(key, 0) + 1
        if r.outcome in ("issue", "reject") and submitted + timedelta(hours=r.after_h) >= start:
            key = (submitted + timedelta(hours=r.after_h)).astimezone(HANOI).strftime("%Y-%m")
            handled[key] = handled.get(key, 0) + 1
    for m in card.monthly:
        key = m.month.strftime("%Y-%m")
        assert (m.received, m.handled) == (received.get(key, 0), handled.get(key, 0)), key


def test_ranking_lists_both_units_with_their_numbers(db_session, dataset):
    rows = {r.unit.code: r for r in metrics.ranking(db_session, metrics.last_twelve_months(clock.today()))}
    for where in ("A", "B"):
        want = expected(dataset, where)
        row = rows[dataset.units[where].code]
        assert row.handled == want["requests_handled"][0]
        assert _close(row.on_time_share, want["requests_on_time_share"][0])
        assert _close(row.satisfaction, want["satisfaction_score"][0])
    assert set(rows) == {dataset.units["A"].code, dataset.units["B"].code}


# -- the page -----------------------------------------------------------------------------------


def _shown(value, unit: str) -> str:
    """How the Vietnamese page writes a number (decimal comma, "." between thousands)."""
    if value is None:
        return "—"
    if unit == "count":
        return f"{int(value):,}".replace(",", ".")
    text = f"{float(value):.1f}".replace(".", ",")
    return text + {"percent": " %", "hours": " giờ", "score": ""}[unit]


def _cells(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="([a-z_]+)">([^<]*)<', html))


@pytest.mark.parametrize("where", ["A", "B", None])
def test_page_shows_the_same_numbers(client, dataset, where):
    url = f"/scorecard/{dataset.units[where].code}" if where else "/scorecard"
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    cells = _cells(html)
    for metric_id, (value, _n, _d) in expected(dataset, where).items():
        unit = metrics.DEFINITION[metric_id].unit
        shown = _shown(value, unit).replace(" giờ", "")
        assert cells[metric_id].startswith(shown), (metric_id, cells[metric_id], shown)
    assert html.count('role="img"') >= 3 and "<title id=" in html and "<desc id=" in html
    assert 'style="' not in html and "<script" not in html  # CSP: nothing inline
    assert "Nothing to show for this period yet." not in html and "Chưa có số liệu" not in html
    if where is None:
        for unit in dataset.units.values():
            assert f'href="/scorecard/{unit.code}"' in html
    else:
        assert dataset.units[where].name in html


def test_unit_page_links_to_its_scorecard(client, dataset):
    unit = dataset.units["A"]
    html = client.get(f"/units/{unit.slug}").get_data(as_text=True)
    assert f'href="/scorecard/{unit.code}"' in html
    assert 'href="/scorecard"' in client.get("/").get_data(as_text=True)


def test_period_selector_and_a_bad_year(client, dataset):
    year = clock.today().year
    html = client.get(f"/scorecard?year={year}").get_data(as_text=True)
    assert f'<option value="{year}" selected>' in html
    bad = client.get("/scorecard?year=1890")
    assert bad.status_code == 400
    assert 'role="alert"' in bad.get_data(as_text=True)
    assert client.get("/scorecard.csv?year=abc").status_code == 400


def test_unknown_code_is_a_404_page(client, dataset):
    for code in ("99999", "abc", "123456", "0"):
        response = client.get(f"/scorecard/{code}")
        assert response.status_code == 404, code
        assert "text/html" in response.content_type
    assert client.get("/scorecard/99999.csv").status_code == 404


def test_an_old_unit_code_points_to_its_successor(client, dataset):
    response = client.get(f"/scorecard/{dataset.old_unit.code}?year=2026")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/scorecard/{dataset.units['A'].code}?year=2026"
    csv_response = client.get(f"/scorecard/{dataset.old_unit.code}.csv")
    assert csv_response.headers["Location"] == f"/scorecard/{dataset.units['A'].code}.csv"

    split = client.get(f"/scorecard/{dataset.split_unit.code}")
    assert split.status_code == 200
    html = split.get_data(as_text=True)
    for link in dataset.split_unit.successor_links:
        assert f'href="/scorecard/{link.new_unit.code}"' in html


def test_a_unit_without_activity_shows_the_empty_state(client, dataset):
    html = client.get(f"/scorecard/{dataset.empty_unit.code}").get_data(as_text=True)
    assert "scorecard-empty" in html
    assert _cells(html)["requests_received"] == "0" and _cells(html)["results_total"] == "0"
    assert _cells(html)["requests_on_time_share"] == "—"  # a share of nothing is not 0 %
    # A unit with results but no activity in the year asked for: the empty state, and its results.
    quiet_year = clock.today().year - 3
    html = client.get(f"/scorecard/{dataset.units['B'].code}?year={quiet_year}").get_data(as_text=True)
    assert "scorecard-empty" in html
    assert _cells(html)["results_total"] == str(expected(dataset, "B")["results_total"][0])
    assert "scorecard-empty" not in client.get(f"/scorecard/{dataset.units['B'].code}").get_data(as_text=True)


# -- CSV ----------------------------------------------------------------------------------------


def _csv(client, url: str) -> tuple[bytes, list[dict[str, str]], str]:
    response = client.get(url)
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    return response.data, list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig")))), \
        response.headers["Content-Disposition"]


@pytest.mark.parametrize("where", ["A", None])
def test_csv_has_the_same_numbers(client, dataset, where):
    url = f"/scorecard/{dataset.units[where].code}.csv" if where else "/scorecard.csv"
    raw, rows, disposition = _csv(client, url)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert disposition.startswith("attachment; filename=") and disposition.endswith('.csv"')
    by_id = {row["metric_id"]: row for row in rows}
    period = metrics.last_twelve_months(clock.today())
    for metric_id, (value, numerator, denominator) in expected(dataset, where).items():
        row = by_id[metric_id]
        assert row["component"] == metrics.DEFINITION[metric_id].component
        assert row["label_vi"] == metrics.DEFINITION[metric_id].label_vi
        assert row["value"] == ("" if value is None else str(value) if metrics.DEFINITION[metric_id].unit ==
                                "count" else f"{value:.2f}"), metric_id
        assert row["numerator"] == ("" if numerator is None else str(numerator))
        assert row["denominator"] == ("" if denominator is None else str(denominator))
        assert (row["period_start"], row["period_end"]) == (period.start.isoformat(), period.end.isoformat())
    for (code, year), (total, done) in expected_digitization(dataset, where).items():
        row = by_id[f"results_digitized_share:{code}:{year}"]
        assert (row["numerator"], row["denominator"]) == (str(done), str(total))
    assert "Tỷ lệ giải quyết đúng hạn" in raw.decode("utf-8-sig")


# -- demo activity ------------------------------------------------------------------------------


def test_demo_activity_twice_adds_nothing_and_fills_the_scorecard(runner, app, db_session, client):
    seeded = runner.invoke(args=["demo", "seed", "--results", "60", "--unique-scans", "4"])
    assert seeded.exit_code == 0, seeded.output
    first = runner.invoke(args=["demo", "activity", "--requests", "150", "--petitions", "20"])
    assert first.exit_code == 0, first.output
    counts = [db_session.scalar(select(func.count()).select_from(model))
              for model in (CopyRequest, CopyRequestEvent, Rating, Petition, Citizen)]
    assert counts[0] == 150 and counts[2] > 0 and counts[3] == 20
    again = runner.invoke(args=["demo", "activity", "--requests", "150", "--petitions", "20"])
    assert again.exit_code == 0 and "nothing added" in again.output
    assert [db_session.scalar(select(func.count()).select_from(model))
            for model in (CopyRequest, CopyRequestEvent, Rating, Petition, Citizen)] == counts

    card = metrics.compute(db_session, None, metrics.last_twelve_months(clock.today()), datetime.now(UTC))
    for metric_id in ("requests_received", "requests_handled", "requests_on_time_share",
                      "median_hours_to_issue", "ratings", "satisfaction_score", "petitions_answered",
                      "online_share"):
        assert card.metric(metric_id).value, metric_id
    assert 0 < card.metric("requests_on_time_share").value < 100  # some late, mostly on time
    assert card.metric("requests_overdue").value > 0
    assert {c.criterion for c in card.criteria} == {"overall", "on_time", "staff_attitude", "clarity"}
    assert set(db_session.scalars(select(Rating.scale_levels).distinct())) == {3, 5}
    assert set(db_session.scalars(select(Petition.state).distinct())) >= {"answered", "in_progress"}
    # The demo leaves the scorecard counted: its pages show these figures at once.
    assert "scorecard counted" in first.output
    shown = db_session.get(ScorecardSnapshot, ("city", "last-12-months")).figures["metrics"]
    assert dict((m[0], m[1]) for m in shown)["requests_received"] == card.metric("requests_received").value
    assert client.get("/scorecard").status_code == 200
