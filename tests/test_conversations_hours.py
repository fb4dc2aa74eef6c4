"""The response-time clock counts only a center's business hours, in the center's zone.

GIVEN a center in New York open 9-17, Monday to Friday, answering within 8 business hours
WHEN  a family writes on a Friday afternoon, a Saturday, across the March DST change
THEN  the clock stops at night and on the weekend, and DST neither adds nor loses an hour.
"""

import datetime as dt
import zoneinfo

import pytest

from conversations.hours import Hours, due_at

NY = zoneinfo.ZoneInfo("America/New_York")


def local(*args):
    return dt.datetime(*args, tzinfo=NY)


def test_friday_afternoon_runs_into_monday():
    # 2 hours on Friday (15-17), 6 on Monday (9-15).
    assert due_at(local(2026, 3, 6, 15, 0), Hours(), "America/New_York") == local(
        2026, 3, 9, 15, 0
    ).astimezone(dt.UTC)


def test_a_weekend_message_starts_on_monday_morning():
    assert due_at(local(2026, 3, 7, 11, 0), Hours(), "America/New_York") == local(
        2026, 3, 9, 17, 0
    ).astimezone(dt.UTC)


def test_the_dst_weekend_neither_adds_nor_loses_an_hour():
    # Clocks go forward on Sunday 8 March 2026: Friday 16:00 EST + 8 business hours is
    # Monday 16:00 EDT (one hour on Friday, seven on Monday): 71 hours of real time, where
    # the wall clock shows 72.
    start = local(2026, 3, 6, 16, 0)
    due = due_at(start, Hours(), "America/New_York")
    assert due == local(2026, 3, 9, 16, 0).astimezone(dt.UTC)
    assert due - start.astimezone(dt.UTC) == dt.timedelta(hours=71)


def test_before_opening_the_clock_starts_at_opening():
    due = due_at(local(2026, 3, 10, 6, 30), Hours(response_hours=2), "America/New_York")
    assert due == local(2026, 3, 10, 11, 0).astimezone(dt.UTC)


def test_a_center_open_on_saturday_counts_it():
    hours = Hours(weekdays="123456", response_hours=8)
    assert due_at(local(2026, 3, 7, 9, 0), hours, "America/New_York") == local(
        2026, 3, 7, 17, 0
    ).astimezone(dt.UTC)


def test_a_center_with_no_working_day_is_refused():
    with pytest.raises(ValueError):
        due_at(local(2026, 3, 7, 9, 0), Hours(weekdays=""), "America/New_York")
