"""journey.dates: a day in words is what django's formats.date_format writes, in each
language, for every format the portal uses (and one it does not split falls back)."""

import datetime as dt

import pytest
from django.utils import formats, translation

from journey.dates import date_text

DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=n * 37) for n in range(40)]
FORMATS = ["DATE_FORMAT", "SHORT_DATE_FORMAT", "l", r"D, d M b E F y \d\e Y", r"jS \o\f F"]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("name", FORMATS)
def test_the_same_words_as_django(language, name):
    with translation.override(language):
        for day in DAYS:
            assert date_text(day, name) == formats.date_format(day, name)


@pytest.mark.parametrize("language", ["en", "es"])
def test_what_formats_localize_writes_over_two_years(language):
    """The admin patient list's birth dates: formats.localize(day), day after day."""
    with translation.override(language):
        days = [dt.date(1999, 12, 31) + dt.timedelta(days=n) for n in range(0, 800, 3)]
        assert [date_text(day) for day in days] == [formats.localize(day) for day in days]
