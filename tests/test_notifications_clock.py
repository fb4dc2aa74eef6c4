"""The one send-instant function: local hours, DST gaps and folds, quiet hours, zone changes."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from notifications.clock import send_at

UTC = dt.UTC
NINE = dt.time(9)


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        ("America/New_York", dt.date(2025, 3, 8), utc(2025, 3, 8, 14)),  # EST -5
        ("America/New_York", dt.date(2025, 3, 9), utc(2025, 3, 9, 13)),  # DST day, EDT -4
        ("America/New_York", dt.date(2025, 11, 2), utc(2025, 11, 2, 14)),  # back to EST
        ("Europe/London", dt.date(2025, 3, 29), utc(2025, 3, 29, 9)),  # GMT
        ("Europe/London", dt.date(2025, 3, 30), utc(2025, 3, 30, 8)),  # BST from today
        ("Europe/London", dt.date(2025, 10, 26), utc(2025, 10, 26, 9)),
        ("Asia/Kolkata", dt.date(2025, 3, 9), utc(2025, 3, 9, 3, 30)),  # +05:30, no DST
        ("Pacific/Auckland", dt.date(2025, 4, 5), utc(2025, 4, 4, 20)),  # NZDT +13
        ("Pacific/Auckland", dt.date(2025, 4, 6), utc(2025, 4, 5, 21)),  # NZST +12
    ],
)
def test_nine_local_is_nine_local_across_dst(zone, day, expected):
    """GIVEN 09:00 on a date WHEN converted THEN it is 09:00 on the wall clock of that zone."""
    got = send_at(zone, day, NINE)
    assert got == expected
    assert got.astimezone(ZoneInfo(zone)).time() == NINE


@pytest.mark.parametrize(
    ("zone", "day", "hour", "expected_local"),
    [
        ("America/New_York", dt.date(2025, 3, 9), dt.time(2, 30), dt.time(3, 0)),
        ("America/New_York", dt.date(2025, 3, 9), dt.time(2, 0), dt.time(3, 0)),
        ("Europe/London", dt.date(2025, 3, 30), dt.time(1, 15), dt.time(2, 0)),
        ("Pacific/Auckland", dt.date(2025, 9, 28), dt.time(2, 0), dt.time(3, 0)),
    ],
)
def test_gap_moves_to_the_next_valid_instant(zone, day, hour, expected_local):
    """GIVEN a wall time that does not exist THEN we send at the end of the gap."""
    got = send_at(zone, day, hour).astimezone(ZoneInfo(zone))
    assert (got.date(), got.time()) == (day, expected_local)


@pytest.mark.parametrize(
    ("zone", "day", "hour", "expected"),
    [
        ("America/New_York", dt.date(2025, 11, 2), dt.time(1, 30), utc(2025, 11, 2, 5, 30)),
        ("Europe/London", dt.date(2025, 10, 26), dt.time(1, 0), utc(2025, 10, 26, 0, 0)),
        ("Pacific/Auckland", dt.date(2025, 4, 6), dt.time(2, 30), utc(2025, 4, 5, 13, 30)),
    ],
)
def test_repeated_hour_is_the_first_occurrence(zone, day, hour, expected):
    """GIVEN a wall time that happens twice THEN the first (fold=0, earlier UTC) is used."""
    assert send_at(zone, day, hour) == expected


def test_quiet_hours_spanning_midnight_defer_to_their_end():
    quiet = (dt.time(21), dt.time(7, 30))
    got = send_at("Asia/Kolkata", dt.date(2025, 3, 9), dt.time(22), quiet=quiet)
    local = got.astimezone(ZoneInfo("Asia/Kolkata"))
    assert (local.date(), local.time()) == (dt.date(2025, 3, 10), dt.time(7, 30))
    early = send_at("Asia/Kolkata", dt.date(2025, 3, 9), dt.time(6), quiet=quiet)
    assert early.astimezone(ZoneInfo("Asia/Kolkata")).time() == dt.time(7, 30)


def test_quiet_hours_inside_one_day_and_outside():
    quiet = (dt.time(12), dt.time(14))
    inside = send_at("Europe/London", dt.date(2025, 6, 1), dt.time(13), quiet=quiet)
    assert inside == utc(2025, 6, 1, 13)  # 14:00 BST
    outside = send_at("Europe/London", dt.date(2025, 6, 1), NINE, quiet=quiet)
    assert outside == utc(2025, 6, 1, 8)


def test_earliest_pushes_a_past_instant_and_quiet_still_applies():
    now = utc(2025, 3, 10, 3)  # 23:00 the evening before in New York
    got = send_at(
        "America/New_York", dt.date(2025, 3, 9), NINE, earliest=now, quiet=(dt.time(22), NINE)
    )
    assert got.astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None) == dt.datetime(
        2025, 3, 10, 9
    )


def test_quiet_end_inside_a_gap_moves_to_the_gap_end():
    got = send_at(
        "America/New_York", dt.date(2025, 3, 9), dt.time(1), quiet=(dt.time(0), dt.time(2, 30))
    )
    assert got.astimezone(ZoneInfo("America/New_York")).time() == dt.time(3)


def test_now_is_always_a_datetime_never_a_callable():
    """One convention in notifications: a `now` parameter is required or defaults to None
    (= timezone.now()); nothing takes a clock function under that name."""
    import importlib
    import inspect

    names = ["clock", "dispatch", "emails", "planning", "services", "sweep", "tasks", "wire"]
    checked = 0
    for name in names:
        module = importlib.import_module(f"notifications.{name}")
        for function in vars(module).values():
            function = getattr(function, "__wrapped__", function)
            if not inspect.isfunction(function) or function.__module__ != module.__name__:
                continue
            parameter = inspect.signature(function).parameters.get("now")
            if parameter is not None:
                checked += 1
                assert parameter.default in (inspect.Parameter.empty, None), function
    assert checked > 20
