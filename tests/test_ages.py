from datetime import date

import pytest

from journey.ages import add_calendar_months, age_in_years, birthday, last_day_under


@pytest.mark.parametrize(
    ("born", "years", "expected"),
    [
        (date(2024, 2, 29), 1, date(2025, 3, 1)),  # leapling: 1 March in a common year
        (date(2024, 2, 29), 4, date(2028, 2, 29)),
        (date(2023, 5, 10), 2, date(2025, 5, 10)),
    ],
)
def test_birthday(born, years, expected):
    assert birthday(born, years) == expected


def test_age_in_years_turns_on_the_birthday_not_before():
    born = date(2024, 2, 29)
    assert age_in_years(born, date(2025, 2, 28)) == 0
    assert age_in_years(born, date(2025, 3, 1)) == 1


def test_last_day_under_two_is_the_day_before_the_second_birthday():
    assert last_day_under(date(2024, 2, 29), years=2) == date(2026, 2, 28)
    assert last_day_under(date(2023, 6, 15), years=2) == date(2025, 6, 14)


def test_calendar_months_clamp_to_month_end():
    assert add_calendar_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_calendar_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
