"""The public scorecard's numbers: SQL aggregates over copy requests, ratings, petitions and results,
for the city or one current commune/ward, grouped by the components of the national
service-quality index (Decision 766/QĐ-TTg): transparency, progress, digitization, online service,
satisfaction.

Every figure is counted by the database (grouped ``count``/``sum``); Python only adds up the
grouped rows, divides and arranges. `compute` counts one scope; `compute_many` counts the city and
every unit for several periods at once, from the same grouped rows (the snapshots the pages are
served from, `snapshots.py`). It runs on SQLite and PostgreSQL: the one thing they spell
differently, a duration in hours, goes through `_hours_between`; months are a CASE over the Hanoi
month starts (`_month_index`).

Scopes:
- a unit's copy requests, ratings and petitions are those with ``unit_id`` = the unit (the unit
  that handles them now: a forwarded petition counts where it went);
- a unit's results are those issued by the unit or by any old unit merged into it, partly or
  wholly (UnitSuccession), as on the unit's page;
- the city is everything, petitions addressed to no unit included.

Two kinds of figures:
- *activity in the period* (received, handled, answered, rated): the event's time falls in the
  period, in Hanoi time;
- *state now* (open, overdue, results held and digitized): as of ``now``, whatever the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    Float,
    Integer,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from portal.clock import HANOI
from portal.copy_requests.models import ELECTRONIC_KINDS, CopyRequest, CopyRequestEvent
from portal.copy_requests.workflow import OPEN, Action
from portal.db import UTCDateTime
from portal.feedback.models import Petition, PetitionState, Rating, RatingScore
from portal.feedback.ratings import current_scales
from portal.procedures.models import Procedure
from portal.records.models import Access, Record, RecordFile
from portal.units import services as unit_services
from portal.units.models import AdminUnit, UnitLevel

#: Events that end the handling of a copy request: its time is the handling time.
HANDLING_ACTIONS = (Action.ISSUE.value, Action.REJECT.value)
#: Normalized score (0–100) from which a rating counts as "satisfied" on scales we do not know.
SATISFIED_THRESHOLD = 75.0
#: Lowest satisfied level per number of levels: on 5 levels "Hài lòng" (4, = 75) and up; the
#: 3-level scale has no neutral level, so its "Hài lòng" (2, = 50) is satisfied too.
SATISFIED_FROM_LEVEL = {5: 4, 3: 2}
OPEN_STATES = tuple(state.value for state in OPEN)
PETITION_OPEN_STATES = (PetitionState.RECEIVED.value, PetitionState.IN_PROGRESS.value)
COMPONENTS = ("transparency", "progress", "digitization", "online", "satisfaction")


# -- periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Days ``start``..``end`` inclusive, in Hanoi time."""

    start: date
    end: date
    year: int | None = None

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=HANOI)

    @property
    def end_before(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=HANOI)

    def months(self) -> list[date]:
        """First day of each calendar month the period touches."""
        months, month = [], self.start.replace(day=1)
        while month <= self.end:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return months


def last_twelve_months(today: date) -> Period:
    """The current month and the 11 before it, up to today: 12 whole bars on the monthly chart."""
    month = today.replace(day=1)
    for _ in range(11):
        month = (month - timedelta(days=1)).replace(day=1)
    return Period(start=month, end=today)


def calendar_year(year: int, today: date) -> Period:
    """1 January to 31 December, or to today for the current year."""
    return Period(start=date(year, 1, 1), end=min(date(year, 12, 31), today), year=year)


#: First year a scorecard may be asked for (the portal holds results from then on, not activity).
FIRST_YEAR = 2020
#: Years offered in the period selector, counting back from this year.
YEARS_OFFERED = 6


def offered_years(today: date) -> list[int]:
    """The years of the period selector, this year first."""
    return list(range(today.year, max(FIRST_YEAR, today.year - YEARS_OFFERED + 1) - 1, -1))


def offered_periods(today: date) -> list[Period]:
    """Every period the selector offers: the last 12 months, then each offered year."""
    return [last_twelve_months(today)] + [calendar_year(year, today) for year in offered_years(today)]


# -- what the scorecard returns -----------------------------------------------------------------


@dataclass(frozen=True)
class MetricDef:
    id: str
    component: str
    #: "count", "percent", "hours" or "score" (0–100).
    unit: str
    label_vi: str
    label_en: str
    #: How the number is computed, shown under it on the page.
    note_vi: str
    note_en: str


@dataclass(frozen=True)
class Metric:
    definition: MetricDef
    #: None when there is nothing to compute it from (a share of zero requests).
    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def component(self) -> str:
        return self.definition.component


@dataclass(frozen=True)
class DigitizationRow:
    procedure_code: str
    procedure_name: str
    #: Year of issue of the results; None for the procedure's total over every year.
    year: int | None
    total: int
    digitized: int

    @property
    def share(self) -> float | None:
        return _share(self.digitized, self.total)


