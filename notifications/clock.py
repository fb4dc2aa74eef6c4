"""The one place a send instant is computed: a recipient's local wall time -> a UTC instant.

DST rules (zoneinfo, PEP 495):
- a wall time inside a spring-forward gap does not exist: we send at the next valid instant,
  the end of the gap (02:30 New York on the March change -> 03:00 EDT);
- a wall time inside a fall-back fold happens twice: we send once, at the first occurrence
  (fold=0, the earlier UTC instant). The idempotency key holds the local date, never the hour,
  so the second occurrence cannot create a second row.
"""

import datetime as dt
import functools
from zoneinfo import ZoneInfo

UTC = dt.UTC


# Pure and called once per planned row with few distinct arguments (a sweep's children share
# zones, hours and due dates): memoised, so a 100,000-child sweep resolves each instant once.
@functools.lru_cache(maxsize=16384)
def send_at(zone_name, day=None, at=None, *, earliest=None, quiet=None):
    """The UTC instant to send.

    `day` + `at`: a local date and wall time in `zone_name` (None: send from `earliest`).
    `earliest`: an aware instant the send may not precede (now, the end of a snooze).
    `quiet`: (start, end) local times; an instant inside waits for their end (may span midnight).
    """
    zone = ZoneInfo(zone_name)
    instant = _resolve(dt.datetime.combine(day, at), zone) if day is not None else None
    if earliest is not None and (instant is None or instant < earliest):
        instant = earliest.astimezone(UTC)
    if quiet:
        instant = _after_quiet(instant, zone, quiet)
    return instant


@functools.lru_cache(maxsize=4096)
def local_today(zone_name, now):
    """The recipient's calendar date at `now`."""
    return now.astimezone(ZoneInfo(zone_name)).date()


def _resolve(wall, zone):
    """A naive local wall time -> UTC; gap -> end of the gap; fold -> first occurrence."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap fold=1 reads the wall time with the later offset (an instant before the change)
    # and fold=0 with the earlier offset (an instant after it): the change lies in between.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return _first_instant_at_or_after(wall, zone, low, first)


def _first_instant_at_or_after(wall, zone, low, high):
    """Binary search, to the minute, for the first instant whose local time is >= wall."""
    lo, hi = 0, int((high - low).total_seconds() // 60)
    while lo < hi:
        mid = (lo + hi) // 2
        if (low + dt.timedelta(minutes=mid)).astimezone(zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid + 1
    return low + dt.timedelta(minutes=lo)


def _after_quiet(instant, zone, quiet):
    start, end = quiet
    wall = instant.astimezone(zone)
    clock = wall.time().replace(tzinfo=None)
    if start == end:
        return instant
    if start < end:
        inside, end_day = start <= clock < end, wall.date()
    else:  # spans midnight, e.g. 21:00-07:00
        inside = clock >= start or clock < end
        end_day = wall.date() + dt.timedelta(days=1 if clock >= start else 0)
    if not inside:
        return instant
    return _resolve(dt.datetime.combine(end_day, end), zone)
