"""Pure schedule arithmetic: from a label item and day 0 to dated occurrences.

Conventions (DOMAIN.md section 3): day 0 is the infusion day; month segments count calendar
months (journey.ages.add_calendar_months); baseline items are due on day -1 with the window
[day 0 - center.baseline_window_days, day -1]; LTFU visits fall on the anniversaries of day 0
(29 February -> 28 February), +/- 60 days.
"""

from dataclasses import dataclass
from datetime import date, timedelta

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
