"""What the emergency card needs from the tracker: the steroid course and the latest results.

journey's card view sends `portal_card_loaded` once; `attach_card_facts` fills
`journey.portal_extras["card"]` in two queries (the steroid checkpoint, the latest result of
each test), whatever the length of the child's history. The steroid course is also drawn on
the labs page's charts (`steroid_period`).
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from journey.portal.words import family_text
from journey.prepared import Prepared
from tracker.models import Flag, ItemKind, LabResult, ScheduledLab

from . import wording as w

_STEROID_START = re.compile(r"\b(?:(\d+) days|the day) before\b", re.I)
_STEROID_DAYS = re.compile(r"\bfor (?:at least )?(\d+) days\b", re.I)
_TAPER_DAYS = re.compile(r"\btaper over (\d+) days\b|\b(\d+)-day taper\b", re.I)
# A course of daily steroid can leave the body short of its own stress hormone for weeks
# after it ends: the card keeps the warning for this long after the planned end.
STRESS_DOSE_AFTER = timedelta(days=90)


def steroid_period(journey, checkpoint_dates):
    """(first day, last day or None) of the steroid course, or None when it is not known.

    The catalogue keeps the regimen as text only ("from the day before the infusion, for 30
    days"), so the start ("the day before", "3 days before") and length ("for 30 days") are
    read from it; the plan's steroid checkpoint (the taper decision), when there is one, ends
    the period. Without a readable start nothing is drawn rather than a guess.
    """
    therapy = journey.therapy
    regimen = therapy.steroid_regimen if therapy else ""
    found = _STEROID_START.search(regimen or "")
    if not (found and journey.infusion_date):
        return None
    start = journey.infusion_date - timedelta(days=int(found.group(1) or 1))
    if checkpoint_dates:
        return (start, min(checkpoint_dates))
    length = _STEROID_DAYS.search(regimen)
    return (start, start + timedelta(days=int(length.group(1)) - 1) if length else None)


def _first_sentence(text):
    return re.split(r"(?<=\.)\s", (text or "").strip(), maxsplit=1)[0]


@dataclass
class CardFacts:
    steroid: str = ""  # "Prednisolone 1 mg/kg/day ... (since Jan. 4, 2026)"
    steroid_risk: str = ""  # what it means for emergency staff
    results: list = field(default_factory=list)  # one line per test, latest first


def _steroid_lines(journey, checkpoints, today, days):
    period = steroid_period(journey, checkpoints)
    if period is None:
        return "", ""
    start, end = period
    regimen = journey.therapy.steroid_regimen
    taper = _TAPER_DAYS.search(regimen)
    if end is not None and taper:
        end += timedelta(days=int(taper.group(1) or taper.group(2)))
    if today < start or (end is not None and today > end + STRESS_DOSE_AFTER):
        return "", ""
    if end is None or today <= end:
        when = _("since %(date)s") % {"date": days.long(start)}
    else:
        when = _("stopped around %(date)s") % {"date": days.long(end)}
    risk = _(
        "Daily steroid can stop the body making enough of its own stress hormone (adrenal "
        "suppression). If seriously ill, injured or having surgery, consider a stress dose of "
        "steroid. Do not stop it suddenly."
    )
    return f"{_first_sentence(family_text(regimen)).rstrip('.')} ({when})", risk


def _build_latest(journey_id):
    # A preliminary result waits for its final one; a held one for the care team's review.
    # The newest of each test by a window over the journey's results: the same rows as a
    # "latest of this test" subquery per row, which PostgreSQL planned anew on each run.
    newest = Window(
        RowNumber(),
        partition_by=[F("test_id")],
        order_by=[F("collected_at").desc(), F("pk").desc()],
    )
    return (
        LabResult.objects.counting()
        .released_to_family()
        .filter(journey_id=journey_id)
        .annotate(newest=newest)
        .filter(newest=1)
        .select_related("test")
        .only(
            *("value", "unit", "collected_at", "flag", "range_low", "range_high"),
            *("test__code", "test__family_name", "test__decimal_places", "test__position"),
        )
        .order_by("test__position", "test__code")
    )


# Compiled once (journey.prepared): the latest results, and the steroid checkpoint's dates.
LATEST_RESULTS = Prepared(_build_latest, journey_id=int)
STEROID_CHECKPOINTS = Prepared(
    lambda journey_id: (
        ScheduledLab.objects.filter(
            journey_id=journey_id,
            item__kind=ItemKind.CHECKPOINT,
            item__code__startswith="steroid",
        )
        .exclude(cancelled_at__isnull=False)
        .values_list("due_on", flat=True)
    ),
    journey_id=int,
)


def _latest_results(journey):
    """The latest current result of each test, those outside the range first (one query)."""
    rows = LATEST_RESULTS.run(journey_id=journey.pk)
    return sorted(rows, key=lambda r: r.flag in (Flag.NORMAL, None))


def _result_line(result, days, number):
    test = result.test
    places = test.decimal_places
    day = timezone.localtime(result.collected_at).date()
    return _("%(test)s %(value)s %(unit)s: %(flag)s (%(range)s), %(date)s") % {
        "test": w.short_test_name(test),
        "value": number(result.value, places),
        "unit": result.unit,
        "flag": w.flag_text(result.flag).words.lower(),
        "range": w.normal_range(result.range_low, result.range_high, places),
        "date": days.long(day),
    }


def attach_card_facts(sender, journey, today, **kwargs):
    """`portal_extras["card"]` for the emergency card: two queries."""
    days, number = w.DayWords(), w.NumberWords()
    facts = CardFacts()
    if journey.therapy and journey.therapy.steroid_regimen:
        checkpoints = STEROID_CHECKPOINTS.run(journey_id=journey.pk)
        facts.steroid, facts.steroid_risk = _steroid_lines(journey, checkpoints, today, days)
    facts.results = [_result_line(r, days, number) for r in _latest_results(journey)]
    journey.portal_extras["card"] = facts
