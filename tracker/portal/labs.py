"""The labs page: coming dates, every result by day, and one trend chart per test.

Built from four queries (journey_dates, current_results, lab_tests, and the child and journey
before). Each result is turned into one presenter row with every text already formatted
(dates, numbers, ranges, flag words); the template only prints them and the charts are SVG
strings built in Python (tracker.charts), so the page costs little beyond its queries.
"""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from tracker import charts, flags
from tracker.models import Flag, ItemKind, Status

from . import care_team, queries
from . import wording as w
from .card import steroid_period
from .labs_markup import RowMarkup, date_group, join_html
from .pages import OPEN_STATUSES, _common, _group_by_day, _heading, missed_words, worded

UPCOMING_SHOWN = 12

# The steroid course (read from the regimen text) is shared with the emergency card.
_steroid_period = steroid_period


@dataclass
class ResultRow:
    """One result with every text the page shows already formatted."""

    day: date
    day_text: str
    test_name: str
    value: str
    range: str
    flag: w.FlagText
    x_uln: str = ""
    corrected: str = ""  # the day the care team corrected it, in words ("" when not)
    preliminary: bool = False  # the lab's preliminary result, not final yet
    before_treatment: bool = False
    care_team: str = ""  # the care team's acknowledgement and note, escaped HTML (care_team)
    held: bool = False  # held until reviewed by the center's policy: no value shown, no chart
    item_html: str = ""  # the row as a list item of its day (labs_markup)
    table_html: str = ""  # the row in its chart's table (labs_markup)


@dataclass
class PastDay:
    day: date
    heading: str  # "Tuesday, Feb. 3, 2026"
    results: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # (FlagText, heading)

    @property
    def results_html(self):
        return join_html(r.item_html for r in self.results)


@dataclass
class TestChart:
    heading: str
    unit: str
    svg: str
    rows: list
    notes: list

    @property
    def rows_html(self):
        return join_html(r.table_html for r in self.rows)


class _Rows:
    """Formats results into ResultRows; names, ranges and days are formatted once each."""

    def __init__(self, day0, days):
        self.day0 = day0
        self.days = days
        self.number = w.NumberWords()
        self.zone = timezone.get_current_timezone()
        self._names = {}
        self._ranges = {}
        self._waiting = None

    def name(self, test):
        if test.pk not in self._names:
            self._names[test.pk] = w.data_text(test.family_name)
        return self._names[test.pk]

    def range(self, result):
        key = (result.range_low, result.range_high, result.test.decimal_places)
        if key not in self._ranges:
            self._ranges[key] = w.normal_range(*key)
        return self._ranges[key]

    def corrected_on(self, result):
        # The lab's final result after its preliminary one is no correction by the care team.
        if result.supersedes_id is None or result.after_preliminary:
            return ""
        return self.days.long(result.entered_at.astimezone(self.zone).date())

    def row(self, result):
        test = result.test
        local_day = result.collected_at.astimezone(self.zone).date()
        return ResultRow(
            day=local_day,
            day_text=self.days.long(local_day),
            test_name=self.name(test),
            value=f"{self.number(result.value, test.decimal_places)} {result.unit}",
            range=self.range(result),
            flag=self.flag(result),
            # The multiple is shown only above the range: "0.3 times the top" only worries.
            x_uln=w.x_uln_words(result.x_uln) if (result.x_uln or 0) > 1 else "",
            corrected=self.corrected_on(result),
            before_treatment=bool(self.day0) and local_day < self.day0,
            preliminary=result.preliminary,
        )

    def flag(self, result):
        """The flag in words; a preliminary result's help says the final one is to come (the
        care team is alerted by the final result, not by this one)."""
        flag = w.flag_text(result.flag)
        if not result.preliminary:
            return flag
        if self._waiting is None:
            self._waiting = _("The lab has not finished this result: the final one replaces it.")
        return replace(flag, help=self._waiting)


def _past(rows, result_rows, tests, days):
    by_day = {}

    def past_day(day):
        if day not in by_day:
            by_day[day] = PastDay(day, days.full(day))
        return by_day[day]

    for row in result_rows:
        past_day(row.day).results.append(row)
    for lab in rows:
        if lab.status == Status.MISSED or (lab.status == Status.DONE and not lab.item.tests):
            note = (w.status_text(lab.status), _heading(lab.item, tests))
            past_day(lab.due_on).notes.append(note)
    return sorted(by_day.values(), key=lambda d: d.day, reverse=True)


def _rule_line(sub, latest, baseline):
    """The chart line of one sub-rule of the exit rule, or None (no limit to draw)."""
    places = latest.test.decimal_places
    if sub["rule"] == "below_x_uln" and latest.range_high:
        factor = Decimal(str(sub.get("value", 0)))
        value = factor * latest.range_high
        label = _("%(x)s times the top of normal (%(value)s)")
    elif sub["rule"] in flags.BASELINE_RULES and baseline is not None:
        factor, side = flags.baseline_bound(sub)
        value = factor * baseline
        if sub["rule"] == "near_baseline":
            label = _("%(x)s times the level before treatment (%(value)s)")
        elif side == "low":
            label = _("Back to the usual level: %(value)s or more")
        else:
            label = _("Back to the usual level: %(value)s or less")
    else:
        return None
    text = label % {"x": w.factor(factor), "value": w.number(value, places)}
    return charts.Rule(value, text, dash="2 3")


def _rules_for(code, latest, baseline, exit_rules):
    """Label lines for this test: "2 x upper limit" (taper rule), "1.5 x before treatment",
    "back to the usual level" (the child's own level before the infusion)."""
    lines = []
    for rule in exit_rules:
        for sub in rule["all"]:
            line = _rule_line(sub, latest, baseline) if code in sub["tests"] else None
            lines += [line] if line else []
    return list({r.value: r for r in lines}.values())


