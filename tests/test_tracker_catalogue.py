"""Each therapy of the real catalogue (journey/catalogue/therapies.json): the plan generated
for an infusion on 2026-01-05 is exactly the label's dated schedule, and lab data loads."""

import datetime as dt

import pytest

from journey.models import Therapy
from tests import factories_tracker as ft
from tracker import services
from tracker.labs import load_labs
from tracker.models import LabTest, LabUnit, ReferenceRange, ScheduledLab

D0 = dt.date(2026, 1, 5)
pytestmark = pytest.mark.django_db


def days(numbers, width):
    return [(D0 + dt.timedelta(days=n), width) for n in numbers]


def months(numbers, width):
    """Day 5 exists in every month, so month arithmetic is plain here."""
    return [(dt.date(2026 + (m // 12), m % 12 + 1, 5), width) for m in numbers]


BASELINE = [(D0 - dt.timedelta(days=1), "baseline")]
AAV_LTFU = months([12, 24, 36, 48, 60], 60)
EX_VIVO_LTFU = months(range(12, 181, 12), 60)
WEEKLY_M1 = days([7, 14, 21, 28], 2)
EXPECTED = {
    "zolgensma": {
        "baseline-labs": BASELINE,
        "liver-panel": WEEKLY_M1 + days([42, 56, 70, 84], 3),
        "platelets": WEEKLY_M1 + days([42, 56, 70, 84], 3),
        "troponin": WEEKLY_M1 + days([60, 90], 7),
        "steroid-taper-decision": days([30], 2),
        "ltfu-visit": AAV_LTFU,
    },
    "elevidys": {
        "baseline-labs": BASELINE,
        "liver": days(range(7, 85, 7), 2),
        "troponin": WEEKLY_M1,
        "platelets": days([7, 14], 2),
        "ltfu-visit": AAV_LTFU,
    },
    "beqvez": {
        "baseline-labs": BASELINE,
        "liver-and-factor-ix": days(range(7, 120, 7), 2),
        "ltfu-visit": AAV_LTFU,
    },
    "hemgenix": {
        "baseline-labs": BASELINE,
        "liver-and-factor-ix": days(range(7, 85, 7), 2),
        "ltfu-visit": AAV_LTFU,
    },
    "itvisma": {
        "baseline-labs": BASELINE,
        "liver-weekly": days(range(7, 57, 7), 2),
        "liver-every-other-week": days([70, 84], 3),
        "platelets": WEEKLY_M1 + days([42, 56, 70, 84], 3),
        "troponin": WEEKLY_M1 + days([60, 90], 7),
        "steroid-taper-decision": days([30], 2),
        "ltfu-visit": AAV_LTFU,
    },
    "casgevy": {
        "baseline-labs": BASELINE,
        "engraftment-counts": days(range(7, 43, 7), 2),
        "blood-counts-weekly": days(range(49, 99, 7), 2),
        "blood-counts-monthly": months([4, 5, 6], 7),
        "blood-counts-month-12": months([12], 30),
        "ltfu-visit": EX_VIVO_LTFU,
    },
    "lenmeldy": {
        "baseline-labs": BASELINE,
        "engraftment-counts": days(range(7, 43, 7), 2),
        "blood-counts-weekly": days(range(49, 99, 7), 2),
        "blood-counts-monthly": months([4, 5, 6], 7),
        "blood-counts-month-12": months([12], 30),
        "blood-cancer-watch": months(range(18, 181, 6), 30),
        "ltfu-visit": EX_VIVO_LTFU,
    },
    "lyfgenia": {
        "baseline-labs": BASELINE,
        "blood-counts": months(range(6, 181, 6), 30),
        "integration-site-analysis": months([6, 12], 30),
        "ltfu-visit": EX_VIVO_LTFU,
    },
    "skysona": {
        "baseline-labs": BASELINE,
        "blood-counts": months(range(3, 181, 3), 14),
        "clonal-expansion-year-1": months([6, 12], 30),
        "clonal-expansion-yearly": months(range(24, 181, 12), 60),
        "ltfu-visit": EX_VIVO_LTFU,
    },
    "zynteglo": {
        "baseline-labs": BASELINE,
        "engraftment-counts": days(range(7, 43, 7), 2),
        "blood-counts-weekly": days(range(49, 99, 7), 2),
        "blood-counts-monthly": months([4, 5, 6], 7),
        "blood-counts-month-12": months([12], 30),
        "blood-cancer-watch": months(range(24, 181, 12), 60),
        "integration-site-analysis": months([6, 12], 30),
        "ltfu-visit": EX_VIVO_LTFU,
    },
    "vyjuvek": {
        "wound-review": months([3, 6], 14),
        "ltfu-visit": AAV_LTFU,
    },
    "zevaskyn": {
        "wound-review": days([30], 7) + months([6], 30),
        "ltfu-visit": EX_VIVO_LTFU,
    },
    "luxturna": {
        "eye-check-day-1": days([1], 0),
        "eye-check-week-1": days([7], 2),
        "eye-check-month-1": days([30], 7),
        "ltfu-visit": AAV_LTFU,
    },
    "kebilidi": {
        "post-surgery-check": days([30], 7),
        "six-month-review": months([6], 30),
        "ltfu-visit": AAV_LTFU,
    },
}


def _as_expected(lab):
    if lab.item.baseline:
        assert (lab.window_start, lab.window_end) == (D0 - dt.timedelta(days=30), lab.due_on)
        return (lab.due_on, "baseline")
    width = (lab.due_on - lab.window_start).days
    assert (lab.window_end - lab.due_on).days == width
    return (lab.due_on, width)


def test_every_catalogue_therapy_has_an_expected_table():
    assert set(Therapy.objects.values_list("slug", flat=True)) == set(EXPECTED)


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_catalogue_plan_is_the_label_schedule(slug):
    j = ft.journey()
    j.therapy = Therapy.objects.get(slug=slug)
    j.infusion_date = D0
    j.save()
    services.generate_plan(j, reason="test")
    got = {}
    for lab in ScheduledLab.objects.filter(journey=j).select_related("item").order_by("due_on"):
        got.setdefault(lab.item.code, []).append(_as_expected(lab))
    assert got == EXPECTED[slug]
    assert services.generate_plan(j, reason="again") is None


def test_lab_catalogue_loaded_with_sources_and_idempotent():
    counts = (LabTest.objects.count(), LabUnit.objects.count(), ReferenceRange.objects.count())
    assert counts[0] == 13
    assert all(t.source and t.loinc for t in LabTest.objects.all())
    load_labs()
    again = (LabTest.objects.count(), LabUnit.objects.count(), ReferenceRange.objects.count())
    assert again == counts
    assert LabTest.objects.get(code="ALT").family_name == "liver test (ALT)"


def test_load_labs_keep_edits_does_not_overwrite_admin_changes():
    ReferenceRange.objects.filter(test__code="FIX").update(low=40)
    load_labs(update=False)
    assert ReferenceRange.objects.get(test__code="FIX").low == 40
    load_labs()
    assert ReferenceRange.objects.get(test__code="FIX").low == 50
