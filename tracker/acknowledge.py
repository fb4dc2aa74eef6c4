"""The acknowledgement clock of an abnormal result: by when the care team should have seen it.

Acknowledging is reviewing (tracker.services.results.review_result). A result outside the
range is due within the center's `ack_abnormal_hours` business hours (Monday to Friday, 9:00
to 17:00 on the center's wall clock); a critical one within `ack_critical_hours` on the clock,
any hour, as its alert goes out at once (DOMAIN: a critical result alerts at once, any hour).
Pure functions: the instant in, the deadline out (stored as LabResult.acknowledge_by).
"""

import zoneinfo
from datetime import datetime, time, timedelta

from .models_results import ABNORMAL_FLAGS, CRITICAL_FLAGS

DAY_STARTS, DAY_ENDS = time(9), time(17)
WORKDAYS = range(5)  # Monday to Friday


def add_business_hours(start: datetime, hours: int, zone_name: str) -> datetime:
    """`start` plus `hours` of working time on the zone's wall clock (an aware instant out).

    Time outside the working day does not count: a result entered on Friday at 16:00 with 8
    business hours is due on Monday at 16:00."""
    zone = zoneinfo.ZoneInfo(zone_name)
    local = start.astimezone(zone)
    left = timedelta(hours=hours)
    day = local.date()
    while True:
        if day.weekday() in WORKDAYS:
            opens = datetime.combine(day, DAY_STARTS, tzinfo=zone)
            closes = datetime.combine(day, DAY_ENDS, tzinfo=zone)
            begin = max(local, opens)
            if begin < closes:
                if begin + left <= closes:
                    return begin + left
                left -= closes - begin
        day += timedelta(days=1)


def acknowledge_by(flag, entered_at: datetime, center) -> datetime | None:
    """The deadline of a new result's acknowledgement, or None for a result in the range."""
    if flag in CRITICAL_FLAGS:
        return entered_at + timedelta(hours=center.ack_critical_hours)
    if flag in ABNORMAL_FLAGS:
        return add_business_hours(entered_at, center.ack_abnormal_hours, center.time_zone)
    return None