def _baseline(results, rows):
    before = [result for result, row in zip(results, rows, strict=True) if row.before_treatment]
    if before:
        return before[-1].value
    return results[-1].baseline_value


def _chart_desc(heading, rows, latest_row):
    return _(
        "%(count)s results of the %(test)s from %(first)s to %(last)s. "
        "Latest: %(value)s, %(flag)s (%(range)s). The shaded band is the normal range."
    ) % {
        "count": len(rows),
        "test": heading,
        "first": rows[0].day_text,
        "last": rows[-1].day_text,
        "value": latest_row.value,
        "flag": latest_row.flag.words.lower(),
        "range": latest_row.range,
    }


def _chart(results, rows, journey, exit_rules, steroid):
    """The chart and table of one test: `results` and their `rows`, oldest first."""
    test = results[0].test
    latest = results[-1]
    baseline = _baseline(results, rows)
    rules = _rules_for(test.code, latest, baseline, exit_rules)
    if baseline is not None:
        label = _("Before treatment (%(value)s)") % {
            "value": w.number(baseline, test.decimal_places)
        }
        rules.insert(0, charts.Rule(baseline, label))
    heading = rows[0].test_name
    spec = charts.ChartSpec(
        dom_id=f"chart-{test.code.lower()}",
        title=_("%(test)s over time") % {"test": heading},
        desc=_chart_desc(heading, rows, rows[-1]),
        points=[
            charts.Point(row.day, r.value, r.flag, row.value, row.day_text)
            for row, r in zip(rows, results, strict=True)
        ],
        band=(latest.range_low, latest.range_high)
        if latest.range_low is not None or latest.range_high is not None
        else None,
        rules=rules,
        infusion_day=journey.infusion_date,
        steroid=steroid,
    )
    notes = [r.label for r in rules]
    return TestChart(heading, test.unit, charts.render(spec), rows, notes)


def _charts(results, result_rows, journey, rows):
    """One chart per test, in the catalogue's order."""
    checkpoints = [
        r.due_on
        for r in rows
        if r.item.kind == ItemKind.CHECKPOINT and r.item.code.startswith("steroid")
    ]
    steroid = _steroid_period(journey, checkpoints)
    items = {r.item_id: r.item for r in rows}.values()
    exit_rules = [flags.normalize_exit_rule(i.continue_until_normal) for i in items]
    exit_rules = [rule for rule in exit_rules if rule]
    by_test = defaultdict(list)
    for result, row in zip(results, result_rows, strict=True):
        by_test[result.test_id].append((result, row))
    ordered = sorted(by_test.values(), key=lambda p: (p[0][0].test.position, p[0][0].test.code))
    return [
        _chart([p[0] for p in pairs], [p[1] for p in pairs], journey, exit_rules, steroid)
        for pairs in ordered
    ]


def _latest_first(result_rows, results):
    """The latest result of each test, flagged ones (outside the range) first."""
    latest = {}
    for result, row in zip(results, result_rows, strict=True):
        latest[result.test_id] = (result, row)
    pairs = sorted(latest.values(), key=lambda p: (p[0].test.position, p[0].test.code))
    flagged = [row for result, row in pairs if result.flag not in (Flag.NORMAL, None)]
    return flagged + [row for result, row in pairs if result.flag in (Flag.NORMAL, None)]


def labs_context(patient, journey, today):
    context = _common(patient, journey)
    context.update(
        upcoming=[], upcoming_html="", upcoming_count=0, later_count=0, past=[], charts=[]
    )
    context.update(latest_html="", missed="", draw_notes=[])
    if journey is None:
        return context
    days = w.DayWords()
    rows = queries.journey_dates(journey, today)
    tests = queries.lab_tests()
    results = queries.current_results(journey, tests)
    formatter, care = _Rows(journey.infusion_date, days), care_team.CareTeamWords(journey, days)
    markup = RowMarkup(care)
    result_rows = [formatter.row(r) for r in results]
    for result, row in zip(results, result_rows, strict=True):
        row.care_team, row.held = care.html(result), care.held(result)
        row.item_html, row.table_html = markup.item(row), markup.table_row(row)
    shown = [(r, row) for r, row in zip(results, result_rows, strict=True) if not row.held]
    family = [r for r in rows if r.item.kind in queries.FAMILY_KINDS and not r.item.inpatient]
    groups = _group_by_day([r for r in family if r.status in OPEN_STATUSES], tests)
    missed = worded([g for g in groups if g.status == Status.OVERDUE], days, today)
    groups = [g for g in groups if g.status != Status.OVERDUE]
    worded(groups[:UPCOMING_SHOWN], days, today)
    done = [r for r in family if r.status not in OPEN_STATUSES]
    if groups:
        groups[0].next_text = _("next: %(when)s") % {"when": groups[0].when}
    context.update(
        latest_html=join_html(
            markup.item(r, with_day=True) for r in _latest_first(result_rows, results)
        ),
        missed=missed_words(missed) if missed else "",
        upcoming=groups[:UPCOMING_SHOWN],
        upcoming_html=join_html(date_group(g) for g in groups[:UPCOMING_SHOWN]),
        upcoming_count=len(groups),
        later_count=max(len(groups) - UPCOMING_SHOWN, 0),
        past=_past(done, result_rows, tests, days),
        charts=_charts([p[0] for p in shown], [p[1] for p in shown], journey, rows),
        draw_notes=care_team.draw_notes(rows, lambda r: _heading(r.item, tests), days),
    )
    return context
