"""Exact ages in calendar terms. One place computes age; eligibility and pages call it.

A child born on 29 February turns a year older on 1 March in non-leap years (DOMAIN.md).
"""

import calendar
from datetime import date, timedelta


def _add_months(day: date, months: int, *, leap_rolls_forward: bool) -> date:
    """`day` plus whole months. A missing day (31 Apr, 29 Feb) rolls forward to the 1st of the
    next month for birthdays, or back to the month's last day for schedules."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    if day.day <= last:
        return date(year, month, day.day)
    if leap_rolls_forward:
        return date(year, month, last) + timedelta(days=1)
    return date(year, month, last)


def birthday(born: date, years: int = 0, months: int = 0) -> date:
    """The day a person born on `born` reaches `years` years and `months` months."""
    return _add_months(born, years * 12 + months, leap_rolls_forward=True)


def add_calendar_months(day: date, months: int) -> date:
    """Schedule arithmetic: the same day of the month, or the month's last day."""
    return _add_months(day, months, leap_rolls_forward=False)


def age_in_years(born: date, on: date) -> int:
    """Completed years on `on`."""
    years = on.year - born.year
    return years if on >= birthday(born, years) else years - 1


def age_in_days(born: date, on: date) -> int:
    return (on - born).days


def last_day_under(born: date, years: int = 0, months: int = 0) -> date:
    """The last day someone is still under the given age: the day before that birthday."""
    return birthday(born, years, months) - timedelta(days=1)
