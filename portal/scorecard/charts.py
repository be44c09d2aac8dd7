"""Charts of the scorecard, drawn on the server as inline SVG.

No JavaScript and nothing our CSP refuses: presentation attributes only (``fill``, ``x``…), no
``style`` attribute and no ``<style>`` element; colours also come from classes in scorecard.css,
which win over the attributes when the stylesheet loads. Each chart is ``role="img"`` with a
``<title>`` and ``<desc>`` (named by aria-labelledby); the page puts the same numbers in a table
beside it, so nothing is only in the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import blake2s

from markupsafe import Markup, escape

BAR_COLOUR = "#1f5f99"
EMPTY_COLOUR = "#e4e8ee"
SECOND_COLOUR = "#d9822b"
TEXT_COLOUR = "#1b1b1b"


@dataclass(frozen=True)
class Bar:
    label: str
    #: 0–100; None draws an empty track marked "—".
    value: float | None


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}".replace(".", ",") + unit


def _frame(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    # Named by its content, not by a counter: the same page is the same bytes for every visitor
    # (its ETag, portal/http_cache.py), and two charts of a page differ in title.
    n = blake2s("\n".join((title, desc, *body)).encode(), digest_size=4).hexdigest()
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" '
            f'aria-labelledby="chart-{n}-title chart-{n}-desc">'
            f'<title id="chart-{n}-title">{escape(title)}</title>'
            f'<desc id="chart-{n}-desc">{escape(desc)}</desc>')
    return Markup(head + "".join(body) + "</svg>")


def share_bars(bars: Sequence[Bar], title: str, desc: str, *, unit: str = " %", width: int = 640) -> Markup:
    """Horizontal bars on a 0–100 scale: the label above each bar, the value at its end."""
    row, bar_height, label_height = 40, 16, 18
    track = width - 80
    height = row * len(bars) + 6
    body = []
    for i, bar in enumerate(bars):
        y = 4 + i * row
        filled = 0 if bar.value is None else round(track * max(0.0, min(100.0, bar.value)) / 100)
        label = bar.label if len(bar.label) <= 90 else bar.label[:89] + "…"
        top = y + label_height
        body.append(
            f'<text x="0" y="{y + 13}" font-size="13" fill="{TEXT_COLOUR}">{escape(label)}</text>'
            f'<rect class="chart-track" x="0" y="{top}" width="{track}" height="{bar_height}" '
            f'fill="{EMPTY_COLOUR}"/>'
            f'<rect class="chart-bar" x="0" y="{top}" width="{filled}" height="{bar_height}" '
            f'fill="{BAR_COLOUR}"/>'
            f'<text x="{track + 6}" y="{top + bar_height - 3}" font-size="13" font-weight="bold" '
            f'fill="{TEXT_COLOUR}">{escape(_fmt(bar.value, unit))}</text>')
    return _frame(width, height, title, desc, body)


def month_columns(labels: Sequence[str], first: Sequence[int], second: Sequence[int], title: str, desc: str,
                  *, first_name: str, second_name: str, width: int = 680, height: int = 260) -> Markup:
    """Paired columns per month (e.g. received vs handled), with a y axis from 0 to a round maximum."""
    left, bottom, top = 44, 40, 28
    plot_h = height - bottom - top
    highest = max([*first, *second, 1])
    step = _nice_step(highest)
    ymax = step * -(-highest // step)
    slot = (width - left - 10) / max(1, len(labels))
    col = max(3.0, slot * 0.36)
    body = []
    for k in range(0, ymax + 1, step):  # gridlines and their numbers
        y = top + plot_h - plot_h * k / ymax
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c9ced6" '
                    f'stroke-width="1"/><text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                    f'font-size="11" fill="{TEXT_COLOUR}">{k}</text>')
    for i, label in enumerate(labels):
        x = left + i * slot + slot / 2
        for j, (value, colour, cls) in enumerate(((first[i], BAR_COLOUR, "chart-bar"),
                                                  (second[i], SECOND_COLOUR, "chart-bar-second"))):
            h = plot_h * value / ymax
            body.append(f'<rect class="{cls}" x="{x - col + j * col:.1f}" y="{top + plot_h - h:.1f}" '
                        f'width="{col - 1:.1f}" height="{h:.1f}" fill="{colour}"/>')
        body.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
                    f'fill="{TEXT_COLOUR}">{escape(label)}</text>')
    legend_y = height - 10
    body.append(f'<rect class="chart-bar" x="{left}" y="{legend_y - 10}" width="12" height="12" '
                f'fill="{BAR_COLOUR}"/><text x="{left + 18}" y="{legend_y}" font-size="12" '
                f'fill="{TEXT_COLOUR}">{escape(first_name)}</text>'
                f'<rect class="chart-bar-second" x="{left + 200}" y="{legend_y - 10}" width="12" height="12" '
                f'fill="{SECOND_COLOUR}"/><text x="{left + 218}" y="{legend_y}" font-size="12" '
                f'fill="{TEXT_COLOUR}">{escape(second_name)}</text>')
    return _frame(width, height, title, desc, body)


def _nice_step(highest: int) -> int:
    """A gridline step giving 4–8 lines: 1, 2, 5, 10, 20, 50…"""
    step = 1
    while highest / step > 8:
        for factor in (2, 2.5, 2):
            step = int(step * factor)
            if highest / step <= 8:
                break
    return step