@dataclass(frozen=True)
class CriterionScore:
    criterion: str
    ratings: int
    #: Mean normalized score 0–100.
    mean: float | None


@dataclass(frozen=True)
class MonthCount:
    month: date
    received: int
    handled: int


@dataclass(frozen=True)
class Scorecard:
    unit: AdminUnit | None
    period: Period
    now: datetime
    metrics: list[Metric]
    #: Per procedure and year of issue, procedures by code, years ascending.
    digitization: list[DigitizationRow]
    #: Per procedure, every year together.
    digitization_by_procedure: list[DigitizationRow]
    #: Per year of issue, every procedure together (procedure_code "").
    digitization_by_year: list[DigitizationRow]
    criteria: list[CriterionScore]
    monthly: list[MonthCount]
    #: The city's communes and wards (only with ``compute(..., with_ranking=True)``).
    ranking: list[RankingRow] = field(default_factory=list)

    def component(self, name: str) -> list[Metric]:
        return [m for m in self.metrics if m.component == name]

    def metric(self, metric_id: str) -> Metric:
        return next(m for m in self.metrics if m.id == metric_id)

    @property
    def has_activity(self) -> bool:
        """Any service activity in the period: a request received or handled, a rating, a petition."""
        return any(self.metric(i).value for i in ("requests_received", "requests_handled", "ratings",
                                                   "petitions_received", "petitions_answered"))


@dataclass(frozen=True)
class RankingRow:
    unit: AdminUnit
    received: int
    handled: int
    on_time: int
    ratings: int
    satisfaction: float | None

    @property
    def on_time_share(self) -> float | None:
        return _share(self.on_time, self.handled)


def _d(metric_id, component, unit, label_vi, label_en, note_vi, note_en) -> MetricDef:
    return MetricDef(metric_id, component, unit, label_vi, label_en, note_vi, note_en)


