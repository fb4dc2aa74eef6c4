"""No lab a plan uses is unflaggable (DOMAIN.md section 8, "Reference ranges must exist").

Walks every therapy of the real catalogue x every lab test of its schedule x the youngest age it
treats (at the infusion and on day 7) and the oldest (at the end of its plan) x each sex (and
"not recorded"), and checks that `pick_range` finds a band with a limit, so a flag can fire.
The therapies are read from the database after loading the JSON, so new ones are walked too.
"""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from journey.ages import add_calendar_months
from journey.catalogue import load_catalogue
from journey.models import CriterionKind, Therapy
from tracker import schedule
from tracker.flags import age_in_months, pick_range
from tracker.models import LabTest
from tracker.services.plans import schedule_items

pytestmark = pytest.mark.django_db

D0 = date(2026, 1, 5)  # the 5th exists in every month: calendar-month arithmetic is exact
OPEN_ENDED_ADULT_YEARS = 80
SEXES = ("male", "female", "")
# 11 therapies, 51 (therapy, lab) pairs x 3 ages = 153 triples when this test was written:
# fewer means the walk itself lost therapies or labs.
MIN_TRIPLES = 150
EVERY_MONTH = range(0, 100 * 12)


def _months(params):
    return params.get("years", 0) * 12 + params.get("months", 0)


def _criterion(therapy, kind):
    return next((c for c in therapy.criteria.all() if c.kind == kind), None)


def _horizon(therapy):
    """The last due day of the plan (LTFU visits and lifelong items included)."""
    due = [occ.due_on for item in schedule_items(therapy) for occ in schedule.expand(item, D0)]
    last = max(due, default=D0)
    if any(item.get("lifelong") for item in therapy.monitoring_schedule or []):
        last = max(last, add_calendar_months(D0, 12 * therapy.ltfu_years))
    return last


def _ages(therapy):
    """(label, age in months) for the youngest at day 0 and day 7 and the oldest at the end."""
    youngest = _criterion(therapy, CriterionKind.AGE_MIN)
    born_young = add_calendar_months(D0, -_months(youngest.params) if youngest else 0)
    oldest = _criterion(therapy, CriterionKind.AGE_UNDER)
    if oldest:  # one day short of the age limit on the infusion day
        born_old = add_calendar_months(D0 + timedelta(days=1), -_months(oldest.params))
    else:
        born_old = add_calendar_months(D0, -12 * OPEN_ENDED_ADULT_YEARS)
    end = _horizon(therapy)
    return [
        ("youngest at infusion", age_in_months(born_young, D0)),
        ("youngest on day 7", age_in_months(born_young, D0 + timedelta(days=7))),
        (f"oldest on {end}", age_in_months(born_old, end)),
    ]


def _lab_codes(therapy):
    return sorted({code for item in therapy.monitoring_schedule or [] for code in item["tests"]})


def walk():
    """(triples checked, missing (therapy, lab, age, sex) rows, unknown lab codes)."""
    load_catalogue(update=True)
    call_command("load_labs", verbosity=0, stdout=StringIO())
    tests = {t.code: t for t in LabTest.objects.prefetch_related("ranges")}
    triples, missing, unknown = 0, [], []
    for therapy in Therapy.objects.prefetch_related("criteria").order_by("slug"):
        for item in therapy.monitoring_schedule or []:
            unknown += [(therapy.slug, item["code"], c) for c in item["tests"] if c not in tests]
        for code in _lab_codes(therapy):
            for label, months in _ages(therapy) if code in tests else []:
                triples += 1
                for sex in SEXES:
                    band = pick_range(tests[code].ranges.all(), months, sex)
                    if band is None or (band.low is None and band.high is None):
                        missing.append((therapy.slug, code, f"{label} ({months} months)", sex))
    return triples, missing, unknown


def test_every_schedule_lab_is_in_the_lab_catalogue():
    _triples, _missing, unknown = walk()
    assert unknown == [], "schedule items name tests the lab catalogue lacks: " + "; ".join(
        f"{slug} item {item}: {code}" for slug, item, code in unknown
    )


def test_every_therapy_lab_and_age_has_a_flaggable_range():
    triples, missing, _unknown = walk()
    uncovered = len({row[:3] for row in missing})
    print(f"range coverage: {triples} (therapy, lab, age) triples checked, {uncovered} uncovered")
    assert triples >= MIN_TRIPLES
    assert missing == [], f"{len(missing)} without a range:\n" + "\n".join(
        f"{slug} {code} {age} sex={sex or 'not recorded'}" for slug, code, age, sex in missing
    )


def test_every_lab_test_has_a_range_at_every_age_and_sex():
    """Beyond today's plans: a therapy added later finds every test covered from birth to 100."""
    call_command("load_labs", verbosity=0, stdout=StringIO())
    gaps = [
        (test.code, months, sex or "not recorded")
        for test in LabTest.objects.prefetch_related("ranges")
        for sex in SEXES
        for months in EVERY_MONTH
        if pick_range(test.ranges.all(), months, sex) is None
    ]
    assert gaps == [], f"{len(gaps)} gaps, first: {gaps[:10]}"
