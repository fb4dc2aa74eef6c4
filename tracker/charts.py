"""A lab test's trend as a small, server-rendered SVG (no JavaScript).

What it draws: the values over time joined by a line, the normal range as a shaded band,
flagged points as triangles or diamonds with a word beside them (never colour alone), the
child's level before treatment as a dashed line, a label rule such as "2 x upper limit" as a
dotted line, the infusion day as a vertical line and the steroid period as a bar under the
time axis. The page puts a table with the same numbers next to it.

Built as one string per chart: coordinates are computed once in Python and the markup is
joined with f-strings; every text (labels, titles, dates) goes through `html.escape`, which
escapes as django's `escape` does. Numbers are Python floats or ints: nothing to escape.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from html import escape

from django.utils import formats
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from tracker.models import Flag

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 20, 28, 64
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_X_TICKS = 5
INK, MUTED, BAND, ALERT = "#1f2933", "#52606d", "#d9f2e3", "#9b1c1c"


@dataclass(frozen=True)
class Point:
    day: date
    value: Decimal
    flag: str
    text: str  # the value as shown ("32 U/L")
    day_text: str = ""  # the day as shown ("Feb. 3, 2026"); formatted here when empty


@dataclass(frozen=True)
class Rule:
    """A horizontal reference line: the level before treatment or a label threshold."""

    value: Decimal
    label: str
    dash: str = "6 4"


@dataclass
class ChartSpec:
    dom_id: str
    title: str
    desc: str
    points: list[Point]
    band: tuple | None = None  # (low or None, high or None)
    rules: list[Rule] = field(default_factory=list)
    infusion_day: date | None = None
    steroid: tuple | None = None  # (start, end or None)


def _nice_step(span, ticks=4):
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


class _Scale:
    """Maps days and values to SVG coordinates."""

    def __init__(self, spec):
        days = [p.day for p in spec.points]
        days += [d for d in (spec.infusion_day,) if d]
        if spec.steroid:
            days += [d for d in spec.steroid if d]
        self.start = min(days) - timedelta(days=2)
        self.end = max(days) + timedelta(days=2)
        values = [float(p.value) for p in spec.points]
        values += [float(r.value) for r in spec.rules]
        values += [float(v) for v in (spec.band or ()) if v is not None]
        top = max(values + [1.0]) * 1.12
        self.step = _nice_step(top)
        self.top = math.ceil(top / self.step) * self.step

    def x(self, day):
        span = max((self.end - self.start).days, 1)
        return round(LEFT + PLOT_W * (day - self.start).days / span, 1)

    def y(self, value):
        return round(TOP + PLOT_H * (1 - float(value) / self.top), 1)

    def y_ticks(self):
        count = round(self.top / self.step)
        return [self.step * i for i in range(count + 1)]

    def x_ticks(self):
        span = (self.end - self.start).days
        every = max(1, math.ceil(span / MAX_X_TICKS))
        return [self.start + timedelta(days=every * i) for i in range(span // every + 1)]


_YEAR_AT_END = re.compile(r",?\s*(?:\\d\\e\s*)?[Yy]\s*$")


def day_month_format():
    """The language's DATE_FORMAT without its year ("N j" for "Jan. 12", "j \\d\\e F" for
    "12 de enero"): chart ticks then read like every other date on the page (issue 13)."""
    return _YEAR_AT_END.sub("", formats.get_format("DATE_FORMAT")) or "MONTH_DAY_FORMAT"


def _tick_number(value):
    places = 0 if float(value).is_integer() else 1 if (value * 10).is_integer() else 2
    return formats.number_format(value, decimal_pos=places, use_l10n=True)


def _axes(scale):
    parts = []
    for v in scale.y_ticks():
        y = scale.y(v)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="#e4e7eb"/>'
            f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end" font-size="11" '
            f'fill="{MUTED}">{escape(_tick_number(v))}</text>'
        )
    base = TOP + PLOT_H
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" stroke="{INK}"/>')
    for d in scale.x_ticks():
        x = scale.x(d)
        label = escape(formats.date_format(d, day_month_format()))
        parts.append(
            f'<line x1="{x}" x2="{x}" y1="{base}" y2="{base + 4}" stroke="{MUTED}"/>'
            f'<text x="{x}" y="{base + 17}" text-anchor="middle" font-size="11" '
            f'fill="{MUTED}">{label}</text>'
        )
    return "".join(parts)


def _band(spec, scale):
    if not spec.band:
        return ""
    low, high = spec.band
    y_top = scale.y(high) if high is not None else TOP
    y_bottom = scale.y(low) if low is not None else TOP + PLOT_H
    height = round(max(y_bottom - y_top, 0), 1)
    return (
        f'<rect class="chart-band" x="{LEFT}" y="{y_top}" width="{PLOT_W}" height="{height}" '
        f'fill="{BAND}"/><text x="{LEFT + 4}" y="{y_top + 12}" font-size="11" '
        f'fill="{MUTED}">{escape(_("Normal range"))}</text>'
    )


def _rules(spec, scale):
    parts = []
    for r in spec.rules:
        y = scale.y(r.value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="{INK}" '
            f'stroke-width="1.5" stroke-dasharray="{escape(r.dash)}"/>'
            f'<text x="{WIDTH - RIGHT - 2}" y="{y - 4}" text-anchor="end" font-size="11" '
            f'fill="{INK}">{escape(r.label)}</text>'
        )
    return "".join(parts)


def _time_marks(spec, scale):
    parts = []
    if spec.infusion_day:
        x = scale.x(spec.infusion_day)
        parts.append(
            f'<line x1="{x}" x2="{x}" y1="{TOP}" y2="{TOP + PLOT_H}" stroke="{INK}" '
            f'stroke-width="2"/><text x="{x}" y="{TOP - 8}" text-anchor="middle" '
            f'font-size="11" fill="{INK}">{escape(_("Infusion day"))}</text>'
        )
    if spec.steroid:
        start, end = spec.steroid
        x1 = scale.x(start)
        x2 = scale.x(end) if end else WIDTH - RIGHT
        label = _("Steroid medicine") if end else _("Steroid medicine starts")
        y = HEIGHT - 22
        parts.append(
            f'<rect x="{x1}" y="{y}" width="{max(x2 - x1, 2)}" height="8" fill="#fbd38d" '
            f'stroke="{MUTED}"/><text x="{x1}" y="{y + 20}" font-size="11" '
            f'fill="{INK}">{escape(label)}</text>'
        )
    return "".join(parts)


def _short_flags():
    return {
        Flag.HIGH: _("High"),
        Flag.LOW: _("Low"),
        Flag.CRITICAL_HIGH: _("Very high"),
        Flag.CRITICAL_LOW: _("Very low"),
    }


def _shape(flag, x, y):
    """Circle for normal; triangle up/down for high/low; a larger diamond for critical."""
    if flag in (Flag.HIGH, Flag.LOW):
        dy = -6 if flag == Flag.HIGH else 6
        return (
            f'<polygon class="point point-{flag}" points="{x},{y + dy} {x - 6},{y - dy} '
            f'{x + 6},{y - dy}" fill="{ALERT}"/>'
        )
    if flag in (Flag.CRITICAL_HIGH, Flag.CRITICAL_LOW):
        return (
            f'<polygon class="point point-critical" points="{x},{y - 8} {x + 8},{y} '
            f'{x},{y + 8} {x - 8},{y}" fill="{ALERT}" stroke="{INK}" stroke-width="2"/>'
        )
    return (
        f'<circle class="point point-normal" cx="{x}" cy="{y}" r="4" fill="#fff" '
        f'stroke="{INK}" stroke-width="2"/>'
    )


def _marker(point, x, y, words):
    """One point: a title (date, value, flag word), its shape and the flag word beside it."""
    word = escape(words.get(point.flag, ""))
    day = point.day_text or formats.date_format(point.day, "DATE_FORMAT")
    title = f"<title>{escape(day)}: {escape(point.text)} {word}</title>"
    text = ""
    if word:
        ty = y - 12 if point.flag in (Flag.HIGH, Flag.CRITICAL_HIGH) else y + 20
        text = (
            f'<text x="{x}" y="{ty}" text-anchor="middle" font-size="11" font-weight="bold" '
            f'fill="{ALERT}">{word}</text>'
        )
    return f"<g>{title}{_shape(point.flag, x, y)}{text}</g>"


def _series(spec, scale):
    coords = [(scale.x(p.day), scale.y(p.value)) for p in spec.points]
    line = " ".join(f"{x},{y}" for x, y in coords)
    words = _short_flags()
    markers = "".join(
        _marker(p, x, y, words) for p, (x, y) in zip(spec.points, coords, strict=True)
    )
    return f'<polyline points="{line}" fill="none" stroke="{INK}" stroke-width="2"/>{markers}'


def render(spec):
    """The chart as inline SVG markup (safe string), or "" when there is nothing to draw."""
    if not spec.points:
        return ""
    scale = _Scale(spec)
    dom_id = escape(spec.dom_id)
    svg = (
        f'<svg class="lab-chart" role="img" aria-labelledby="{dom_id}-title {dom_id}-desc" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMidYMid meet" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">'
        f'<title id="{dom_id}-title">{escape(spec.title)}</title>'
        f'<desc id="{dom_id}-desc">{escape(spec.desc)}</desc>'
        f"{_band(spec, scale)}{_axes(scale)}{_rules(spec, scale)}{_time_marks(spec, scale)}"
        f"{_series(spec, scale)}</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - every text above goes through escape()
