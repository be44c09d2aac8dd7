"""How long the public scorecard takes on a big year (not a test: prints numbers for
docs/benchmarks.md, "Public scorecard (issue 6)" and "Scorecard from snapshots (issue 12)").

    python benchmarks/scorecard.py --requests 100000 [--past-years K] [--database-url URL] [--repeat 5]

Builds a throwaway portal (SQLite under a temporary folder, or the PostgreSQL URL given, whose
schema is emptied first), with ``--requests / 5`` results (90 % with a result scan) spread over
Hanoi's current communes and their former units, ``--requests`` copy requests over the last 12
months with their events (submit, assign, issue or reject, deliver: ~3.7 per request), a rating on
half the handled ones (two criteria each) and ``--requests / 20`` petitions, written with bulk
inserts; ``--past-years K`` adds as many requests (and petitions) for each of K years before
those 12 months, so that every year the period selector offers has a year's activity to count.
Then times, median and max over ``--repeat`` runs after one warm-up:

- counting live (what every request did before issue 12): ``metrics.compute`` for the city,
  ``metrics.ranking``, the busiest unit's ``compute``;
- ``snapshots.refresh`` (every scope × every period offered, committed), and how many it stored;
- the pages served from those snapshots through the test client: ``/scorecard`` (last 12 months,
  this year, the whole ranking), ``/scorecard.csv``, ``/scorecard/<code>`` and its ``.csv``, with
  the SQL statements each runs;
- ``/scorecard`` when its snapshot is missing (counted live once, then stored: a fresh install).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from portal import create_app  # noqa: E402


def _app(data_dir: Path, database_url: str | None):
    # The server's own copy of public pages (portal/page_cache.py) is off: what is timed is the view
    # serving its snapshot, as the first anonymous visitor after each max-age gets it.
    app = create_app({"ENV": "development", "DATA_DIR": str(data_dir), "DATABASE_URL": database_url or "",
                      "SECRET_KEY": "bench" * 8, "PUBLIC_PAGE_SERVER_CACHE": False})
    with app.app_context():
        from flask_migrate import upgrade

        from portal.extensions import db
        from portal.refdata import ensure_loaded

        if database_url and database_url.startswith("postgresql"):
            schema = re.search(r"search_path%3D(\w+)", database_url)
            if schema:
                with sa.create_engine(database_url.split("?")[0]).begin() as conn:
                    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema[1]}")
            db.metadata.drop_all(db.engine)
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        ensure_loaded(db.session)
        db.session.commit()
    return app


def _chunks(rows: list[dict], size: int = 5000):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def build(requests: int, seed: int = 1, past_years: int = 0) -> dict[str, int]:
    """Bulk-insert the dataset (inside an app context). Returns row counts."""
    from portal.copy_requests.models import CopyRequest, CopyRequestEvent
    from portal.extensions import db
    from portal.feedback.models import Petition, Rating, RatingScore
    from portal.identity.models import Citizen, Subject
    from portal.procedures.models import Procedure
    from portal.records.models import Document, Record, RecordFile
    from portal.units.models import AdminUnit, UnitSuccession

    rng = random.Random(seed)
    session = db.session
    now = datetime.now(UTC)
    current = session.scalars(sa.select(AdminUnit.id).where(AdminUnit.system == "current",
                                                            AdminUnit.level == "commune")).all()
    links = session.execute(sa.select(UnitSuccession.old_unit_id, UnitSuccession.new_unit_id)).all()
    procedures = session.scalars(sa.select(Procedure.code).order_by(Procedure.code).limit(40)).all()
    results = max(1, requests // 5)
    span = (1 + past_years) * 365 * 24 * 60  # minutes back from now over which requests are spread
    conn = session.connection()
    conn.execute(sa.insert(Document), [{"sha256": "cd" * 32, "size": 1000, "media_type": "application/pdf",
                                        "pages": 2, "dpi": 200, "created_at": now}])
    conn.execute(sa.insert(Subject), [{"id": i + 1, "kind": "individual", "id_number": f"{i:012d}",
                                       "name": "Nguyễn Văn An", "created_at": now, "updated_at": now}
                                      for i in range(results)])
    record_rows, file_rows, handling_unit = [], [], {}
    for i in range(results):
        old, new = rng.choice(links) if rng.random() < 0.6 else (None, rng.choice(current))
        year = rng.randint(2005, 2026)
        record_rows.append({
            "id": i + 1, "source_id": f"BENCH-{i}", "procedure_code": rng.choice(procedures),
            "doc_type_name": "Giấy phép", "doc_number": str(i), "issued_date": date(year, 1, 1) + timedelta(
                days=rng.randrange(300)), "issuer_name": "UBND", "issuing_unit_id": old or new,
            "summary": "Kết quả", "subject_id": i + 1, "valid_from": date(year, 1, 1), "status": "valid",
            "status_changed_at": now, "access": "public" if rng.random() < 0.3 else "personal",
            "number_key": str(i), "content_hash": "0" * 64, "created_at": now, "updated_at": now})
        handling_unit[i + 1] = new
        if rng.random() < 0.9:
            file_rows.append({"record_id": i + 1, "document_sha256": "cd" * 32, "position": 1,
                              "role": "result", "original_path": "a.pdf"})
    for chunk in _chunks(record_rows):
        conn.execute(sa.insert(Record), chunk)
    for chunk in _chunks(file_rows):
        conn.execute(sa.insert(RecordFile), chunk)
    conn.execute(sa.insert(Citizen), [{"id": 1, "issuer": "bench", "sub": "bench", "name": "Bench", "loa": 2,
                                       "account_type": "individual", "created_at": now, "updated_at": now}])
    request_rows, event_rows, rating_rows, score_rows = [], [], [], []
    kinds = ["electronic", "certified", "paper_desk", "paper_post"]
    for i in range(requests * (1 + past_years)):
        record_id = rng.randint(1, results)
        submitted = now - timedelta(minutes=rng.randrange(span))
        due = submitted + timedelta(hours=rng.choice([8, 24, 48, 96]))
        fate = rng.random()
        state = "submitted"
        events = [("submit", None, "submitted", submitted)]
        if fate < 0.95 and submitted < now - timedelta(hours=4):
            assigned = submitted + timedelta(minutes=rng.randint(5, 120))
            handled = assigned + (due - assigned) * rng.uniform(0.1, 1.3)
            handled = min(handled, now - timedelta(minutes=1))
            events.append(("assign", "submitted", "in_progress", assigned))
            if fate < 0.07:
                events.append(("reject", "in_progress", "rejected", handled))
                state = "rejected"
            else:
                events.append(("issue", "in_progress", "issued", handled))
                state = "issued"
                if handled + timedelta(hours=2) < now:
                    events.append(("deliver", "issued", "delivered", handled + timedelta(hours=2)))
                    state = "delivered"
            if rng.random() < 0.5:
                rating_id = len(rating_rows) + 1
                at = min(now, handled + timedelta(hours=1))
                levels = 5 if rng.random() < 0.7 else 3
                rating_rows.append({"id": rating_id, "copy_request_id": i + 1, "citizen_id": 1,
                                    "unit_id": handling_unit[record_id], "scale_id": f"{levels}-levels",
                                    "scale_levels": levels, "comment": "", "created_at": at,
                                    "updated_at": at})
                for criterion in ("overall", "on_time"):
                    score_rows.append({"rating_id": rating_id, "criterion": criterion,
                                       "value": rng.randint(max(1, levels - 2), levels)})
        elif fate < 0.97:
            events.append(("assign", "submitted", "in_progress", submitted + timedelta(minutes=30)))
            state = "in_progress"
        request_rows.append({
            "id": i + 1, "reference": f"BS-2026-{i + 1:09d}", "record_id": record_id, "requester_id": 1,
            "unit_id": handling_unit[record_id], "kind": rng.choice(kinds), "copies": 1, "purpose": "Bổ sung",
            "delivery_address": "", "email": "", "pages": 2, "fee_vnd": 0, "state": state,
            "submitted_at": submitted, "due_at": due, "reject_reason": "", "reject_note": "",
            "tracking_number": "", "tracking_code_hash": "", "created_at": submitted,
            "updated_at": submitted})
        for action, before, after, at in events:
            event_rows.append({"request_id": i + 1, "at": at, "action": action, "from_state": before,
                               "to_state": after, "actor": "system", "note": ""})
    for chunk in _chunks(request_rows):
        conn.execute(sa.insert(CopyRequest), chunk)
    for chunk in _chunks(event_rows):
        conn.execute(sa.insert(CopyRequestEvent), chunk)
    for chunk in _chunks(rating_rows):
        conn.execute(sa.insert(Rating), chunk)
    for chunk in _chunks(score_rows):
        conn.execute(sa.insert(RatingScore), chunk)
    petition_rows = []
    for i in range(max(1, requests * (1 + past_years) // 20)):
        received = now - timedelta(minutes=rng.randrange(span))
        due = received + timedelta(days=14)
        answered = received + timedelta(days=rng.uniform(1, 20))
        done = answered < now and rng.random() < 0.85
        petition_rows.append({
            "reference": f"PA-2026-{i + 1:09d}", "about": "application", "title": "Phản ánh", "content": "…",
            "sender_name": "Trần Thị Mai", "sender_address": "Hà Nội", "sender_phone": "", "sender_email": "",
            "unit_id": rng.choice(current), "category": "late_handling",
            "state": "answered" if done else "in_progress", "received_at": received, "due_at": due,
            "answer": "…" if done else "", "answered_at": answered if done else None,
            "published": done and rng.random() < 0.6, "tracking_code_hash": "", "created_at": received,
            "updated_at": received})
    for chunk in _chunks(petition_rows):
        conn.execute(sa.insert(Petition), chunk)
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("ANALYZE")
    return {"results": results, "requests": len(request_rows), "events": len(event_rows),
            "ratings": len(rating_rows), "petitions": len(petition_rows)}


def _time(work, repeat: int) -> tuple[float, float]:
    work()  # warm-up: caches, query plans
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000, max(seconds) * 1000


def _statements(app, work) -> int:
    """SQL statements ``work`` runs (cursor executions on the app's engine)."""
    from portal.extensions import db

    seen = []

    def count(*_args):
        seen.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--past-years", type=int, default=0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from portal import clock
    from portal.extensions import db
    from portal.scorecard import metrics, snapshots
    from portal.scorecard.models import ScorecardSnapshot
    from portal.units.models import AdminUnit

    work = Path(tempfile.mkdtemp(prefix="bench-scorecard-"))
    app = _app(work, args.database_url)
    kind = "PostgreSQL" if args.database_url else "SQLite"
    with app.app_context():
        started = time.perf_counter()
        counts = build(args.requests, past_years=args.past_years)
        print(f"== scorecard on {kind}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load {os.getloadavg()[0]:.1f}")
        print("dataset: " + ", ".join(f"{k}={v:,}" for k, v in counts.items())
              + f" (built in {time.perf_counter() - started:.0f} s)")
        period = metrics.last_twelve_months(clock.today())
        busiest = db.session.execute(sa.text(
            "SELECT unit_id FROM copy_request GROUP BY unit_id ORDER BY count(*) DESC LIMIT 1")).scalar()
        unit = db.session.get(AdminUnit, busiest)
        code = unit.code
        now = datetime.now(UTC)
        print("-- counted live on each request (before issue 12)")
        for name, job in [
            ("metrics.compute(city)", lambda: metrics.compute(db.session, None, period, now)),
            ("metrics.ranking", lambda: metrics.ranking(db.session, period)),
            (f"metrics.compute({code})", lambda: metrics.compute(db.session, unit, period, now)),
        ]:
            median, worst = _time(job, args.repeat)
            print(f"{name:40} median {median:8.1f} ms   max {worst:8.1f} ms")

        reports = []

        def refresh():
            reports.append(snapshots.refresh(db.session, datetime.now(UTC)))
            db.session.commit()

        median, worst = _time(refresh, min(args.repeat, 3))
        last = reports[-1]
        print(f"-- snapshots.refresh: {last.scorecards} scorecards ({last.scopes} scopes x {last.periods} "
              f"periods)")
        print(f"{'snapshots.refresh + commit':40} median {median:8.1f} ms   max {worst:8.1f} ms")
        db.session.remove()

        client = app.test_client()

        def page(url):
            def get():
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
            return get

        year = clock.today().year
        urls = ("/scorecard", f"/scorecard?year={year}", "/scorecard?ranking=all", "/scorecard.csv",
                f"/scorecard/{code}", f"/scorecard/{code}.csv")
        print("-- pages served from the snapshots (statements: SQL per request)")
        for url in urls:
            median, worst = _time(page(url), args.repeat)
            statements = _statements(app, page(url))
            print(f"{'GET ' + url:40} median {median:8.1f} ms   max {worst:8.1f} ms   "
                  f"{statements} statements")

        seconds = []
        city_now = (ScorecardSnapshot.scope == snapshots.CITY,
                    ScorecardSnapshot.period == snapshots.LAST_12_MONTHS)
        for _ in range(args.repeat):
            db.session.execute(sa.delete(ScorecardSnapshot).where(*city_now))
            db.session.commit()
            started = time.perf_counter()
            page("/scorecard")()
            seconds.append(time.perf_counter() - started)
        print(f"{'GET /scorecard, no snapshot yet':40} median {statistics.median(seconds) * 1000:8.1f} ms   "
              f"max {max(seconds) * 1000:8.1f} ms")
        card = metrics.compute(db.session, None, period, now)
        print("city: " + ", ".join(f"{m.id}={m.value:.1f}" if isinstance(m.value, float)
                                   else f"{m.id}={m.value}" for m in card.metrics[:9]))


if __name__ == "__main__":
    main()