#: Every metric, in the order of the page and the CSV.
DEFINITIONS: tuple[MetricDef, ...] = (
    _d("results_total", "transparency", "count", "Kết quả đang lưu trên cổng", "Results held on the portal",
       "Mọi kết quả do đơn vị (hoặc đơn vị cũ sáp nhập vào) cấp, tính đến hôm nay.",
       "Every result issued by the unit (or the former units merged into it), as of today."),
    _d("results_public_share", "transparency", "percent", "Tỷ lệ kết quả công khai",
       "Share of results that are public",
       "Kết quả thuộc sổ công khai (ai cũng xem được) / tổng số kết quả; còn lại là kết quả cá nhân.",
       "Results on public registers (anyone may see them) / all results; the rest are personal."),
    _d("answers_published_share", "transparency", "percent",
       "Tỷ lệ trả lời phản ánh, kiến nghị được công khai", "Share of petition answers published",
       "Phản ánh, kiến nghị đã trả lời trong kỳ có câu trả lời được đăng công khai / đã trả lời trong kỳ.",
       "Petitions answered in the period whose answer is published / petitions answered in the period."),
    _d("requests_received", "progress", "count", "Yêu cầu cấp bản sao đã tiếp nhận", "Copy requests received",
       "Yêu cầu gửi trong kỳ (kể cả yêu cầu người dân đã hủy).",
       "Requests submitted in the period (cancelled ones included)."),
    _d("requests_handled", "progress", "count", "Yêu cầu đã giải quyết", "Copy requests handled",
       "Yêu cầu được cấp bản sao hoặc từ chối trong kỳ (thời điểm cấp/từ chối thuộc kỳ).",
       "Requests issued or rejected in the period (the time of the issue or rejection)."),
    _d("requests_issued", "progress", "count", "Trong đó: đã cấp bản sao", "Of which issued",
       "Yêu cầu được cấp bản sao trong kỳ (đã giao hoặc chờ giao).",
       "Requests whose copy was issued in the period (delivered or waiting to be)."),
    _d("requests_rejected", "progress", "count", "Trong đó: từ chối", "Of which rejected",
       "Yêu cầu bị từ chối trong kỳ, có nêu lý do.", "Requests rejected in the period, with a reason."),
    _d("requests_on_time_share", "progress", "percent", "Tỷ lệ giải quyết đúng hạn", "Share handled on time",
       "Yêu cầu giải quyết trong kỳ mà thời điểm cấp/từ chối không muộn hơn hạn trả / "
       "yêu cầu giải quyết trong kỳ.",
       "Requests handled in the period whose issue or rejection came at or before their due time / "
       "requests handled in the period."),
    _d("median_hours_to_issue", "progress", "hours", "Thời gian cấp bản sao (trung vị)",
       "Median time to issue a copy",
       "Trung vị số giờ từ lúc gửi yêu cầu đến lúc cấp bản sao, với các bản sao cấp trong kỳ.",
       "Median hours from the request to the issue of the copy, over copies issued in the period."),
    _d("requests_open", "progress", "count", "Yêu cầu đang xử lý", "Copy requests open now",
       "Yêu cầu chưa cấp, chưa từ chối, chưa hủy tại thời điểm cập nhật số liệu.",
       "Requests neither issued, rejected nor cancelled, when the figures were counted."),
    _d("requests_overdue", "progress", "count", "Yêu cầu đang quá hạn", "Copy requests overdue now",
       "Yêu cầu đang xử lý đã quá hạn trả tại thời điểm cập nhật số liệu.",
       "Open requests past their due time, when the figures were counted."),
    _d("petitions_received", "progress", "count", "Phản ánh, kiến nghị đã tiếp nhận", "Petitions received",
       "Phản ánh, kiến nghị nhận trong kỳ.", "Petitions received in the period."),
    _d("petitions_answered", "progress", "count", "Phản ánh, kiến nghị đã trả lời", "Petitions answered",
       "Phản ánh, kiến nghị được trả lời trong kỳ.", "Petitions answered in the period."),
    _d("petitions_on_time_share", "progress", "percent", "Tỷ lệ trả lời phản ánh, kiến nghị đúng hạn",
       "Share of petitions answered on time",
       "Trả lời trong kỳ không muộn hơn hạn xử lý / đã trả lời trong kỳ.",
       "Answered in the period at or before the handling deadline / answered in the period."),
    _d("petitions_overdue", "progress", "count", "Phản ánh, kiến nghị đang quá hạn", "Petitions overdue now",
       "Chưa trả lời, chưa kết thúc và đã quá hạn xử lý tại thời điểm cập nhật số liệu.",
       "Not answered nor closed and past the handling deadline, when the figures were counted."),
    _d("results_digitized_share", "digitization", "percent", "Tỷ lệ kết quả đã số hóa",
       "Share of results digitized",
       "Kết quả có ít nhất một tệp bản quét của chính kết quả / tổng số kết quả, tính đến hôm nay.",
       "Results with at least one file of the result itself / all results, as of today."),
    _d("online_share", "online", "percent", "Tỷ lệ yêu cầu nhận bản sao điện tử",
       "Share of copy requests served electronically",
       "Yêu cầu gửi trong kỳ xin bản sao điện tử hoặc bản sao điện tử có chứng thực / yêu cầu gửi trong kỳ "
       "(còn lại: bản giấy nhận tại bộ phận một cửa hoặc qua bưu chính).",
       "Requests in the period for an electronic or certified electronic copy / requests in the period "
       "(the rest: paper, at the desk or by post)."),
    _d("ratings", "satisfaction", "count", "Số lượt đánh giá", "Ratings",
       "Đánh giá gửi trong kỳ, mỗi yêu cầu một lượt.", "Ratings given in the period, one per request."),
    _d("satisfaction_score", "satisfaction", "score", "Điểm hài lòng chung (0–100)",
       "Overall satisfaction (0–100)",
       "Trung bình của (mức − 1) / (số mức − 1) × 100 cho tiêu chí \"mức độ hài lòng chung\"; thang 3 mức và "
       "5 mức quy về cùng thang 0–100.",
       "Mean of (level − 1) / (levels − 1) × 100 on the \"overall\" criterion; 3- and 5-level scales "
       "both map to 0–100."),
    _d("satisfied_share", "satisfaction", "percent", "Tỷ lệ hài lòng", "Share satisfied",
       "Đánh giá chung ở mức \"Hài lòng\" hoặc \"Rất hài lòng\" / số lượt đánh giá (thang 5 mức: mức 4–5, "
       "tức ≥ 75 điểm; thang 3 mức: mức 2–3, vì thang này không có mức trung lập).",
       "Overall rating \"Satisfied\" or \"Very satisfied\" / ratings (5 levels: 4–5, i.e. ≥ 75; "
       "3 levels: 2–3, as that scale has no neutral level)."),
)
DEFINITION = {d.id: d for d in DEFINITIONS}


def _float(value) -> float | None:
    return float(value) if value is not None else None


def _share(numerator: int, denominator: int) -> float | None:
    return 100.0 * numerator / denominator if denominator else None


def _ratio(metric_id: str, numerator: int, denominator: int) -> Metric:
    return Metric(DEFINITION[metric_id], _share(numerator, denominator), numerator, denominator)


def _count(metric_id: str, value: int) -> Metric:
    return Metric(DEFINITION[metric_id], value)


# -- SQL spelt per dialect ----------------------------------------------------------------------


def _hours_between(session: Session, start, end):
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return extract("epoch", end - start) / 3600.0


def _month_index(column, period: Period):
    """Which month of the period a timestamp falls in (0 = the first), as portable SQL.

    A CASE over the Hanoi month starts rather than a date function: SQLite and PostgreSQL spell
    time zones differently, and the same SQL then runs on both (on SQLite it costs what
    ``strftime`` does, ~0.2 s per 100,000 rows).
    """
    starts = [datetime.combine(m, time(0), tzinfo=HANOI) for m in period.months()]
    return case(*[(column >= start, k) for k, start in reversed(list(enumerate(starts)))], else_=0)


