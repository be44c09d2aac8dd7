"""The scorecard served from snapshots: figures counted in the background, read in one query.

Counting the city's figures takes most of a second at 100,000 copy requests a year
(docs/benchmarks.md), too long for every request under a city's load. `refresh` counts every
scope (the city with its ranking, each current commune or ward with data) for every period the
selector offers, all from a dozen grouped queries (`metrics.compute_many`), and stores each
scorecard as JSON with the time it was counted. `load`
reads one snapshot; when there is none yet (a fresh install, a year nobody asked for until now, a
unit without data), it counts that one scorecard live, stores it and serves it, so a page never
shows nothing.

The worker calls `refresh_if_due` every minute (portal/scorecard/tasks.py), `flask scorecard
refresh` refreshes at once, and the demo commands leave fresh snapshots. A stale snapshot is still
served, with the time it was counted on the page: recounting it on the request would have every
visitor of that second count the city at once whenever the worker is down.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, lazyload, selectinload

from portal import clock
from portal.scorecard import metrics
from portal.scorecard.models import ScorecardSnapshot
from portal.units.models import AdminUnit, UnitLevel, UnitSystem

#: Version of the encoding: a snapshot of another version is counted again on its first request.
FORMAT = 1
CITY = "city"
LAST_12_MONTHS = "last-12-months"
#: `refresh_if_due` runs when the oldest snapshot is this close to its age limit: the task runs on
#: the minute, and a refresh that took a few seconds would otherwise wait one more minute.
SLACK = timedelta(seconds=30)


@dataclass(frozen=True)
class Snapshot:
    card: metrics.Scorecard
    #: When its figures were counted (its "now").
    computed_at: datetime


@dataclass(frozen=True)
class RefreshReport:
    scorecards: int
    scopes: int
    periods: int
    seconds: float


def scope_key(unit: AdminUnit | None) -> str:
    return unit.code if unit is not None else CITY


def period_key(period: metrics.Period) -> str:
    return str(period.year) if period.year else LAST_12_MONTHS


def load(session: Session, unit: AdminUnit | None, period: metrics.Period, now: datetime) -> Snapshot:
    """The stored scorecard of ``unit`` (None: the city, with its ranking) for ``period``; counted
    live and stored when there is none (or one of an older format). The caller commits."""
    row = session.get(ScorecardSnapshot, (scope_key(unit), period_key(period)))
    card = _decoded(session, row.figures, unit) if row is not None else None
    if card is not None:
        return Snapshot(card, row.computed_at)
    card = metrics.compute(session, unit, period, now, with_ranking=unit is None)
    _store(session, {(scope_key(unit), period_key(period)): card}, now)
    return Snapshot(card, now)


def refresh(session: Session, now: datetime) -> RefreshReport:
    """Count every scorecard again as of ``now`` and store them: the city and each current commune
    or ward with data (or already stored), for every period offered and every year stored. Snapshots
    of units no longer current, or of years no longer valid, go. Flushes; the caller commits."""
    started = time.perf_counter()
    today = clock.in_hanoi(now).date()
    keys = select(ScorecardSnapshot.scope, ScorecardSnapshot.period)
    stored = {(scope, key) for scope, key in session.execute(keys)}
    periods = {period_key(p): p for p in metrics.offered_periods(today)}
    for _scope, key in stored:
        if key not in periods and key.isdecimal() and metrics.FIRST_YEAR <= int(key) <= today.year:
            periods[key] = metrics.calendar_year(int(key), today)
    units = session.scalars(select(AdminUnit).where(
        AdminUnit.system == UnitSystem.CURRENT, AdminUnit.level == UnitLevel.COMMUNE)
        .options(selectinload(AdminUnit.predecessor_links))).all()
    cards = metrics.compute_many(session, units, list(periods.values()), now)
    scope = {unit.id: unit.code for unit in units} | {None: CITY}
    with_data = {scope[unit_id] for (unit_id, _period), card in cards.items() if _has_data(card)}
    kept = {CITY} | with_data | {stored_scope for stored_scope, _key in stored}
    fresh = {(scope[unit_id], period_key(period)): card for (unit_id, period), card in cards.items()
             if scope[unit_id] in kept}
    _store(session, fresh, now)
    for gone_scope, key in stored - set(fresh):
        session.execute(delete(ScorecardSnapshot).where(ScorecardSnapshot.scope == gone_scope,
                                                        ScorecardSnapshot.period == key))
    return RefreshReport(len(fresh), len({fresh_scope for fresh_scope, _key in fresh}), len(periods),
                         time.perf_counter() - started)


def refresh_if_due(session: Session, now: datetime, every: timedelta) -> RefreshReport | None:
    """`refresh` when no snapshot exists yet or the oldest is about ``every`` old; else None."""
    oldest = session.scalar(select(func.min(ScorecardSnapshot.computed_at)))
    if oldest is not None and oldest > now - every + SLACK:
        return None
    return refresh(session, now)


def _has_data(card: metrics.Scorecard) -> bool:
    """Anything counted at all: a result held, a case open, or activity in the period."""
    return any(m.value for m in card.metrics if m.definition.unit == "count")


def _store(session: Session, cards: dict[tuple[str, str], metrics.Scorecard], computed_at: datetime) -> None:
    """Insert or replace: two requests (or a request and the worker) may store the same key at once."""
    if not cards:
        return
    rows = [{"scope": scope, "period": key, "figures": encode(card), "computed_at": computed_at}
            for (scope, key), card in cards.items()]
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[session.get_bind().dialect.name]
    table = ScorecardSnapshot.__table__
    upsert = dialect.insert(table)
    upsert = upsert.on_conflict_do_update(
        index_elements=[table.c.scope, table.c.period],
        set_={"figures": upsert.excluded.figures, "computed_at": upsert.excluded.computed_at})
    session.execute(upsert, rows)


# -- the JSON of a scorecard --------------------------------------------------------------------


def encode(card: metrics.Scorecard) -> dict:
    """A scorecard as JSON: rows as lists, each procedure's name once (a unit's card has a row per
    procedure and year), units by id."""
    return {
        "format": FORMAT,
        "unit": card.unit.id if card.unit is not None else None,
        "period": [card.period.start.isoformat(), card.period.end.isoformat(), card.period.year],
        "now": card.now.isoformat(),
        "metrics": [[m.id, m.value, m.numerator, m.denominator] for m in card.metrics],
        "procedures": {d.procedure_code: d.procedure_name for d in card.digitization_by_procedure},
        "digitization": [[d.procedure_code, d.year, d.total, d.digitized] for d in card.digitization],
        "digitization_by_procedure": [[d.procedure_code, d.total, d.digitized]
                                      for d in card.digitization_by_procedure],
        "digitization_by_year": [[d.year, d.total, d.digitized] for d in card.digitization_by_year],
        "criteria": [[c.criterion, c.ratings, c.mean] for c in card.criteria],
        "monthly": [[m.month.isoformat(), m.received, m.handled] for m in card.monthly],
        "ranking": [[r.unit.id, r.received, r.handled, r.on_time, r.ratings, r.satisfaction]
                    for r in card.ranking],
    }


def decode(session: Session, figures: dict, unit: AdminUnit | None) -> metrics.Scorecard:
    """The scorecard `encode` wrote; the ranking's units are loaded in one query."""
    start, end, year = figures["period"]
    names = figures["procedures"]
    ids = [row[0] for row in figures["ranking"]]
    # Current units have no successors: their links (selectin by default) would be a query for nothing.
    found = select(AdminUnit).where(AdminUnit.id.in_(ids)).options(lazyload(AdminUnit.successor_links))
    units = {u.id: u for u in session.scalars(found)} if ids else {}
    row = metrics.DigitizationRow
    return metrics.Scorecard(
        unit=unit, period=metrics.Period(date.fromisoformat(start), date.fromisoformat(end), year),
        now=datetime.fromisoformat(figures["now"]),
        metrics=[metrics.Metric(metrics.DEFINITION[metric_id], value, numerator, denominator)
                 for metric_id, value, numerator, denominator in figures["metrics"]],
        digitization=[row(code, names[code], y, total, done)
                      for code, y, total, done in figures["digitization"]],
        digitization_by_procedure=[row(code, names[code], None, total, done)
                                   for code, total, done in figures["digitization_by_procedure"]],
        digitization_by_year=[row("", "", y, total, done)
                              for y, total, done in figures["digitization_by_year"]],
        criteria=[metrics.CriterionScore(*c) for c in figures["criteria"]],
        monthly=[metrics.MonthCount(date.fromisoformat(month), received, handled)
                 for month, received, handled in figures["monthly"]],
        ranking=[metrics.RankingRow(units[unit_id], *rest) for unit_id, *rest in figures["ranking"]
                 if unit_id in units])


def _decoded(session: Session, figures: dict, unit: AdminUnit | None) -> metrics.Scorecard | None:
    """`decode`, or None for a snapshot this code cannot serve as it is: another format, or
    metrics other than today's (a deploy added or renamed one)."""
    if figures.get("format") != FORMAT or [m[0] for m in figures["metrics"]] != list(metrics.DEFINITION):
        return None
    return decode(session, figures, unit)
