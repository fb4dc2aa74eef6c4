"""The response-time clock in a center's business hours: pure, no database.

Every instant is handled in UTC and each day's opening hours are placed in the center's zone
with zoneinfo, so a DST change (at night, outside the hours) neither adds nor loses an hour of
the clock, and a weekend or a closed day adds nothing.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

UTC = dt.UTC
MAX_DAYS = 400  # a clock never runs longer than this (a week of closed days is the worst case)


@dataclass(frozen=True)
class Hours:
    opens: dt.time = dt.time(9)
    closes: dt.time = dt.time(17)
    weekdays: str = "12345"  # ISO weekdays, Monday=1
    response_hours: int = 8

    @classmethod
    def of(cls, row):
        """The center's BusinessHours row as Hours (None: the defaults)."""
        if row is None:
            return cls()
        return cls(row.opens, row.closes, row.weekdays, row.response_hours)


def due_at(start, hours, zone_name):
    """The instant `hours.response_hours` business hours after `start` (aware), in UTC."""
    zone = zoneinfo.ZoneInfo(zone_name)
    remaining = dt.timedelta(hours=hours.response_hours)
    cursor = start.astimezone(UTC)
    day = start.astimezone(zone).date()
    for _ in range(MAX_DAYS):
        if str(day.isoweekday()) in hours.weekdays:
            opens = dt.datetime.combine(day, hours.opens, tzinfo=zone).astimezone(UTC)
            closes = dt.datetime.combine(day, hours.closes, tzinfo=zone).astimezone(UTC)
            begin = max(cursor, opens)
            if begin < closes:
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
        day += dt.timedelta(days=1)
    raise ValueError("no business hours within a year")
