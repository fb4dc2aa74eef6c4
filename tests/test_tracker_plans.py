"""Plan generation: label schedule -> dated rows; idempotence; moves; versions; exit rules."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from journey.models import Therapy
from tests import factories_tracker as ft
from tracker import services, signals
from tracker.models import PlanVersion, ScheduledLab, Status

D0 = dt.date(2026, 1, 5)
pytestmark = pytest.mark.django_db


def day(n):
    return D0 + dt.timedelta(days=n)


def rows(j, code):
    labs = ScheduledLab.objects.filter(journey=j, item__code=code, cancelled_at__isnull=True)
    return [(r.due_on, r.window_start, r.window_end) for r in labs.order_by("sequence")]


def windowed(days, width):
    return [(day(n), day(n - width), day(n + width)) for n in days]


ZOLGENSMA_EXPECTED = {
    "baseline-labs": [(day(-1), day(-30), day(-1))],
    "liver-panel": windowed([7, 14, 21, 28], 2) + windowed([42, 56, 70, 84], 3),
    "platelets": windowed([7, 14, 21, 28], 2) + windowed([42, 56, 70, 84], 3),
    "troponin": windowed([7, 14, 21, 28], 2) + windowed([60, 90], 7),
    "steroid-taper": windowed([30], 2),
    "ltfu-visit": [
        (
            dt.date(2026 + y, 1, 5),
            dt.date(2026 + y, 1, 5) - dt.timedelta(days=60),
            dt.date(2026 + y, 1, 5) + dt.timedelta(days=60),
        )
        for y in range(1, 6)
    ],
}


@pytest.mark.parametrize(("code", "expected"), ZOLGENSMA_EXPECTED.items())
def test_zolgensma_shaped_plan_is_the_label_schedule(code, expected):
    j = ft.planned_journey(D0)
    assert rows(j, code) == expected


def test_zolgensma_plan_has_nothing_else():
    j = ft.planned_journey(D0)
    codes = set(ScheduledLab.objects.filter(journey=j).values_list("item__code", flat=True))
    assert codes == set(ZOLGENSMA_EXPECTED)
    assert ScheduledLab.objects.filter(journey=j).count() == sum(
        map(len, ZOLGENSMA_EXPECTED.values())
    )


def test_beqvez_weekly_for_four_months():
    j = ft.planned_journey(D0, schedule=ft.BEQVEZ_SCHEDULE)
    assert rows(j, "liver-fix") == windowed(range(7, 120, 7), 2)


def test_every_six_months_uses_calendar_months_and_month_ends():
    item = {
        "code": "cbc",
        "kind": "lab",
        "title": "Blood count",
        "tests": ["HGB"],
        "lifelong": True,
        "segments": [{"every_months": 6, "first_month": 6, "last_month": 24, "window_days": 30}],
    }
    j = ft.planned_journey(dt.date(2026, 8, 31), schedule=[item], ltfu_years=0)
    dues = [r[0] for r in rows(j, "cbc")]
    assert dues == [
        dt.date(2027, 2, 28),
        dt.date(2027, 8, 31),
        dt.date(2028, 2, 29),
        dt.date(2028, 8, 31),
    ]


def test_ltfu_on_29_february_falls_on_28_february():
    j = ft.planned_journey(dt.date(2028, 2, 29), ltfu_years=2)
    assert [r[0] for r in rows(j, "ltfu-visit")] == [dt.date(2029, 2, 28), dt.date(2030, 2, 28)]


def test_baseline_window_follows_the_center():
    center = ft.f.CenterFactory(baseline_window_days=14)
    j = ft.planned_journey(D0, center=center)
    assert rows(j, "baseline-labs") == [(day(-1), day(-14), day(-1))]


def test_generating_twice_changes_nothing():
    j = ft.planned_journey(D0)
    before = list(ScheduledLab.objects.filter(journey=j).values().order_by("pk"))
    assert services.generate_plan(j, reason="again") is None
    assert list(ScheduledLab.objects.filter(journey=j).values().order_by("pk")) == before
    assert PlanVersion.objects.filter(plan__journey=j).count() == 1


def test_every_catalogue_therapy_generates_its_schedule_idempotently():
    """Each therapy loaded from journey/catalogue: one row per scheduled day, twice = same."""
    from tracker.schedule import expand

    for therapy in Therapy.objects.all():
        j = ft.journey()
        j.therapy = therapy
        j.infusion_date = D0
        j.save()
        services.generate_plan(j, reason="catalogue")
        expected = sum(len(expand(i, D0, 30)) for i in services.schedule_items(therapy))
        assert ScheduledLab.objects.filter(journey=j).count() == expected, therapy.name
        assert services.generate_plan(j, reason="again") is None, therapy.name


def test_setting_the_infusion_date_generates_the_plan(
    coordinator_a, center_a, django_capture_on_commit_callbacks
):
    j = ft.journey(center=center_a)
    with django_capture_on_commit_callbacks(execute=True):
        ft.set_day0(j, D0, coordinator_a, reason="date agreed with family")
    version = PlanVersion.objects.get(plan__journey=j)
    assert (version.number, version.created_by, version.reason) == (
        1,
        coordinator_a,
        "date agreed with family",
    )
    assert rows(j, "platelets")[0][0] == day(7)


def test_moving_day0_keeps_done_results_and_missed_and_moves_the_rest(
    coordinator_a, center_a, django_capture_on_commit_callbacks
):
    j = ft.journey(center=center_a)
    with django_capture_on_commit_callbacks(execute=True):
        ft.set_day0(j, D0, coordinator_a, reason="first date")
    collected = timezone.make_aware(dt.datetime(2026, 1, 12, 9, 0))
    services.record_results(
        j, collected, [("PLT", "210", "10^9/L")], by=coordinator_a, now=collected
    )
    done = ScheduledLab.objects.get(journey=j, item__code="platelets", sequence=1)
    missed = ScheduledLab.objects.get(journey=j, item__code="troponin", sequence=1)
    services.mark_missed(missed, by=coordinator_a, reason="family travelling")
    with django_capture_on_commit_callbacks(execute=True):
        ft.set_day0(j, D0 + dt.timedelta(days=10), coordinator_a, reason="insurance delay")

    done.refresh_from_db()
    missed.refresh_from_db()
    assert (done.due_on, done.status()) == (day(7), Status.DONE)
    assert done.results.get().value == Decimal("210")
    assert (missed.due_on, missed.status()) == (day(7), Status.MISSED)
    moved = ScheduledLab.objects.get(journey=j, item__code="platelets", sequence=2)
    assert moved.due_on == day(24)
    latest = PlanVersion.objects.filter(plan__journey=j).first()
    assert (latest.number, latest.created_by, latest.reason) == (
        2,
        coordinator_a,
        "insurance delay",
    )
    assert latest.infusion_date == day(10)
    assert moved.version == latest


def test_reschedule_one_lab_by_hand_keeps_it_on_regeneration(coordinator_a):
    j = ft.planned_journey(D0)
    lab = ScheduledLab.objects.get(journey=j, item__code="troponin", sequence=5)
    services.reschedule_lab(lab, day(62), by=coordinator_a, reason="clinic closed on day 60")
    lab.refresh_from_db()
    assert (lab.due_on, lab.window_start, lab.window_end) == (day(62), day(55), day(69))
    assert services.generate_plan(j, reason="again") is None
    j.infusion_date = day(1)
    j.save()
    services.generate_plan(j, reason="one day later")
    lab.refresh_from_db()
    assert lab.due_on == day(63)


def test_statuses_derive_from_dates_and_match_the_annotation():
    j = ft.planned_journey(D0)
    lab = ScheduledLab.objects.get(journey=j, item__code="platelets", sequence=1)  # day 7 +/- 2
    for today, status in [
        (day(4), "upcoming"),
        (day(5), "due"),
        (day(9), "due"),
        (day(10), "overdue"),
    ]:
        assert lab.status(today) == status
        assert ScheduledLab.objects.with_status(today).get(pk=lab.pk).status == status
    services.mark_missed(lab, by=None, reason="sick")
    assert ScheduledLab.objects.with_status(day(10)).get(pk=lab.pk).status == "missed"


def _draw(j, when, rows, by=None):
    collected = timezone.make_aware(dt.datetime.combine(when, dt.time(9)))
    return services.record_results(j, collected, rows, by=by, now=collected)


def _last_seq(j, code):
    return ScheduledLab.objects.filter(journey=j, item__code=code).order_by("-sequence").first()


def test_exit_rule_extends_while_abnormal_then_ends(
    coordinator_a, django_capture_on_commit_callbacks
):
    j = ft.planned_journey(D0)  # born 2025-06-01: under 1 year on day 84, ALT ULN 51
    liver = ["ALT", "AST", "TBIL", "INR"]
    normal = {"ALT": "20", "AST": "30", "TBIL": "0.5", "INR": "1.0"}
    high = dict(normal, ALT="120")  # >= 2x ULN
    assert _last_seq(j, "liver-panel").due_on == day(84)
    heard = []
    signals.plan_extended.connect(
        lambda **kw: heard.append(kw["scheduled_lab"]), weak=False, dispatch_uid="test-heard"
    )
    try:
        units = {"ALT": "U/L", "AST": "U/L", "TBIL": "mg/dL", "INR": "ratio"}
        with django_capture_on_commit_callbacks(execute=True):
            _draw(j, day(84), [(c, high[c], units[c]) for c in liver], by=coordinator_a)
        extra = _last_seq(j, "liver-panel")
        assert (extra.due_on, extra.extension, extra.window_start) == (day(98), True, day(95))
        assert heard == [extra]
        item = extra.item
        assert item.extension_open
        with django_capture_on_commit_callbacks(execute=True):
            _draw(j, day(98), [(c, high[c], units[c]) for c in liver], by=coordinator_a)
        assert _last_seq(j, "liver-panel").due_on == day(112)
        _draw(j, day(112), [(c, normal[c], units[c]) for c in liver], by=coordinator_a)
        item.refresh_from_db()
        assert not item.extension_open
        assert item.extension_end_reason == "Back within the rule"
        assert _last_seq(j, "liver-panel").due_on == day(112)
    finally:
        signals.plan_extended.disconnect(dispatch_uid="test-heard")
    versions = PlanVersion.objects.filter(plan__journey=j)
    assert versions.count() == 3  # generated + two extensions


def test_abnormal_before_the_last_draw_does_not_extend():
    j = ft.planned_journey(D0)
    _draw(j, day(7), [("PLT", "40", "10^9/L")])
    assert _last_seq(j, "platelets").due_on == day(84)


def test_coordinator_closes_an_extension_with_a_reason(coordinator_a):
    j = ft.planned_journey(D0)
    _draw(j, day(84), [("PLT", "120", "10^9/L")])
    extra = _last_seq(j, "platelets")
    assert extra.extension
    services.close_extension(extra.item, by=coordinator_a, reason="hematology follows up")
    extra.refresh_from_db()
    assert extra.status() == Status.CANCELLED
    assert extra.item.extension_ended_by == coordinator_a
    _draw(j, day(85), [("PLT", "100", "10^9/L")])
    assert _last_seq(j, "platelets") == extra  # closed: no more extensions


def test_near_baseline_rule_uses_the_childs_own_baseline():
    baseline = dict(ft.ZOLGENSMA_SCHEDULE[0], tests=["GGT", "TBIL"])
    j = ft.planned_journey(D0, schedule=[baseline, ft.ELEVIDYS_LIVER], born=dt.date(2019, 1, 1))
    _draw(j, day(-3), [("GGT", "20", "U/L"), ("TBIL", "0.4", "mg/dL")])
    _draw(j, day(84), [("GGT", "31", "U/L"), ("TBIL", "0.5", "mg/dL")])  # 31 > 1.5 x 20
    assert _last_seq(j, "liver").due_on == day(91)
    _draw(j, day(91), [("GGT", "29", "U/L"), ("TBIL", "0.5", "mg/dL")])
    assert not _last_seq(j, "liver").item.extension_open
