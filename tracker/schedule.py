"""Pure schedule arithmetic: from a label item and day 0 to dated occurrences.

Conventions (DOMAIN.md section 3): day 0 is the infusion day; month segments count calendar
months (journey.ages.add_calendar_months); baseline items are due on day -1 with the window
[day 0 - center.baseline_window_days, day -1]; LTFU visits fall on the anniversaries of day 0
(29 February -> 28 February), +/- 60 days.

It also holds the one rule for a dated row's status (lab_status below): the model, its
querysets, the portal and the exports all ask it.
"""

import operator
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Case, CharField, Q, TextChoices, Value, When
from django.utils.translation import gettext_lazy as _

from journey.ages import add_calendar_months

LTFU_CODE = "ltfu-visit"
LTFU_WINDOW_DAYS = 60
DEFAULT_EXTENSION_DAYS = 7


@dataclass(frozen=True)
class Occurrence:
    sequence: int
    due_on: date
    window_start: date
    window_end: date
    day_offset: int | None = None
    month_offset: int | None = None


def date_for(day0: date, day_offset: int | None, month_offset: int | None) -> date:
    if month_offset is not None:
        return add_calendar_months(day0, month_offset)
    return day0 + timedelta(days=day_offset)


def _segment_offsets(segment):
    """(day_offset, month_offset) pairs of one segment."""
    if "days" in segment:
        return [(d, None) for d in segment["days"]]
    if "every_days" in segment:
        days = range(segment["first_day"], segment["last_day"] + 1, segment["every_days"])
        return [(d, None) for d in days]
    months = range(segment["first_month"], segment["last_month"] + 1, segment["every_months"])
    return [(None, m) for m in months]


def _dated(day0, day_offset, month_offset, window_days):
    due = date_for(day0, day_offset, month_offset)
    spread = timedelta(days=window_days)
    return due, due - spread, due + spread


def expand(item: dict, day0: date, baseline_window_days: int = 30) -> list[Occurrence]:
    """Every dated occurrence of one schedule item, numbered 1.. in date order."""
    if item.get("baseline"):
        due = day0 - timedelta(days=1)
        start = day0 - timedelta(days=max(baseline_window_days, 1))
        return [Occurrence(1, due, start, due, day_offset=-1)]
    rows = []
    for segment in item["segments"]:
        for day_offset, month_offset in _segment_offsets(segment):
            due, start, end = _dated(day0, day_offset, month_offset, segment["window_days"])
            rows.append((due, start, end, day_offset, month_offset))
    rows.sort(key=lambda r: r[0])
    return [Occurrence(i, *row) for i, row in enumerate(rows, start=1)]


def ltfu_item(years: int, title: str) -> dict:
    """The long-term follow-up visits as a schedule item (yearly, +/- 60 days)."""
    segment = {
        "every_months": 12,
        "first_month": 12,
        "last_month": 12 * years,
        "window_days": LTFU_WINDOW_DAYS,
    }
    return {"code": LTFU_CODE, "kind": "visit", "title": title, "tests": [], "segments": [segment]}


def extension_step(item: dict) -> tuple[int | None, int | None, int]:
    """(days, months, window) of the item's last frequency, for one more draw."""
    segment = item["segments"][-1] if item.get("segments") else {"days": []}
    window = segment.get("window_days", 2)
    if "every_months" in segment:
        return None, segment["every_months"], window
    if "every_days" in segment:
        return segment["every_days"], None, window
    days = segment["days"]
    step = days[-1] - days[-2] if len(days) > 1 else DEFAULT_EXTENSION_DAYS
    return step, None, window


# -- the status of a scheduled lab, visit or checkpoint ----------------------------------------


class Status(TextChoices):
    UPCOMING = "upcoming", _("Upcoming")
    DUE = "due", _("Due now")
    OVERDUE = "overdue", _("Overdue")
    DONE = "done", _("Done")
    MISSED = "missed", _("Missed")
    CANCELLED = "cancelled", _("Cancelled")


# The rule, first match wins. A row is closed by the first of these timestamps that is set...
CLOSED_BY = (
    (Status.CANCELLED, "cancelled_at"),
    (Status.MISSED, "missed_at"),
    (Status.DONE, "done_at"),
)
# ...else, open, it is judged by its window against today: `field op today` (else OVERDUE).
BY_WINDOW = (
    (Status.UPCOMING, "window_start", operator.gt),
    (Status.DUE, "window_end", operator.ge),
)
AFTER_WINDOW = Status.OVERDUE
OPEN_STATUSES = (Status.UPCOMING, Status.DUE, Status.OVERDUE)
_LOOKUP = {operator.gt: "gt", operator.ge: "gte"}
_NEGATED = {operator.gt: "lte", operator.ge: "lt"}


def closed_status(row):
    """DONE, MISSED or CANCELLED when the row is closed, else None."""
    return next((status for status, field in CLOSED_BY if getattr(row, field)), None)


def lab_status(row, today: date) -> Status:
    """The status of one row (any object with the timestamps and window dates) on `today`."""
    closed = closed_status(row)
    if closed:
        return closed
    for status, field, op in BY_WINDOW:
        if op(getattr(row, field), today):
            return status
    return AFTER_WINDOW


def open_q() -> Q:
    """SQL: rows no timestamp has closed."""
    return Q(**{f"{field}__isnull": True for _status, field in CLOSED_BY})


def _steps(today):
    """(status, SQL condition that gives it, SQL condition that passes it on), in rule order."""
    steps = [(s, {f"{f}__isnull": False}, {f"{f}__isnull": True}) for s, f in CLOSED_BY]
    return steps + [
        (s, {f"{f}__{_LOOKUP[op]}": today}, {f"{f}__{_NEGATED[op]}": today})
        for s, f, op in BY_WINDOW
    ]


def status_q(status: Status, today: date) -> Q:
    """SQL: the rows lab_status() would give `status` on `today`."""
    passed_on = {}
    for step_status, gives, passes in _steps(today):
        if step_status == status:
            return Q(**passed_on, **gives)
        passed_on.update(passes)
    return Q(**passed_on)  # AFTER_WINDOW: no step gave a status


def status_case(today: date) -> Case:
    """SQL: each row's status as lab_status() gives it (for annotate)."""
    whens = [When(Q(**gives), then=Value(status)) for status, gives, _p in _steps(today)]
    return Case(*whens, default=Value(AFTER_WINDOW), output_field=CharField())
