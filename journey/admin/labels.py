"""Ages and age-limit deadlines as the coordinator pages write them, in the center's calendar."""

import zoneinfo

from django.utils import timezone
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
