"""The public scorecard: the city at /scorecard, a commune or ward at /scorecard/<code>, and the same
numbers as CSV at /scorecard.csv and /scorecard/<code>.csv (interfaces other tools rely on).

Live from the data on every request: the aggregates take tens of milliseconds (docs/benchmarks.md).
An old (pre-2025) unit's code points to the unit(s) it went into; an unknown code is a 404 page.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from portal import clock
from portal.db import utcnow
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.feedback.ratings import current_scales
from portal.scorecard import charts, metrics, services

bp = Blueprint("scorecard", __name__)

#: Units shown in the city ranking before "show all".
RANKING_TOP = 20
#: Years offered in the period selector, counting back from this year.
YEARS_OFFERED = 6
#: First year a scorecard may be asked for (the portal holds results from then on, not activity).
FIRST_YEAR = 2020
CSV_COLUMNS = ("component", "metric_id", "label_vi", "value", "numerator", "denominator", "unit",
               "period_start", "period_end")


def _period() -> tuple[metrics.Period, str | None]:
    """The period asked for (?year=YYYY, else the last 12 months) and an error message if unusable."""
    today = clock.today()
    raw = request.args.get("year", "").strip()
    if not raw:
        return metrics.last_twelve_months(today), None
    if raw.isdecimal() and len(raw) <= 4 and FIRST_YEAR <= int(raw) <= today.year:
        return metrics.calendar_year(int(raw), today), None
    return metrics.last_twelve_months(today), _(
        "The year must be between %(first)d and %(last)d; the last 12 months are shown.",
        first=FIRST_YEAR, last=today.year)


def _carried_args() -> dict[str, str]:
    """The query string carried over a redirect, without the names url_for takes itself
    (?endpoint=… or ?code=… was a 500)."""
    return {k: v for k, v in request.args.items() if k not in ("endpoint", "code") and not k.startswith("_")}


def _criteria_labels() -> dict[str, str]:
    lang = "vi" if str(get_locale()) == "vi" else "en"
    return {c.id: c.label.text(lang) or c.id for c in current_scales().criteria}


@bp.app_template_global()
def scorecard_label(definition: metrics.MetricDef, what: str = "label") -> str:
    vi = str(get_locale()) == "vi"
    return getattr(definition, f"{what}_{'vi' if vi else 'en'}")


@bp.app_template_filter("scorecard_number")
def scorecard_number(value, unit: str = "count") -> str:
    """1.234 and 56,7 %: Vietnamese separators (English ones in English)."""
    if value is None:
        return "—"
    vi = str(get_locale()) == "vi"
    if unit == "count":
        text = f"{int(value):,}"
        return text.replace(",", ".") if vi else text
    text = f"{float(value):,.1f}"
    if vi:
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text + {"percent": " %", "hours": " " + _("h"), "score": ""}.get(unit, "")


def _render(unit, card, ranking, message, status=200):
    labels = _criteria_labels()
    share = [m for m in card.metrics if m.definition.unit == "percent"]
    share_chart = charts.share_bars(
        [charts.Bar(scorecard_label(m.definition), m.value) for m in share],
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
    today = clock.today()
    show_all = request.args.get("ranking") == "all"
    years = list(range(today.year, max(FIRST_YEAR, today.year - YEARS_OFFERED + 1) - 1, -1))
    return render_template(
        "scorecard/detail.html", unit=unit, card=card, ranking=ranking if show_all else ranking[:RANKING_TOP],
        ranking_total=len(ranking), show_all=show_all, message=message, years=years,
        criteria_labels=labels, share_chart=share_chart, month_chart=month_chart,
        digitization_chart=digitization_chart, criteria_chart=criteria_chart,
        components=metrics.COMPONENTS), status


@bp.get("/scorecard")
def city():
    period, message = _period()
    card, ranking = services.scorecard(db.session, None, period, utcnow(), with_ranking=True)
    return _render(None, card, ranking, message, 400 if message else 200)


@bp.get("/scorecard.csv")
def city_csv():
    period, message = _period()
    if message:
        raise InvalidInput(message)
    card, _ranking = services.scorecard(db.session, None, period, utcnow())
    return _csv(card, "ha-noi")


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
    card, _ranking = services.scorecard(db.session, scope.unit, period, utcnow())
    return _render(scope.unit, card, [], message, 400 if message else 200)


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
    card, _ranking = services.scorecard(db.session, scope.unit, period, utcnow())
    return _csv(card, scope.unit.code)


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


def _csv(card: metrics.Scorecard, name: str):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(card):
        writer.writerow(row)
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
