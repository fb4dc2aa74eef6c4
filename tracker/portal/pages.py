"""The plan page's contents and the pieces it shares with the labs page (tracker.portal.labs),
built from a fixed number of queries.

Each builder takes the child and journey already fetched (through journey.access) and returns
a template context of plain objects: the templates only print.
"""

from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _

from journey.portal import words
from tracker import flags
from tracker.draws import group_draws
from tracker.models import ItemKind, Status
from tracker.schedule import OPEN_STATUSES
from tracker.sites import draw_place

from . import queries
from . import wording as w
from .labs_markup import call_now_html, date_group, plan_lines_html

STATUS_WEIGHT = {Status.OVERDUE: 0, Status.DUE: 1, Status.UPCOMING: 2}


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
        "main_phone_href": words.tel_href(center.main_phone),
        "after_hours_phone": center.after_hours_phone,
        "after_hours_phone_href": words.tel_href(center.after_hours_phone),
    }


def _common(patient, journey):
    therapy = journey.therapy if journey else None
    return {
        "child": patient,
        "journey": journey,
        "therapy": therapy,
        **_contacts(journey, patient),
        "urgent_symptoms": words.urgent_lines(therapy),
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
    html: str = ""  # the line as the plan page lists it (labs_markup.plan_lines_html)


@dataclass
class DateGroup:
    """Everything due on one day: the headings and the most urgent status among them."""

    due_on: date
    window_start: date
    window_end: date
    status: str
    headings: list = field(default_factory=list)
    when: str = ""  # "Tuesday, Feb. 3, 2026"
    window: str = ""  # when it may be done, in words ("" for a single day)
    next_text: str = ""  # "next: Monday, Feb. 3, 2026" on the labs page's folded list
    where: str = ""  # the place (tracker.sites), on the plan page's next draw
    rows: list = field(default_factory=list, repr=False)  # the draw's scheduled rows

    @property
    def status_text(self):
        return w.status_text(self.status)

    def set_words(self, days, today=None):
        """Format the day and the window once, in Python, for the template to print."""
        self.when = days.full(self.due_on)
        if self.status == Status.DUE and today and self.due_on < today:
            # Late but inside its window: say so, and by when (issue 13 item 7).
            self.window = _(
                "This was due on %(due)s. There is still time: please have it done by %(end)s."
            ) % {"due": days.long(self.due_on), "end": days.long(self.window_end)}
        elif self.status == Status.OVERDUE:
            self.window = _("It was due by %(end)s.") % {"end": days.long(self.window_end)}
        elif self.window_start != self.window_end:
            self.window = _("Any day from %(start)s to %(end)s is fine.") % {
                "start": days.long(self.window_start),
                "end": days.long(self.window_end),
            }


def _plan_line(item, tests):
    rows = item.dates
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


def _status(row):
    return row.status if isinstance(row.status, str) else row.status()


def _group_by_day(rows, tests):
    """One DateGroup per draw (tracker.draws: journey and due day), its tests named once.

    Its day and window in words are left to `worded`, for the groups a page shows (a plan
    has dozens of open draws; the plan page shows one)."""
    groups, headings = [], {}  # an item's heading, worded once for all its draws
    for draw in group_draws(rows):
        statuses = [_status(row) for row in draw.rows]
        status = min(statuses, key=STATUS_WEIGHT.__getitem__)
        group = DateGroup(draw.due_on, draw.window_start, draw.window_end, status)
        group.rows = draw.rows
        for row in draw.rows:
            if row.item_id not in headings:
                headings[row.item_id] = _heading(row.item, tests)
        group.headings = list(dict.fromkeys(headings[row.item_id] for row in draw.rows))
        groups.append(group)
    return groups


def worded(groups, days, today):
    """The groups, each with its day and window in words (set once, in Python)."""
    for group in groups:
        group.set_words(days, today)
    return groups


def _open_family_rows(items, today):
    """Open draws and visits the family goes to (not inpatient), with status set."""
    rows = []
    for item in items:
        if item.kind not in queries.FAMILY_KINDS or item.inpatient:
            continue
        for row in item.dates:  # each row's item is set (queries.plan_items)
            row.status = row.status(today) if callable(row.status) else row.status
            if row.status in OPEN_STATUSES:
                rows.append(row)
    return sorted(rows, key=lambda r: (r.due_on, r.item.position))


def missed_words(groups):
    """Draws whose window closed undone: the care team's to resolve, in one calm line (the
    plan and labs pages; the next draw is never hidden behind them)."""
    days = ", ".join(g.when for g in groups)
    return _("Not done in time: %(days)s. Your care team will contact you.") % {"days": days}


def _family_words(context, journey, today):
    """What the plan says around the dates, in family words only (issue 13 item 10): the
    stages still to come before the infusion, the warning signs once it is near, and the
    catalogue's steroid and family notes without any staff or catalogue note."""
    therapy = context["therapy"]
    if not words.signs_due(journey, today):
        context["urgent_symptoms"] = []
    context["before"] = words.before_infusion(journey)
    context["steroid_text"] = words.family_text(therapy.steroid_regimen) if therapy else ""
    context["family_notes"] = words.family_text(therapy.family_notes) if therapy else ""


def _next_group(groups, plan, journey):
    """The next draw, with where it happens (its rows came with their lab; the plan with its
    usual lab)."""
    group = next((g for g in groups if g.status != Status.OVERDUE), None)
    if group is not None:
        group.where = draw_place(group, plan.default_lab, journey.center).text
    return group


def _missed(groups, days, today):
    """The words for the draws whose window closed undone ("" when none)."""
    missed = [g for g in groups if g.status == Status.OVERDUE]
    return missed_words(worded(missed, days, today)) if missed else ""


def plan_context(patient, journey, today):
    context = _common(patient, journey)
    _family_words(context, journey, today)
    context["call_now_html"] = call_now_html(context)
    plan = queries.plan_of(journey)
    context.update(plan=plan, lines=[], missed="", next_group=None)
    if plan is None:
        return context
    items = queries.plan_items(plan)
    tests = queries.lab_tests()
    lines = plan_lines_html([_plan_line(item, tests) for item in items])
    groups = _group_by_day(_open_family_rows(items, today), tests)
    days = w.DayWords()
    next_group = _next_group(groups, plan, journey)
    worded([next_group] if next_group else [], days, today)
    context.update(
        lines=lines,
        lab_lines=[x for x in lines if x.kind == ItemKind.LAB],
        visit_lines=[x for x in lines if x.kind == ItemKind.VISIT],
        check_lines=[x for x in lines if x.kind == ItemKind.CHECKPOINT],
        missed=_missed(groups, days, today),
        next_group=next_group,
        next_group_html=date_group(next_group) if next_group else "",
        last_date=max((r.due_on for i in items for r in i.dates), default=None),
    )
    return context