def _sum(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _normalized(value, levels):
    """(value − 1) / (levels − 1) × 100; a 1-level scale (never configured) would divide by zero."""
    return case((levels > 1, (value - 1) * 100.0 / (levels - 1)), else_=None)


def _satisfied(value, levels):
    whens = [(levels == n, value >= level) for n, level in SATISFIED_FROM_LEVEL.items()]
    return case(*whens, else_=_normalized(value, levels) >= SATISFIED_THRESHOLD)


# -- the scorecard ------------------------------------------------------------------------------


def _unit_filter(column, unit: AdminUnit | None):
    return True if unit is None else column == unit.id


def _results_filter(unit: AdminUnit | None):
    if unit is None:
        return True
    return unit_services.within(Record.issuing_unit_id, [unit.id])


def _handling_events():
    """(request id, handling time, action): a request is issued or rejected at most once."""
    return (select(CopyRequestEvent.request_id, CopyRequestEvent.at, CopyRequestEvent.action)
            .where(CopyRequestEvent.action.in_(HANDLING_ACTIONS)).subquery("handling"))


def compute(session: Session, unit: AdminUnit | None, period: Period, now: datetime, *,
            with_ranking: bool = False) -> Scorecard:
    """The scorecard of ``unit`` (None: the city) for ``period``; "now" figures as of ``now``.

    Copy requests are read in two grouped passes, per (handling unit, Hanoi month): one over the
    requests submitted in the period, one over the issue/reject events in the period. The totals,
    the monthly series and the city ranking (``with_ranking``) all come from those few hundred
    rows, so a big year is scanned twice, not once per figure.
    """
    state = _state_now(session, unit, now)
    [counts] = _period_counts(session, unit, [period])
    ranked = _ranking(session, counts.activity, counts.rated) if with_ranking else []
    median = _median_hours_to_issue(session, unit, period, sum(a.issued for a in counts.activity.values()))
    return _whole_card(unit, period, now, state, counts, _held(state.all_results()), median, ranked)


def compute_many(session: Session, units: Sequence[AdminUnit], periods: Sequence[Period],
                 now: datetime) -> dict[tuple[int | None, Period], Scorecard]:
    """The city's scorecard (with its ranking) and each of ``units``' (current units, their
    ``predecessor_links`` loaded), for every period: key (unit id, or None for the city; period).

    The city's grouped queries of `compute`, which already group by the handling unit, serve every
    unit, and one pass serves every period: each table is read once, grouped by unit and month
    over all the periods' months, and each period adds up its months. The medians, which do not
    add up, come from one query for the units and one for the city (`_medians`). The "now"
    figures and the results held do not depend on the period: read, and arranged per unit, once.
    That is the refresh of every scorecard (`portal/scorecard/snapshots.py`) in a dozen queries.
    """
    state = _state_now(session, None, now)
    city_held = _held(state.all_results())
    held = {unit.id: _held([row for issuer in unit_services.ids_within([unit])
                            for row in state.results.get(issuer, ())]) for unit in units}
    city_medians = _medians(session, periods, by_unit=False)
    unit_medians = _medians(session, periods, by_unit=True)
    cards: dict[tuple[int | None, Period], Scorecard] = {}
    all_counts = _period_counts(session, None, periods)
    for k, (period, counts) in enumerate(zip(periods, all_counts, strict=True)):
        cards[None, period] = _whole_card(None, period, now, state, counts, city_held,
                                          city_medians.get((k, None)),
                                          _ranking(session, counts.activity, counts.rated))
        activity_of: dict[int, dict[tuple[int, int], _Activity]] = {}
        for key, entry in counts.activity.items():
            activity_of.setdefault(key[0], {})[key] = entry
        for unit in units:
            rated = {unit.id: counts.rated[unit.id]} if unit.id in counts.rated else {}
            cards[unit.id, period] = _card(
                unit, period, now, activity_of.get(unit.id, {}), rated,
                counts.petitions.get(unit.id, _Petitions()), state.now.get(unit.id, _Now()), held[unit.id],
                unit_medians.get((k, unit.id)), [])
    return cards


def _whole_card(unit: AdminUnit | None, period: Period, now: datetime, state: _State, counts: _PeriodCounts,
                held: _Held, median: float | None, ranked: list[RankingRow]) -> Scorecard:
    """The card of everything counted: the city's, or one unit's when the queries were filtered."""
    petitions, now_state = _total(_Petitions, counts.petitions.values()), _total(_Now, state.now.values())
    return _card(unit, period, now, counts.activity, counts.rated, petitions, now_state, held, median, ranked)


def _card(unit: AdminUnit | None, period: Period, now: datetime, activity: dict[tuple[int, int], _Activity],
          rated: dict[int, _Rated], petitions: _Petitions, state: _Now, held: _Held,
          median: float | None, ranked: list[RankingRow]) -> Scorecard:
    """Arrange the counts of one scope (a unit's, or all of them for the city) into its scorecard."""
    received = sum(a.received for a in activity.values())
    electronic = sum(a.electronic for a in activity.values())
    handled = sum(a.handled for a in activity.values())
    issued = sum(a.issued for a in activity.values())
    on_time = sum(a.on_time for a in activity.values())
    criteria = _criteria(rated)
    ratings = sum(r.ratings for r in rated.values())
    overall_n, overall_sum, satisfied = _overall(rated.values())
    metrics = [
        _count("results_total", held.total),
        _ratio("results_public_share", held.public, held.total),
        _ratio("answers_published_share", petitions.published, petitions.answered),
        _count("requests_received", received),
        _count("requests_handled", handled),
        _count("requests_issued", issued),
        _count("requests_rejected", handled - issued),
        _ratio("requests_on_time_share", on_time, handled),
        Metric(DEFINITION["median_hours_to_issue"], median, None, issued),
        _count("requests_open", state.open),
        _count("requests_overdue", state.overdue),
        _count("petitions_received", petitions.received),
        _count("petitions_answered", petitions.answered),
        _ratio("petitions_on_time_share", petitions.answered_on_time, petitions.answered),
        _count("petitions_overdue", state.petitions_overdue),
        _ratio("results_digitized_share", held.digitized, held.total),
        _ratio("online_share", electronic, received),
        _count("ratings", ratings),
        Metric(DEFINITION["satisfaction_score"], overall_sum / overall_n if overall_n else None, None,
               overall_n),
        _ratio("satisfied_share", satisfied, overall_n),
    ]
    months = {}
    for (_unit_id, month), a in activity.items():
        received_m, handled_m = months.get(month, (0, 0))
        months[month] = (received_m + a.received, handled_m + a.handled)
    monthly = [MonthCount(m, *months.get(k, (0, 0))) for k, m in enumerate(period.months())]
    return Scorecard(unit=unit, period=period, now=now, metrics=metrics, digitization=held.digitization,
                     digitization_by_procedure=held.by_procedure, digitization_by_year=held.by_year,
                     criteria=criteria, monthly=monthly, ranking=ranked)


# -- counting: each query grouped by the unit a row belongs to -----------------------------------


@dataclass
class _Activity:
    received: int = 0
    electronic: int = 0
    handled: int = 0
    issued: int = 0
    on_time: int = 0


@dataclass
class _Petitions:
    received: int = 0
    answered: int = 0
    answered_on_time: int = 0
    published: int = 0

    def plus(self, other: _Petitions) -> _Petitions:
        return _total(_Petitions, (self, other))


@dataclass
class _Now:
    """State now: copy requests open and overdue, petitions overdue."""

    open: int = 0
    overdue: int = 0
    petitions_overdue: int = 0


@dataclass
class _State:
    #: unit id (None: petitions addressed to no unit) → state now.
    now: dict[int | None, _Now]
    #: issuing unit id → (procedure code, procedure name, year of issue, results, digitized, public).
    results: dict[int, list[tuple]]

    def all_results(self) -> list[tuple]:
        return [row for rows in self.results.values() for row in rows]


@dataclass(frozen=True)
class _Held:
    """A scope's results held now: per procedure and year, per procedure, per year, and totals."""

    digitization: list[DigitizationRow]
    by_procedure: list[DigitizationRow]
    by_year: list[DigitizationRow]
    total: int
    digitized: int
    public: int


@dataclass
class _PeriodCounts:
    activity: dict[tuple[int, int], _Activity]
    rated: dict[int, _Rated]
    #: unit id (None: addressed to no unit) → petitions received and answered in the period.
    petitions: dict[int | None, _Petitions]


def _total(kind: type, entries):
    """``kind`` (a dataclass of counts) holding the field-by-field sum of ``entries``: a scope's
    total over its units."""
    entries = list(entries)
    return kind(*(sum(getattr(e, f) for e in entries) for f in kind.__dataclass_fields__))


def _state_now(session: Session, unit: AdminUnit | None, now: datetime) -> _State:
    """What does not depend on the period: open and overdue cases, results held and digitized."""
    found: dict[int | None, _Now] = {}
    for unit_id, n, overdue in session.execute(
            select(CopyRequest.unit_id, func.count(), _sum(CopyRequest.due_at < now))
            .where(_unit_filter(CopyRequest.unit_id, unit), CopyRequest.state.in_(OPEN_STATES))
            .group_by(CopyRequest.unit_id)):
        entry = found.setdefault(unit_id, _Now())
        entry.open, entry.overdue = int(n), int(overdue)
    for unit_id, n in session.execute(
            select(Petition.unit_id, func.count())
            .where(_unit_filter(Petition.unit_id, unit), Petition.state.in_(PETITION_OPEN_STATES),
                   Petition.due_at < now).group_by(Petition.unit_id)):
        found.setdefault(unit_id, _Now()).petitions_overdue = int(n)
    # Results held now, per issuing unit, procedure and year of issue; digitized when a "result"
    # file exists. A unit's results are its own and its former units' (`_results_filter`).
    has_file = exists().where(RecordFile.record_id == Record.id, RecordFile.role == "result")
    year = cast(extract("year", Record.issued_date), Integer)
    results: dict[int, list[tuple]] = {}
    for issuer, code, name, y, total, done, public in session.execute(
            select(Record.issuing_unit_id, Record.procedure_code, Procedure.name, year, func.count(),
                   _sum(has_file), _sum(Record.access == Access.PUBLIC.value))
            .join(Procedure, Procedure.code == Record.procedure_code)
            .where(_results_filter(unit))
            .group_by(Record.issuing_unit_id, Record.procedure_code, Procedure.name, year)):
        results.setdefault(issuer, []).append((code, name, int(y), int(total), int(done), int(public)))
    return _State(found, results)


def _period_counts(session: Session, unit: AdminUnit | None,
                   periods: Sequence[Period]) -> list[_PeriodCounts]:
    """The counts in each period, from one pass per table over the months the periods span.

    The periods the selector offers start on the 1st of a month and end today or on 31 December,
    so each is the sum of its months, the last one cut at today for all alike: one grouped pass
    serves the last 12 months and every year. Raises ValueError for periods that are not whole
    months (but the last, which ends where the others end): their counts would be wrong.
    """
    span = Period(min(p.start for p in periods), max(p.end for p in periods))
    whole = all(p.start.day == 1 and (p.end == span.end or (p.end + timedelta(days=1)).day == 1)
                for p in periods)
    if len(periods) > 1 and not whole:
        raise ValueError(f"periods of whole months expected, not {periods}")
    activity = _activity(session, unit, span)
    rated = _ratings(session, unit, span)
    petitions = _petitions(session, unit, span)
    index = {month: k for k, month in enumerate(span.months())}
    counts = []
    for period in periods:
        # A month of the span → the same month in the period (0: the period's first).
        mine = {index[month]: k for k, month in enumerate(period.months())}
        counts.append(_PeriodCounts(
            {(unit_id, mine[k]): entry for (unit_id, k), entry in activity.items() if k in mine},
            _by_unit(_Rated.plus, rated, mine), _by_unit(_Petitions.plus, petitions, mine)))
    return counts


def _by_unit(plus, per_month: dict, months: dict[int, int]) -> dict:
    """Counts per (unit id, month) → per unit id, over ``months`` only."""
    found: dict = {}
    for (unit_id, k), entry in per_month.items():
        if k in months:
            found[unit_id] = plus(found[unit_id], entry) if unit_id in found else entry
    return found


def _petitions(session: Session, unit: AdminUnit | None,
               span: Period) -> dict[tuple[int | None, int], _Petitions]:
    """Petitions per (unit id, month index in ``span``): received then; answered then."""
    start, end = span.start_at, span.end_before
    in_unit = _unit_filter(Petition.unit_id, unit)
    found: dict[tuple[int | None, int], _Petitions] = {}
    month = _month_index(Petition.received_at, span)
    for unit_id, m, n in session.execute(
            select(Petition.unit_id, month, func.count())
            .where(in_unit, Petition.received_at >= start, Petition.received_at < end)
            .group_by(Petition.unit_id, month)):
        found.setdefault((unit_id, m), _Petitions()).received = int(n)
    month = _month_index(Petition.answered_at, span)
    for unit_id, m, n, on_time, published in session.execute(
            select(Petition.unit_id, month, func.count(), _sum(Petition.answered_at <= Petition.due_at),
                   _sum(Petition.published.is_(True)))
            .where(in_unit, Petition.state == PetitionState.ANSWERED.value,
                   Petition.answered_at >= start, Petition.answered_at < end)
            .group_by(Petition.unit_id, month)):
        entry = found.setdefault((unit_id, m), _Petitions())
        entry.answered, entry.answered_on_time, entry.published = int(n), int(on_time), int(published)
    return found


def _activity(session: Session, unit: AdminUnit | None, period: Period) -> dict[tuple[int, int], _Activity]:
    """Copy requests per (handling unit id, month index in the period): received, electronic, handled…"""
    start, end = period.start_at, period.end_before
    in_unit = _unit_filter(CopyRequest.unit_id, unit)
    month = _month_index(CopyRequest.submitted_at, period)
    found: dict[tuple[int, int], _Activity] = {}
    for unit_id, m, n, electronic in session.execute(
            select(CopyRequest.unit_id, month, func.count(),
                   _sum(CopyRequest.kind.in_([k.value for k in ELECTRONIC_KINDS])))
            .where(in_unit, CopyRequest.submitted_at >= start, CopyRequest.submitted_at < end)
            .group_by(CopyRequest.unit_id, month)):
        entry = found.setdefault((unit_id, m), _Activity())
        entry.received, entry.electronic = int(n), int(electronic)
    # Handled: by the time of the issue or reject event (a request has at most one of them).
    handling = _handling_events()
    month = _month_index(handling.c.at, period)
    for unit_id, m, n, issued, on_time in session.execute(
            select(CopyRequest.unit_id, month, func.count(), _sum(handling.c.action == Action.ISSUE.value),
                   _sum(handling.c.at <= CopyRequest.due_at))
            .select_from(CopyRequest).join(handling, handling.c.request_id == CopyRequest.id)
            .where(in_unit, handling.c.at >= start, handling.c.at < end)
            .group_by(CopyRequest.unit_id, month)):
        entry = found.setdefault((unit_id, m), _Activity())
        entry.handled, entry.issued, entry.on_time = int(n), int(issued), int(on_time)
    return found


def _issue_durations(session: Session, unit: AdminUnit | None, period: Period):
    """(hours from submission to issue, the copies issued in the period) as SQL."""
    hours = _hours_between(session, CopyRequest.submitted_at, CopyRequestEvent.at)
    issued = (select().select_from(CopyRequest)
              .join(CopyRequestEvent, CopyRequestEvent.request_id == CopyRequest.id)
              .where(_unit_filter(CopyRequest.unit_id, unit), CopyRequestEvent.action == Action.ISSUE.value,
                     CopyRequestEvent.at >= period.start_at, CopyRequestEvent.at < period.end_before))
    return hours, issued


def _median_hours_to_issue(session: Session, unit: AdminUnit | None, period: Period, n: int) -> float | None:
    """Median hours from submission to issue over the ``n`` copies issued in the period.

    PostgreSQL has percentile_cont; SQLite has none, so there the database sorts the durations
    and only the middle one or two rows are read (OFFSET), never the whole list.
    """
    if not n:
        return None
    hours, issued = _issue_durations(session, unit, period)
    if session.get_bind().dialect.name == "postgresql":
        return _float(session.scalar(issued.add_columns(
            func.percentile_cont(0.5).within_group(cast(hours, Float)))))
    middle = session.scalars(issued.add_columns(hours).order_by(hours).offset((n - 1) // 2)
                             .limit(2 - n % 2)).all()
    return float(sum(middle)) / len(middle) if middle else None


def _medians(session: Session, periods: Sequence[Period], *,
             by_unit: bool) -> dict[tuple[int, int | None], float]:
    """`_median_hours_to_issue` of each period (key: its index in ``periods``) for the city (None),
    or for every handling unit (``by_unit``), in one query: each issue event is joined to the
    periods it falls in (the last 12 months and one year at most).

    On SQLite the database numbers each group's sorted durations and returns only the middle one
    or two of each: rows (n + 1) / 2 and (n + 2) / 2, the same row when n is odd.
    """
    spans = union_all(*[select(literal(k).label("k"), literal(p.start_at, UTCDateTime()).label("lo"),
                               literal(p.end_before, UTCDateTime()).label("hi"))
                        for k, p in enumerate(periods)]).cte("periods")
    hours = _hours_between(session, CopyRequest.submitted_at, CopyRequestEvent.at)
    unit_id = CopyRequest.unit_id if by_unit else null()
    group = [spans.c.k, CopyRequest.unit_id] if by_unit else [spans.c.k]
    issued = (select().select_from(CopyRequest)
              .join(CopyRequestEvent, CopyRequestEvent.request_id == CopyRequest.id)
              .join(spans, and_(CopyRequestEvent.at >= spans.c.lo, CopyRequestEvent.at < spans.c.hi))
              .where(CopyRequestEvent.action == Action.ISSUE.value))
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(issued.add_columns(
            spans.c.k, unit_id, func.percentile_cont(0.5).within_group(cast(hours, Float))).group_by(*group))
    else:
        ranked = issued.add_columns(
            spans.c.k, unit_id.label("unit_id"), hours.label("hours"),
            func.row_number().over(partition_by=group, order_by=hours).label("row"),
            func.count().over(partition_by=group).label("n")).subquery()
        rows = session.execute(
            select(ranked.c.k, ranked.c.unit_id, func.avg(ranked.c.hours))
            .where(ranked.c.row.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2]))
            .group_by(ranked.c.k, ranked.c.unit_id))
    return {(k, unit): float(value) for k, unit, value in rows if value is not None}


