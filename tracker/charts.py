"""A lab test's trend as a small, server-rendered SVG (no JavaScript).

What it draws: the values over time joined by a line, the normal range as a shaded band,
flagged points as triangles or diamonds with a word beside them (never colour alone), the
child's level before treatment as a dashed line, a label rule such as "2 x upper limit" as a
dotted line, the infusion day as a vertical line and the steroid period as a bar under the
time axis. The page puts a table with the same numbers next to it.
"""

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils import formats
from django.utils.html import format_html, format_html_join
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


def _tick_number(value):
    places = 0 if float(value).is_integer() else 1 if (value * 10).is_integer() else 2
    return formats.number_format(value, decimal_pos=places, use_l10n=True)


def _axes(scale):
    y_lines = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#e4e7eb"/>'
        '<text x="{}" y="{}" text-anchor="end" font-size="11" fill="{}">{}</text>',
        (
            (
                LEFT,
                WIDTH - RIGHT,
                scale.y(v),
                scale.y(v),
                LEFT - 6,
                scale.y(v) + 4,
                MUTED,
                _tick_number(v),
            )
            for v in scale.y_ticks()
        ),
    )
    base = TOP + PLOT_H
    x_labels = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}"/>'
        '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="{}">{}</text>',
        (
            (
                scale.x(d),
                scale.x(d),
                base,
                base + 4,
                MUTED,
                scale.x(d),
                base + 17,
                MUTED,
                formats.date_format(d, "MONTH_DAY_FORMAT"),
            )
            for d in scale.x_ticks()
        ),
    )
    frame = format_html(
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}"/>', LEFT, WIDTH - RIGHT, base, base, INK
    )
    return y_lines + frame + x_labels


def _band(spec, scale):
    if not spec.band:
        return ""
    low, high = spec.band
    y_top = scale.y(high) if high is not None else TOP
    y_bottom = scale.y(low) if low is not None else TOP + PLOT_H
    return format_html(
        '<rect class="chart-band" x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
        '<text x="{}" y="{}" font-size="11" fill="{}">{}</text>',
        LEFT,
        y_top,
        PLOT_W,
        round(max(y_bottom - y_top, 0), 1),
        BAND,
        LEFT + 4,
        y_top + 12,
        MUTED,
        _("Normal range"),
    )


def _rules(spec, scale):
    return format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="1.5" '
        'stroke-dasharray="{}"/><text x="{}" y="{}" text-anchor="end" font-size="11" '
        'fill="{}">{}</text>',
        (
            (
                LEFT,
                WIDTH - RIGHT,
                scale.y(r.value),
                scale.y(r.value),
                INK,
                r.dash,
                WIDTH - RIGHT - 2,
                scale.y(r.value) - 4,
                INK,
                r.label,
            )
            for r in spec.rules
        ),
    )


def _time_marks(spec, scale):
    parts = []
    if spec.infusion_day:
        x = scale.x(spec.infusion_day)
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="2"/>'
                '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="{}">{}</text>',
                x,
                x,
                TOP,
                TOP + PLOT_H,
                INK,
                x,
                TOP - 8,
                INK,
                _("Infusion day"),
            )
        )
    if spec.steroid:
        start, end = spec.steroid
        x1 = scale.x(start)
        x2 = scale.x(end) if end else WIDTH - RIGHT
        label = _("Steroid medicine") if end else _("Steroid medicine starts")
        y = HEIGHT - 22
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="8" fill="#fbd38d" stroke="{}"/>'
                '<text x="{}" y="{}" font-size="11" fill="{}">{}</text>',
                x1,
                y,
                max(x2 - x1, 2),
                MUTED,
                x1,
                y + 20,
                INK,
                label,
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - each part built by format_html


def _short_flag(flag):
    return {
        Flag.HIGH: _("High"),
        Flag.LOW: _("Low"),
        Flag.CRITICAL_HIGH: _("Very high"),
        Flag.CRITICAL_LOW: _("Very low"),
    }.get(flag, "")


def _marker(point, x, y):
    """Circle for normal; triangle up/down for high/low; a larger diamond for critical."""
    title = format_html(
        "<title>{}: {} {}</title>",
        formats.date_format(point.day, "DATE_FORMAT"),
        point.text,
        _short_flag(point.flag),
    )
    if point.flag in (Flag.HIGH, Flag.LOW):
        dy = -6 if point.flag == Flag.HIGH else 6
        shape = format_html(
            '<polygon class="point point-{}" points="{},{} {},{} {},{}" fill="{}"/>',
            point.flag,
            x,
            y + dy,
            x - 6,
            y - dy,
            x + 6,
            y - dy,
            ALERT,
        )
    elif point.flag in (Flag.CRITICAL_HIGH, Flag.CRITICAL_LOW):
        shape = format_html(
            '<polygon class="point point-critical" points="{},{} {},{} {},{} {},{}" '
            'fill="{}" stroke="{}" stroke-width="2"/>',
            x,
            y - 8,
            x + 8,
            y,
            x,
            y + 8,
            x - 8,
            y,
            ALERT,
            INK,
        )
    else:
        shape = format_html(
            '<circle class="point point-normal" cx="{}" cy="{}" r="4" fill="#fff" stroke="{}" '
            'stroke-width="2"/>',
            x,
            y,
            INK,
        )
    word = _short_flag(point.flag)
    text = (
        format_html(
            '<text x="{}" y="{}" text-anchor="middle" font-size="11" font-weight="bold" '
            'fill="{}">{}</text>',
            x,
            y - 12 if point.flag in (Flag.HIGH, Flag.CRITICAL_HIGH) else y + 20,
            ALERT,
            word,
        )
        if word
        else ""
    )
    return format_html("<g>{}{}{}</g>", title, shape, text)


def _series(spec, scale):
    coords = [(scale.x(p.day), scale.y(p.value)) for p in spec.points]
    line = format_html(
        '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>',
        " ".join(f"{x},{y}" for x, y in coords),
        INK,
    )
    markers = mark_safe(  # noqa: S308 - each marker built by format_html
        "".join(_marker(p, x, y) for p, (x, y) in zip(spec.points, coords, strict=True))
    )
    return line + markers


def render(spec):
    """The chart as inline SVG markup (safe string), or "" when there is nothing to draw."""
    if not spec.points:
        return ""
    scale = _Scale(spec)
    return format_html(
        '<svg class="lab-chart" role="img" aria-labelledby="{id}-title {id}-desc" '
        'viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMidYMid meet" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
        "{band}{axes}{rules}{marks}{series}</svg>",
        id=spec.dom_id,
        w=WIDTH,
        h=HEIGHT,
        title=spec.title,
        desc=spec.desc,
        band=_band(spec, scale),
        axes=_axes(scale),
        rules=_rules(spec, scale),
        marks=_time_marks(spec, scale),
        series=_series(spec, scale),
    )
