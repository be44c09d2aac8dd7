"""The public scorecard: the city at /scorecard, a commune or ward at /scorecard/<code>, and the same
numbers as CSV at /scorecard.csv and /scorecard/<code>.csv (interfaces other tools rely on).

Served from the snapshots the worker refreshes every SCORECARD_REFRESH_MINUTES (counting the city
live took most of a second at a city's volume, docs/benchmarks.md); the page and the CSV say when
the figures were counted. An old (pre-2025) unit's code points to the unit(s) it went into; an
unknown code is a 404 page.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from jinja2 import pass_context

from portal import clock
from portal.db import commit_read, utcnow
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.feedback.ratings import current_scales
from portal.scorecard import charts, metrics, services
from portal.scorecard.snapshots import Snapshot

bp = Blueprint("scorecard", __name__)

#: Units shown in the city ranking before "show all".
RANKING_TOP = 20
#: ``computed_at`` came last, so that tools reading the columns by position still find theirs.
CSV_COLUMNS = ("component", "metric_id", "label_vi", "value", "numerator", "denominator", "unit",
               "period_start", "period_end", "computed_at")


def _period() -> tuple[metrics.Period, str | None]:
    """The period asked for (?year=YYYY, else the last 12 months) and an error message if unusable."""
    today = clock.today()
    raw = request.args.get("year", "").strip()
    if not raw:
        return metrics.last_twelve_months(today), None
    if raw.isdecimal() and len(raw) <= 4 and metrics.FIRST_YEAR <= int(raw) <= today.year:
        return metrics.calendar_year(int(raw), today), None
    return metrics.last_twelve_months(today), _(
        "The year must be between %(first)d and %(last)d; the last 12 months are shown.",
        first=metrics.FIRST_YEAR, last=today.year)


def _carried_args() -> dict[str, str]:
    """The query string carried over a redirect, without the names url_for takes itself
    (?endpoint=… or ?code=… was a 500)."""
    return {k: v for k, v in request.args.items() if k not in ("endpoint", "code") and not k.startswith("_")}


def _vietnamese() -> bool:
    return str(get_locale()) == "vi"


def _criteria_labels() -> dict[str, str]:
    lang = "vi" if _vietnamese() else "en"
    return {c.id: c.label.text(lang) or c.id for c in current_scales().criteria}


# The language comes from the page's context (``scorecard_vi``, set once by `_render`): a city page
# formats thousands of numbers, and asking babel (through Flask's proxies) for each was most of
# the time the page took.


@bp.app_template_global()
@pass_context
def scorecard_label(context, definition: metrics.MetricDef, what: str = "label") -> str:
    return _label(definition, what, _language_of(context))


@bp.app_template_filter("scorecard_number")
@pass_context
def scorecard_number(context, value, unit: str = "count") -> str:
    return _number(value, unit, _language_of(context))


def _language_of(context) -> bool:
    vi = context.get("scorecard_vi")
    return _vietnamese() if vi is None else vi


def _label(definition: metrics.MetricDef, what: str, vi: bool) -> str:
    return getattr(definition, f"{what}_{'vi' if vi else 'en'}")


def _number(value, unit: str, vi: bool) -> str:
    """1.234 and 56,7 %: Vietnamese separators (English ones in English)."""
    if value is None:
        return "—"
    if unit == "count":
        text = f"{int(value):,}"
        return text.replace(",", ".") if vi else text
    text = f"{float(value):,.1f}"
    if vi:
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    if unit == "hours":
        return text + " " + _("h")
    return text + (" %" if unit == "percent" else "")


def _scorecard(unit, period) -> Snapshot:
    snapshot = services.scorecard(db.session, unit, period, utcnow())
    commit_read(db.session)  # a snapshot counted for the first time is kept for the next visitor
    return snapshot


def _render(unit, snapshot: Snapshot, message, status=200):
    card, ranking = snapshot.card, snapshot.card.ranking
    vi = _vietnamese()
    labels = _criteria_labels()
    share = [m for m in card.metrics if m.definition.unit == "percent"]
    share_chart = charts.share_bars(
        [charts.Bar(_label(m.definition, "label", vi), m.value) for m in share],
        _("Shares, in per cent"), _("Each share of the scorecard as a bar from 0 to 100 per cent; "
                                    "the table beside it gives the same numbers."))
    months = [m.month.strftime("%m/%Y") for m in card.monthly]
    month_chart = charts.month_columns(
        months, [m.received for m in card.monthly], [m.handled for m in card.monthly],
        _("Copy requests received and handled per month"),
        _("Columns per month: requests received and requests handled; the table below gives the numbers."),
        first_name=_("Received"), second_name=_("Handled"))
    digitization_chart = charts.share_bars(
        [charts.Bar(row.procedure_name, row.share)
         for row in sorted(card.digitization_by_procedure, key=lambda r: (-r.total, r.procedure_code))[:15]],
        _("Share of results digitized per procedure"),
        _("One bar per procedure (the 15 with the most results); the table gives every procedure and year."))
    criteria_chart = charts.share_bars(
        [charts.Bar(labels.get(c.criterion, c.criterion), c.mean) for c in card.criteria],
        _("Satisfaction per criterion, 0 to 100"), _("Mean normalized score per criterion."), unit="")
    show_all = request.args.get("ranking") == "all"
    years = metrics.offered_years(clock.today())
    return render_template(
        "scorecard/detail.html", unit=unit, card=card, ranking=ranking if show_all else ranking[:RANKING_TOP],
        ranking_total=len(ranking), show_all=show_all, message=message, years=years,
        computed_at=snapshot.computed_at, refresh_minutes=current_app.config["SCORECARD_REFRESH_MINUTES"],
        scorecard_vi=vi,
        criteria_labels=labels, share_chart=share_chart, month_chart=month_chart,
        digitization_chart=digitization_chart, criteria_chart=criteria_chart,
        components=metrics.COMPONENTS), status


@bp.get("/scorecard")
def city():
    period, message = _period()
    return _render(None, _scorecard(None, period), message, 400 if message else 200)


@bp.get("/scorecard.csv")
def city_csv():
    period, message = _period()
    if message:
        raise InvalidInput(message)
    return _csv(_scorecard(None, period), "ha-noi")


@bp.get("/scorecard/<code>")
def unit(code: str):
    if code.endswith(".csv"):  # one rule per shape would let "<code>" swallow ".csv" on some routers
        return unit_csv(code.removesuffix(".csv"))
    scope = _scope(code)
    if scope.city:
        return redirect(url_for(".city", **_carried_args()), 301)
    if scope.legacy is not None:
        return _moved(scope, code)
    period, message = _period()
    return _render(scope.unit, _scorecard(scope.unit, period), message, 400 if message else 200)


def unit_csv(code: str):
    scope = _scope(code)
    if scope.city:
        return redirect(url_for(".city_csv", **_carried_args()), 301)
    if scope.legacy is not None:
        if len(scope.moved_to) == 1:
            return redirect(url_for(".unit", code=scope.moved_to[0].code + ".csv", **_carried_args()), 301)
        abort(404)
    period, message = _period()
    if message:
        raise InvalidInput(message)
    return _csv(_scorecard(scope.unit, period), scope.unit.code)


def _scope(code: str) -> services.Scope:
    try:
        return services.resolve(db.session, code)
    except NotFound:
        abort(404)


def _moved(scope: services.Scope, code: str):
    """An old unit: one successor → a permanent redirect; several (a split) → a page listing them."""
    if len(scope.moved_to) == 1:
        return redirect(url_for(".unit", code=scope.moved_to[0].code, **_carried_args()), 301)
    return render_template("scorecard/moved.html", old=scope.legacy, moved_to=scope.moved_to), 200


def _csv(snapshot: Snapshot, name: str):
    card = snapshot.card
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    # ISO 8601 in Hanoi time, to the second: what a spreadsheet or a script reads back unambiguously.
    computed_at = clock.in_hanoi(snapshot.computed_at).isoformat(timespec="seconds")
    for row in csv_rows(card):
        writer.writerow((*row, computed_at))
    # The BOM lets Excel (which reads CSV as the local code page otherwise) show Vietnamese right.
    response = make_response("\ufeff" + buffer.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    filename = f"scorecard-{name}-{card.period.start.isoformat()}-{card.period.end.isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _value(value, unit: str) -> str:
    if value is None:
        return ""
    return str(int(value)) if unit == "count" else f"{float(value):.2f}"


def csv_rows(card: metrics.Scorecard):
    """One row per metric; then digitization per procedure and year, per criterion, per month."""
    start, end = card.period.start.isoformat(), card.period.end.isoformat()

    def row(component, metric_id, label, value, numerator, denominator, unit):
        blank = "" if numerator is None else numerator
        return (component, metric_id, label, _value(value, unit), blank,
                "" if denominator is None else denominator, unit, start, end)

    for m in card.metrics:
        yield row(m.component, m.id, m.definition.label_vi, m.value, m.numerator, m.denominator,
                  m.definition.unit)
    for d in card.digitization_by_procedure:
        yield row("digitization", f"results_digitized_share:{d.procedure_code}",
                  f"Tỷ lệ kết quả đã số hóa — {d.procedure_name}", d.share, d.digitized, d.total, "percent")
    for d in card.digitization_by_year:
        yield row("digitization", f"results_digitized_share:{d.year}",
                  f"Tỷ lệ kết quả đã số hóa — năm cấp {d.year}", d.share, d.digitized, d.total, "percent")
    for d in card.digitization:
        yield row("digitization", f"results_digitized_share:{d.procedure_code}:{d.year}",
                  f"Tỷ lệ kết quả đã số hóa — {d.procedure_name} — năm cấp {d.year}", d.share, d.digitized,
                  d.total, "percent")
    vi = {c.id: c.label.vi for c in current_scales().criteria}
    for c in card.criteria:
        yield row("satisfaction", f"satisfaction_score:{c.criterion}",
                  f"Điểm hài lòng — {vi.get(c.criterion, c.criterion)}", c.mean, None, c.ratings, "score")
    for m in card.monthly:
        month = m.month.strftime("%Y-%m")
        yield row("progress", f"requests_received:{month}", f"Yêu cầu đã tiếp nhận — tháng {month}",
                  m.received, None, None, "count")
        yield row("progress", f"requests_handled:{month}", f"Yêu cầu đã giải quyết — tháng {month}",
                  m.handled, None, None, "count")
