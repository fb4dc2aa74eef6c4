"""Long-term follow-up seen from the yearly visits: a missed visit window marks the child "at
risk" (journey.followup), the worklist lists open marks, and the per-center report counts,
for each year since infusion, visits in their window, children at risk and children lost.

A yearly visit is the plan's LTFU item (tracker.schedule.LTFU_CODE); its sequence is the
year since infusion. "Lost": a journey withdrawn after its infusion, counted in the year
since infusion it was withdrawn in.
"""

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape

from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from journey import followup
from journey.access import scope_to_centers
from journey.models import FollowUpRisk, Journey, RiskReason, Stage

from .models import ScheduledLab
from .schedule import LTFU_CODE
from .services import WorklistSection

LOOK_BACK = timedelta(days=365)  # an older missed window is history, not news


def missed_visits(today):
    """Yearly visits whose window closed (within the last year) without a visit, of children
    still in follow-up: (patient id, year, window end)."""
    return (
        ScheduledLab.objects.filter(
            item__code=LTFU_CODE,
            journey__stage=Stage.FOLLOW_UP,
            done_at__isnull=True,
            cancelled_at__isnull=True,
            window_end__lt=today,
            window_end__gte=today - LOOK_BACK,
        )
        .order_by("window_end")
        .values_list("journey__patient_id", "sequence", "window_end")
    )


def mark_missed_visits(today=None, now=None):
    """Mark each child with a missed yearly window at risk (one open mark per child)."""
    today = today or timezone.localdate()
    marked = 0
    for patient_id, year, window_end in missed_visits(today):
        detail = f"year {year} visit: window closed {window_end.isoformat()}"
        marked += (
            followup.mark_at_risk(patient_id, RiskReason.MISSED_VISIT, detail, now) is not None
        )
    return marked


def at_risk(user, at=None):
    """Open "at risk of loss to follow-up" marks of the user's centers, oldest first."""
    rows = scope_to_centers(
        FollowUpRisk.objects.filter(resolved_at__isnull=True), user, "patient__center"
    )
    return WorklistSection(
        "at-risk",
        gettext_lazy("At risk of loss to follow-up"),
        "admin/tracker/_worklist_at_risk.html",
        rows.select_related("patient").order_by("marked_at", "pk"),
        empty=gettext_lazy("No family is at risk of loss to follow-up."),
    )


# ---- the per-center report ----


@dataclass
class YearRow:
    year: int
    in_window: int = 0
    at_risk: int = 0
    lost: int = 0
    children: set = field(default_factory=set)


def report(center, today=None):
    """[YearRow] for years 1.. since infusion at `center`; a constant number of queries."""
    today = today or timezone.localdate()
    rows = {}

    def row(year):
        return rows.setdefault(year, YearRow(year))

    visits = ScheduledLab.objects.filter(
        item__code=LTFU_CODE, journey__center=center, done_at__isnull=False
    ).values_list("sequence", "done_at", "window_start", "window_end")
    for year, done_at, start, end in visits:
        if start <= timezone.localdate(done_at) <= end:
            row(year).in_window += 1
    for year, count in _at_risk_by_year(center, today):
        row(year).at_risk += count
    for year, count in _lost_by_year(center):
        row(year).lost += count
    return [rows[year] for year in sorted(rows)]


def _year_since(days):
    """Year since infusion N counts days (N-1)*365 .. N*365 after day 0 (year 1 from day 0)."""
    return max(1, days // 365 + 1)


def _at_risk_by_year(center, today):
    """Children with an open mark, by their current year since infusion (one query)."""
    open_mark = FollowUpRisk.objects.filter(patient=OuterRef("patient"), resolved_at__isnull=True)
    journeys = (
        Journey.objects.filter(center=center, infusion_date__isnull=False)
        .filter(Exists(open_mark))
        .values_list("patient_id", "infusion_date")
    )
    years = {}
    for patient_id, day0 in journeys:
        years[patient_id] = _year_since((today - day0).days)
    return Counter(years.values()).items()


def _lost_by_year(center):
    """Journeys withdrawn after their infusion, by the year since infusion they left in."""
    lost = Journey.objects.filter(
        center=center, stage=Stage.WITHDRAWN, infusion_date__isnull=False, closed_at__isnull=False
    ).values_list("infusion_date", "closed_at")
    days = [(timezone.localdate(closed) - day0).days for day0, closed in lost]
    return Counter(_year_since(d) for d in days if d >= 0).items()


def report_csv(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["year_since_infusion", "visit_in_window", "at_risk", "lost"])
    for r in rows:
        writer.writerow([r.year, r.in_window, r.at_risk, r.lost])
    return buffer.getvalue()


BAR_W, GAP, CHART_H, LABEL_H = 14, 10, 160, 36
COLOURS = (("in_window", "#2f855a"), ("at_risk", "#b7791f"), ("lost", "#9b1c1c"))


def report_svg(rows):
    """Three bars per year (visit in window, at risk, lost), with numbers above each bar and
    a legend in words (never colour alone)."""
    if not rows:
        return ""
    top = max(max(r.in_window, r.at_risk, r.lost) for r in rows) or 1
    group = 3 * BAR_W + GAP
    width = 40 + group * len(rows)
    parts = []
    for i, r in enumerate(rows):
        x0 = 30 + i * group
        for j, (name, colour) in enumerate(COLOURS):
            value = getattr(r, name)
            h = round(value / top * (CHART_H - 20))
            x, y = x0 + j * BAR_W, CHART_H - h
            parts.append(
                f'<rect x="{x}" y="{y}" width="{BAR_W - 2}" height="{h}" fill="{colour}"/>'
                f'<text x="{x + 1}" y="{y - 3}" font-size="9">{value}</text>'
            )
        label = escape(_("Year %(year)s") % {"year": r.year})
        parts.append(f'<text x="{x0}" y="{CHART_H + 14}" font-size="10">{label}</text>')
    legend = " · ".join(
        escape(str(text))
        for text in (_("visit in its window"), _("at risk"), _("lost to follow-up"))
    )
    title = escape(_("Yearly follow-up by year since infusion"))
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{CHART_H + LABEL_H}" aria-label="{title}"><title>{title}</title>'
        + "".join(parts)
        + f'<text x="30" y="{CHART_H + 30}" font-size="10">{legend}</text></svg>'
    )
