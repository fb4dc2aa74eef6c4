"""The plan and labs pages' contents, built from a fixed number of queries.

Each builder takes the child and journey already fetched (through journey.access) and returns
a template context of plain objects: the templates only print.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from tracker import charts, flags
from tracker.models import ItemKind, Status

from . import queries
from . import wording as w

OPEN_STATUSES = (Status.UPCOMING, Status.DUE, Status.OVERDUE)
STATUS_WEIGHT = {Status.OVERDUE: 0, Status.DUE: 1, Status.UPCOMING: 2}
UPCOMING_SHOWN = 12


# ---------------------------------------------------------------- shared pieces


def _tests_of(item, tests):
    return [tests[code] for code in item.tests if code in tests]


def _heading(item, tests):
    return w.item_heading(w.data_text(item.title), _tests_of(item, tests))


def _contacts(journey, patient):
    center = journey.center if journey else patient.center
    return {
        "center": center,
        "main_phone": center.main_phone,
        "main_phone_href": w.tel_href(center.main_phone),
        "after_hours_phone": center.after_hours_phone,
        "after_hours_phone_href": w.tel_href(center.after_hours_phone),
    }


_STEROID_START = re.compile(r"\b(?:(\d+) days|the day) before\b", re.I)
_STEROID_DAYS = re.compile(r"\bfor (?:at least )?(\d+) days\b", re.I)


def _steroid_period(journey, checkpoint_dates):
    """(first day, last day or None) of the steroid course, or None when it is not known.

    The catalogue keeps the regimen as text only ("from the day before the infusion, for 30
    days"), so the start ("the day before", "3 days before") and length ("for 30 days") are
    read from it; the plan's steroid checkpoint (the taper decision), when there is one, ends
    the period. Without a readable start nothing is drawn rather than a guess.
    """
    therapy = journey.therapy
    regimen = therapy.steroid_regimen if therapy else ""
    found = _STEROID_START.search(regimen or "")
    if not (found and journey.infusion_date):
        return None
    start = journey.infusion_date - timedelta(days=int(found.group(1) or 1))
    if checkpoint_dates:
        return (start, min(checkpoint_dates))
    length = _STEROID_DAYS.search(regimen)
    return (start, start + timedelta(days=int(length.group(1)) - 1) if length else None)


def _common(patient, journey):
    therapy = journey.therapy if journey else None
    return {
        "child": patient,
        "journey": journey,
        "therapy": therapy,
        **_contacts(journey, patient),
        "urgent_symptoms": [w.localized_line(s) for s in getattr(therapy, "urgent_symptoms", [])],
    }


# ---------------------------------------------------------------- plan page


@dataclass
class PlanLine:
    kind: str
    heading: str
    often: str
    inpatient: bool = False
    lifelong: bool = False
    may_continue: bool = False
    extended: bool = False
    until: str = ""  # how long it goes on when the exit rule is unmet, in plain words


@dataclass
class DateGroup:
    """Everything due on one day: the headings and the most urgent status among them."""

    due_on: date
    window_start: date
    window_end: date
    status: str
    headings: list = field(default_factory=list)

    @property
    def status_text(self):
        return w.status_text(self.status)

    @property
    def has_window(self):
        return self.window_start != self.window_end


def _plan_line(item, tests):
    rows = list(item.scheduled.all())
    if item.baseline and rows:
        often = _("once before the infusion, by %(date)s") % {"date": w.day(rows[0].due_on)}
    else:
        often = w.how_often([r.due_on for r in rows])
    rule = flags.normalize_exit_rule(item.continue_until_normal)
    return PlanLine(
        kind=item.kind,
        heading=_heading(item, tests),
        often=often,
        inpatient=item.inpatient,
        lifelong=item.lifelong,
        may_continue=bool(rule) and not item.extension_ended_at,
        extended=item.extension_open,
        until=w.until_words(rule) if rule else "",
    )


def _group_by_day(rows, tests):
    groups = {}
    for row in rows:
        status = row.status if isinstance(row.status, str) else row.status()
        group = groups.get(row.due_on)
        if group is None:
            group = groups[row.due_on] = DateGroup(
                row.due_on, row.window_start, row.window_end, status
            )
        group.window_start = min(group.window_start, row.window_start)
        group.window_end = max(group.window_end, row.window_end)
        if STATUS_WEIGHT[status] < STATUS_WEIGHT[group.status]:
            group.status = status
        group.headings.append(_heading(row.item, tests))
    return list(groups.values())


def _open_family_rows(items, today):
    """Open draws and visits the family goes to (not inpatient), with status set."""
    rows = []
    for item in items:
        if item.kind not in queries.FAMILY_KINDS or item.inpatient:
            continue
        for row in item.scheduled.all():
            row.item = item
            row.status = row.status(today) if callable(row.status) else row.status
            if row.status in OPEN_STATUSES:
                rows.append(row)
    return sorted(rows, key=lambda r: (r.due_on, r.item.position))


OVERDUE_SHOWN = 3


def plan_context(patient, journey, today):
    context = _common(patient, journey)
    plan = queries.plan_of(journey)
    context.update(plan=plan, lines=[], overdue=[], next_group=None)
    if plan is None:
        return context
    items = queries.plan_items(plan)
    tests = queries.lab_tests()
    lines = [_plan_line(item, tests) for item in items]
    groups = _group_by_day(_open_family_rows(items, today), tests)
    context.update(
        lines=lines,
        lab_lines=[x for x in lines if x.kind == ItemKind.LAB],
        visit_lines=[x for x in lines if x.kind == ItemKind.VISIT],
        check_lines=[x for x in lines if x.kind == ItemKind.CHECKPOINT],
        overdue=[g for g in groups if g.status == Status.OVERDUE][:OVERDUE_SHOWN],
        overdue_more=max(sum(g.status == Status.OVERDUE for g in groups) - OVERDUE_SHOWN, 0),
        next_group=next((g for g in groups if g.status != Status.OVERDUE), None),
        last_date=max((r.due_on for i in items for r in i.scheduled.all()), default=None),
    )
    return context


# ---------------------------------------------------------------- labs page


@dataclass
class ResultRow:
    day: date
    test_name: str
    value: str
    range: str
    flag: w.FlagText
    x_uln: str = ""
    corrected: bool = False
    before_treatment: bool = False


@dataclass
class PastDay:
    day: date
    results: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # (FlagText, heading)


@dataclass
class TestChart:
    heading: str
    unit: str
    svg: str
    rows: list
    notes: list


def _value_text(result):
    return f"{w.number(result.value, result.test.decimal_places)} {result.unit}"


def _result_row(result, day0):
    test = result.test
    local_day = timezone.localtime(result.collected_at).date()
    return ResultRow(
        day=local_day,
        test_name=w.data_text(test.family_name),
        value=_value_text(result),
        range=w.normal_range(result.range_low, result.range_high, test.decimal_places),
        flag=w.flag_text(result.flag),
        # The multiple is shown only above the range: "0.3 times the top" only worries.
        x_uln=w.x_uln_words(result.x_uln) if (result.x_uln or 0) > 1 else "",
        corrected=result.supersedes_id is not None,
        before_treatment=bool(day0) and local_day < day0,
    )


def _past(rows, results, tests, day0):
    days = defaultdict(lambda: None)
    for result in results:
        row = _result_row(result, day0)
        days[row.day] = days[row.day] or PastDay(row.day)
        days[row.day].results.append(row)
    for lab in rows:
        if lab.status == Status.MISSED or (lab.status == Status.DONE and not lab.item.tests):
            days[lab.due_on] = days[lab.due_on] or PastDay(lab.due_on)
            days[lab.due_on].notes.append((w.status_text(lab.status), _heading(lab.item, tests)))
    return sorted(days.values(), key=lambda d: d.day, reverse=True)


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


def _rules_for(code, latest, baseline, items):
    """Label lines for this test: "2 x upper limit" (taper rule), "1.5 x before treatment",
    "back to the usual level" (the child's own level before the infusion)."""
    lines = []
    for item in items:
        rule = flags.normalize_exit_rule(item.continue_until_normal) or {"all": []}
        for sub in rule["all"]:
            line = _rule_line(sub, latest, baseline) if code in sub["tests"] else None
            lines += [line] if line else []
    return list({r.value: r for r in lines}.values())


def _baseline(results, day0):
    before = [r for r in results if day0 and timezone.localtime(r.collected_at).date() < day0]
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
        "first": w.day(rows[0].day),
        "last": w.day(rows[-1].day),
        "value": latest_row.value,
        "flag": latest_row.flag.words.lower(),
        "range": latest_row.range,
    }


def _chart(test, results, journey, items, steroid):
    day0 = journey.infusion_date
    rows = [_result_row(r, day0) for r in results]
    latest = results[-1]
    baseline = _baseline(results, day0)
    rules = _rules_for(test.code, latest, baseline, items)
    if baseline is not None:
        label = _("Before treatment (%(value)s)") % {
            "value": w.number(baseline, test.decimal_places)
        }
        rules.insert(0, charts.Rule(baseline, label))
    spec = charts.ChartSpec(
        dom_id=f"chart-{test.code.lower()}",
        title=_("%(test)s over time") % {"test": w.data_text(test.family_name)},
        desc=_chart_desc(w.data_text(test.family_name), rows, rows[-1]),
        points=[
            charts.Point(row.day, r.value, r.flag, row.value)
            for row, r in zip(rows, results, strict=True)
        ],
        band=(latest.range_low, latest.range_high)
        if latest.range_low is not None or latest.range_high is not None
        else None,
        rules=rules,
        infusion_day=day0,
        steroid=steroid,
    )
    notes = [r.label for r in rules]
    return TestChart(w.data_text(test.family_name), test.unit, charts.render(spec), rows, notes)


def labs_context(patient, journey, today):
    context = _common(patient, journey)
    context.update(upcoming=[], later_count=0, past=[], charts=[])
    if journey is None:
        return context
    rows = queries.journey_dates(journey, today)
    results = queries.current_results(journey)
    tests = queries.lab_tests()
    family = [r for r in rows if r.item.kind in queries.FAMILY_KINDS and not r.item.inpatient]
    groups = _group_by_day([r for r in family if r.status in OPEN_STATUSES], tests)
    checkpoints = [
        r.due_on
        for r in rows
        if r.item.kind == ItemKind.CHECKPOINT and r.item.code.startswith("steroid")
    ]
    steroid = _steroid_period(journey, checkpoints)
    items = list({r.item_id: r.item for r in rows}.values())
    by_test = defaultdict(list)
    for result in results:
        by_test[result.test_id].append(result)
    ordered = sorted(by_test.values(), key=lambda rs: (rs[0].test.position, rs[0].test.code))
    context.update(
        upcoming=groups[:UPCOMING_SHOWN],
        later_count=max(len(groups) - UPCOMING_SHOWN, 0),
        past=_past(
            [r for r in family if r.status not in OPEN_STATUSES],
            results,
            tests,
            journey.infusion_date,
        ),
        charts=[_chart(rs[0].test, rs, journey, items, steroid) for rs in ordered],
    )
    return context