def _held(results: list[tuple]) -> _Held:
    """Rows per procedure and year (several issuing units added up); per procedure; per year."""
    merged: dict[tuple[str, str, int], tuple[int, int]] = {}
    for code, name, year, total, done, _public in results:
        before = merged.get((code, name, year), (0, 0))
        merged[code, name, year] = (before[0] + total, before[1] + done)
    order = sorted(merged, key=lambda key: (key[0], key[2]))  # by procedure code, then year
    digitization = [DigitizationRow(code, name, year, *merged[code, name, year])
                    for code, name, year in order]
    by_procedure: dict[str, DigitizationRow] = {}
    by_year: dict[int, DigitizationRow] = {}
    for row in digitization:
        p = by_procedure.get(row.procedure_code)
        by_procedure[row.procedure_code] = DigitizationRow(
            row.procedure_code, row.procedure_name, None, row.total + (p.total if p else 0),
            row.digitized + (p.digitized if p else 0))
        y = by_year.get(row.year)
        by_year[row.year] = DigitizationRow("", "", row.year, row.total + (y.total if y else 0),
                                            row.digitized + (y.digitized if y else 0))
    return _Held(digitization, list(by_procedure.values()), [by_year[y] for y in sorted(by_year)],
                 sum(row.total for row in digitization), sum(row.digitized for row in digitization),
                 sum(row[5] for row in results))


