"""Ages and age-limit deadlines as the coordinator pages write them, in the center's calendar."""

import zoneinfo

from django.utils import dateformat, formats, timezone
from django.utils.dates import MONTHS, MONTHS_3, MONTHS_ALT, MONTHS_AP
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from journey.ages import age_in_years, birthday
from journey.eligibility import age_limit


def center_today(center):
    """Today's date where the center is: deadlines are counted in its calendar days."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(center.time_zone))


def age_label(born, today):
    """ "3 years", or months below two years, when doses and limits are counted in months."""
    years = age_in_years(born, today)
    if years >= 2:
        return ngettext("%(n)d year", "%(n)d years", years) % {"n": years}
    months = (today.year - born.year) * 12 + today.month - born.month
    if birthday(born, months=months) > today:
        months -= 1
    return ngettext("%(n)d month", "%(n)d months", months) % {"n": months}


def age_limit_label(patient, therapy, today):
    """'age limit in 41 days (last eligible day 2025-08-01)', or '' without a limit."""
    limit = age_limit(patient, therapy, today) if therapy else None
    if limit is None:
        return ""
    last_day, days_left = limit
    values = {"n": days_left, "day": last_day.isoformat()}
    if days_left < 0:
        return _("age limit passed (last eligible day %(day)s)") % values
    if days_left == 0:
        return _("last eligible day is today (%(day)s)") % values
    return (
        ngettext(
            "age limit in %(n)d day (last eligible day %(day)s)",
            "age limit in %(n)d days (last eligible day %(day)s)",
            days_left,
        )
        % values
    )


_MONTHS = {"b": MONTHS_3, "E": MONTHS_ALT, "F": MONTHS, "N": MONTHS_AP}
_NUMBERS = {
    "d": lambda day: f"{day.day:02d}",
    "j": lambda day: str(day.day),
    "m": lambda day: f"{day.month:02d}",
    "n": lambda day: str(day.month),
    "y": lambda day: f"{day.year % 100:02d}",
    "Y": lambda day: f"{day.year:04d}",
}


class DateLabels:
    """formats.localize(date) for a page of dates, several times faster: the format is read
    and its month names translated once (Django's dateformat translates them on every date).
    A format with other letters than day, month and year is left to dateformat."""

    def __init__(self):
        self.fmt, self.parts, self.fast = str(formats.get_format("DATE_FORMAT")), [], True
        for i, piece in enumerate(dateformat.re_formatchars.split(self.fmt)):
            if i % 2 == 0:
                self.parts.append(dateformat.re_escaped.sub(r"\1", piece))
            elif piece in _MONTHS or piece == "M":
                names = _MONTHS.get(piece, MONTHS_3)
                titled = piece == "M"
                self.parts.append(
                    {m: str(n).title() if titled else str(n) for m, n in names.items()}
                )
            else:
                self.fast = self.fast and piece in _NUMBERS
                self.parts.append(_NUMBERS.get(piece))

    def __call__(self, day):
        if not self.fast:
            return dateformat.format(day, self.fmt)
        return "".join(_part(part, day) for part in self.parts)


def _part(part, day):
    if isinstance(part, str):
        return part
    return part[day.month] if isinstance(part, dict) else part(day)