@dataclass
class _Rated:
    ratings: int = 0
    #: criterion → (scores, sum of normalized scores, satisfied)
    criteria: dict[str, tuple[int, float, int]] | None = None

    def plus(self, other: _Rated) -> _Rated:
        criteria = dict(self.criteria)
        for criterion, (n, total, satisfied) in other.criteria.items():
            a, b, c = criteria.get(criterion, (0, 0.0, 0))
            criteria[criterion] = (a + n, b + total, c + satisfied)
        return _Rated(self.ratings + other.ratings, criteria)


def _ratings(session: Session, unit: AdminUnit | None, span: Period) -> dict[tuple[int, int], _Rated]:
    """Ratings per (unit id, month index in ``span``): how many, and per criterion count/sum/satisfied."""
    month = _month_index(Rating.created_at, span)
    in_span = (_unit_filter(Rating.unit_id, unit), Rating.created_at >= span.start_at,
               Rating.created_at < span.end_before)
    found = {(unit_id, m): _Rated(int(n), {}) for unit_id, m, n in session.execute(
        select(Rating.unit_id, month, func.count()).where(*in_span).group_by(Rating.unit_id, month))}
    score = _normalized(RatingScore.value, Rating.scale_levels)
    for unit_id, m, criterion, n, total, satisfied in session.execute(
            select(Rating.unit_id, month, RatingScore.criterion, func.count(score), func.sum(score),
                   _sum(_satisfied(RatingScore.value, Rating.scale_levels)))
            .select_from(Rating).join(RatingScore, RatingScore.rating_id == Rating.id).where(*in_span)
            .group_by(Rating.unit_id, month, RatingScore.criterion)):
        entry = found.setdefault((unit_id, m), _Rated(0, {}))
        entry.criteria[criterion] = (int(n), float(total or 0), int(satisfied))
    return found


def _criteria(rated: dict[int, _Rated]) -> list[CriterionScore]:
    totals: dict[str, tuple[int, float]] = {}
    for r in rated.values():
        for criterion, (n, total, _satisfied_n) in r.criteria.items():
            before = totals.get(criterion, (0, 0.0))
            totals[criterion] = (before[0] + n, before[1] + total)
    known = _criteria_order()
    order = [c for c in known if c in totals] + sorted(set(totals) - set(known))
    return [CriterionScore(c, n, total / n if n else None) for c in order for n, total in [totals[c]]]


def _overall(rated) -> tuple[int, float, int]:
    """(ratings with an overall score, sum of their normalized scores, satisfied) over ``rated``."""
    n = total = satisfied = 0
    for r in rated:
        a, b, c = r.criteria.get("overall", (0, 0.0, 0))
        n, total, satisfied = n + a, total + b, satisfied + c
    return n, total, satisfied


def _criteria_order() -> list[str]:
    return [c.id for c in current_scales().criteria]


def _ranking(session: Session, activity: dict[tuple[int, int], _Activity],
             rated: dict[int, _Rated]) -> list[RankingRow]:
    per_unit: dict[int, _Activity] = {}
    for (unit_id, _month), a in activity.items():
        u = per_unit.setdefault(unit_id, _Activity())
        u.received += a.received
        u.handled += a.handled
        u.on_time += a.on_time
    ids = set(per_unit) | set(rated)
    # Communes and wards only: the city's own departments are in the city's figures.
    units = {u.id: u for u in session.scalars(select(AdminUnit).where(
        AdminUnit.id.in_(ids), AdminUnit.level == UnitLevel.COMMUNE))} if ids else {}
    rows = []
    for unit_id, unit in units.items():
        a = per_unit.get(unit_id, _Activity())
        n, total, _satisfied_n = _overall([rated[unit_id]] if unit_id in rated else [])
        rows.append(RankingRow(unit, a.received, a.handled, a.on_time, n, total / n if n else None))
    return sorted(rows, key=lambda r: (-r.handled, -r.received, r.unit.code))


def ranking(session: Session, period: Period) -> list[RankingRow]:
    """Every commune/ward with a copy request or a rating in the period, most requests handled first."""
    [counts] = _period_counts(session, None, [period])
    return _ranking(session, counts.activity, counts.rated)
