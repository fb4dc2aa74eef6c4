"""Exit rules over the whole label: several tests together, and back to the child's baseline.

GIVEN a plan item whose series ends on a rule (Zolgensma: ALT and AST below 2x ULN and TBIL and
INR normal; platelets and troponin-I back to the child's level before the infusion)
WHEN  the results of its planned last draw (or of an extra draw) are recorded or corrected
THEN  the series gets one more draw while any part of the rule is unmet, ends when every test of
      every part is back within it, waits while a test is missing, and the item names the tests
      holding it open (worklist, admin plan page); families read plain words only.
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from tests import factories_tracker as ft
from tests.conftest import otp_login
from tracker import flags, services
from tracker.models import Flag, PlanItem, ScheduledLab, Status
from tracker.portal import pages, queries
from tracker.portal import wording as w

D0 = dt.date(2026, 1, 5)
pytestmark = pytest.mark.django_db
SOURCE = {"source": "zolgensma-hcp.com, after treatment", "as_of": "2026-12-01"}
LIVER_RULE = {
    "all": [
        {"tests": ["ALT", "AST"], "rule": "below_x_uln", "value": 2},
        {"tests": ["TBIL", "INR"], "rule": "within_range"},
    ],
    **SOURCE,
}
PLT_RULE = {
    "all": [{"tests": ["PLT"], "rule": "back_to_baseline", "margin_pct": 20, "side": "low"}],
    **SOURCE,
}
TNI_RULE = {
    "all": [{"tests": ["TNI"], "rule": "back_to_baseline", "margin_pct": 20, "side": "high"}],
    **SOURCE,
}
UNITS = {
    "ALT": "U/L",
    "AST": "U/L",
    "TBIL": "mg/dL",
    "INR": "ratio",
    "PLT": "10^9/L",
    "TNI": "ng/L",
}
NORMAL_LIVER = {"ALT": "20", "AST": "30", "TBIL": "0.5", "INR": "1.0"}


def _schedule():
    baseline, liver, platelets, troponin = (dict(i) for i in ft.ZOLGENSMA_SCHEDULE[:4])
    liver["continue_until_normal"] = LIVER_RULE
    platelets["continue_until_normal"] = PLT_RULE
    troponin["continue_until_normal"] = TNI_RULE
    return [baseline, liver, platelets, troponin]


def day(n):
    return D0 + dt.timedelta(days=n)


def _draw(j, n, values, by=None):
    collected = timezone.make_aware(dt.datetime.combine(day(n), dt.time(9)))
    rows = [(code, value, UNITS[code]) for code, value in values.items()]
    return services.record_results(j, collected, rows, by=by, now=collected)


def _rows(j, code):
    labs = ScheduledLab.objects.filter(journey=j, item__code=code, cancelled_at__isnull=True)
    return list(labs.order_by("sequence"))


def _item(j, code):
    return PlanItem.objects.get(plan__journey=j, code=code)


def _journey(**kwargs):
    kwargs.setdefault("schedule", _schedule())
    return ft.planned_journey(D0, **kwargs)


# ---------------------------------------------------------------- several tests together


def test_tbil_high_with_alt_ast_fine_extends_and_names_tbil():
    j = _journey()
    _draw(j, 84, dict(NORMAL_LIVER, TBIL="2.0"))
    extra = _rows(j, "liver-panel")[-1]
    assert (extra.due_on, extra.extension) == (day(98), True)
    item = _item(j, "liver-panel")
    assert item.extension_open
    assert item.held_open_by == [{"test": "TBIL", "reason": "above_range"}]
    assert item.held_open_text == "TBIL above range"


def test_all_fine_ends_the_extension_and_clears_what_held_it():
    j = _journey()
    _draw(j, 84, dict(NORMAL_LIVER, INR="1.6", ALT="120"))
    assert [h["test"] for h in _item(j, "liver-panel").held_open_by] == ["ALT", "INR"]
    _draw(j, 98, NORMAL_LIVER)
    item = _item(j, "liver-panel")
    assert not item.extension_open
    assert item.extension_end_reason == "Back within the rule"
    assert item.held_open_by == []
    assert _rows(j, "liver-panel")[-1].due_on == day(98)


def test_a_missing_test_is_unknown_no_extension_and_no_end():
    j = _journey()
    _draw(j, 84, {"ALT": "20", "AST": "30", "TBIL": "0.5"})  # INR not back yet
    assert _rows(j, "liver-panel")[-1].due_on == day(84)
    assert not _item(j, "liver-panel").extended_at
    _draw(j, 85, {"INR": "1.5"})  # the same draw completed: INR high
    assert _rows(j, "liver-panel")[-1].due_on == day(98)
    _draw(j, 98, {"ALT": "20", "AST": "30", "TBIL": "0.5"})  # INR missing again
    item = _item(j, "liver-panel")
    assert item.extension_open  # not ended ...
    assert _rows(j, "liver-panel")[-1].due_on == day(98)  # ... and not extended again
    assert item.held_open_by == [{"test": "INR", "reason": "missing"}]


def test_results_before_the_planned_last_draw_are_not_judged():
    j = _journey()
    _draw(j, 7, dict(NORMAL_LIVER, TBIL="2.0"))
    item = _item(j, "liver-panel")
    assert (item.extended_at, item.held_open_by) == (None, [])
    assert _rows(j, "liver-panel")[-1].due_on == day(84)


def test_verdict_names_each_part_and_waits_for_missing_tests():
    normal = flags.RuleInput(D(20), D(51), Flag.NORMAL, None)
    high_tbil = flags.RuleInput(D(2), D("1.3"), Flag.HIGH, None)
    rule = flags.normalize_exit_rule(LIVER_RULE)
    abnormal = flags.judge(rule, {"ALT": normal, "AST": normal, "TBIL": high_tbil})
    assert abnormal.abnormal is True
    assert [(h["test"], h["reason"]) for h in abnormal.holds] == [("TBIL", "above_range")]
    waiting = flags.judge(rule, {"ALT": normal, "AST": normal, "TBIL": normal})
    assert waiting.abnormal is None
    assert waiting.holds == [{"test": "INR", "reason": "missing"}]
    within = flags.judge(rule, {c: normal for c in ("ALT", "AST", "TBIL", "INR")})
    assert (within.abnormal, within.holds) == (False, [])


# ---------------------------------------------------------------- back to the child's baseline


def test_platelets_back_to_baseline_230_extends_250_ends():
    j = _journey()
    _draw(j, -3, {"PLT": "300"})  # the baseline draw
    _draw(j, 84, {"PLT": "230"})  # normal range, but below 80% of 300 (240)
    item = _item(j, "platelets")
    assert _rows(j, "platelets")[-1].due_on == day(98)
    assert item.held_open_by == [
        {"test": "PLT", "reason": "below_baseline", "pct": "80", "baseline": "300"}
    ]
    assert item.held_open_text == "PLT below 80% of baseline 300"
    _draw(j, 98, {"PLT": "250"})
    item.refresh_from_db()
    assert not item.extension_open
    assert item.held_open_by == []


def test_a_corrected_baseline_re_judges_the_later_draws(coordinator_a):
    """Baseline PLT 200 was a typo for 300: day 84's 230 looked back to baseline (above 160)
    but is below 80% of 300 (240). Correcting the baseline must re-judge it and extend."""
    j = _journey()
    baseline = _draw(j, -3, {"PLT": "200"}, by=coordinator_a)[0]
    later = _draw(j, 84, {"PLT": "230"}, by=coordinator_a)[0]
    assert not _rows(j, "platelets")[-1].extension

    services.correct_result(baseline, "300", "10^9/L", by=coordinator_a, reason="typo")

    later.refresh_from_db()
    assert later.baseline_value == 300
    assert _rows(j, "platelets")[-1].extension
    assert _item(j, "platelets").held_open_text == "PLT below 80% of baseline 300"


def test_a_baseline_entered_late_is_used_for_the_draws_before_it(coordinator_a):
    j = _journey()
    later = _draw(j, 84, {"PLT": "230"}, by=coordinator_a)[0]
    assert later.baseline_value is None

    _draw(j, -3, {"PLT": "300"}, by=coordinator_a)

    later.refresh_from_db()
    assert later.baseline_value == 300
    assert _rows(j, "platelets")[-1].extension


def test_troponin_side_high():
    j = _journey(born=dt.date(2019, 1, 1))  # child's range: up to 16 ng/L
    _draw(j, -3, {"TNI": "10"})
    _draw(j, 90, {"TNI": "13"})  # within range, above 120% of 10
    item = _item(j, "troponin")
    assert _rows(j, "troponin")[-1].due_on == day(120)
    assert item.held_open_text == "TNI above 120% of baseline 10"
    _draw(j, 120, {"TNI": "11"})
    item.refresh_from_db()
    assert not item.extension_open


def test_no_baseline_falls_back_to_the_range_and_says_so():
    j = _journey()
    _draw(j, 84, {"PLT": "140"})  # no baseline draw: below the range (150) extends
    item = _item(j, "platelets")
    assert _rows(j, "platelets")[-1].extension
    assert item.held_open_by == [{"test": "PLT", "reason": "below_range_no_baseline"}]
    assert "no baseline recorded" in item.held_open_text
    _draw(j, 98, {"PLT": "145"})  # still below range
    assert _rows(j, "platelets")[-1].due_on == day(112)
    _draw(j, 112, {"PLT": "200"})
    item.refresh_from_db()
    assert not item.extension_open
    assert "no baseline recorded" in item.extension_end_reason


def test_no_baseline_verdict_uses_only_the_harmful_side():
    rule = flags.normalize_exit_rule(PLT_RULE)
    high = flags.judge(rule, {"PLT": flags.RuleInput(D(500), D(450), Flag.HIGH, None)})
    assert (high.abnormal, high.no_baseline) == (False, ["PLT"])
    low = flags.judge(rule, {"PLT": flags.RuleInput(D(40), D(450), Flag.CRITICAL_LOW, None)})
    assert low.abnormal is True


# ---------------------------------------------------------------- the old shape, corrections


def test_old_single_rule_shape_still_works():
    old = {"tests": ["ALT", "AST"], "rule": "below_x_uln", "value": 2}
    assert flags.normalize_exit_rule(old) == {"all": [old]}
    assert flags.normalize_exit_rule(None) is None
    j = ft.planned_journey(D0)  # the factories' schedule: stored plans in the old shape
    _draw(j, 84, dict(NORMAL_LIVER, ALT="120"))
    item = _item(j, "liver-panel")
    assert item.extension_open
    assert item.held_open_text == "ALT at or above 2 times the upper limit"


def test_a_corrected_result_re_judges_the_rule(coordinator_a):
    j = _journey()
    results = _draw(j, 84, dict(NORMAL_LIVER, TBIL="5"), by=coordinator_a)  # typo for 0.5
    extra = _rows(j, "liver-panel")[-1]
    assert extra.extension
    tbil = next(r for r in results if r.test.code == "TBIL")
    services.correct_result(tbil, "0.5", "mg/dL", by=coordinator_a, reason="typo")
    item = _item(j, "liver-panel")
    assert not item.extension_open and item.held_open_by == []
    extra.refresh_from_db()
    assert extra.status() == Status.CANCELLED
    assert _rows(j, "liver-panel")[-1].due_on == day(84)


def test_a_correction_to_abnormal_extends(coordinator_a):
    j = _journey()
    results = _draw(j, 84, NORMAL_LIVER, by=coordinator_a)
    inr = next(r for r in results if r.test.code == "INR")
    services.correct_result(inr, "1.9", "ratio", by=coordinator_a, reason="wrong tube")
    assert _rows(j, "liver-panel")[-1].extension
    assert _item(j, "liver-panel").held_open_by == [{"test": "INR", "reason": "above_range"}]


def test_a_correction_to_abnormal_reopens_a_series_the_rule_had_ended(coordinator_a):
    """TBIL 5 at day 84 extends; the extra draw comes back normal and the rule ends the
    series; that draw's TBIL was in fact 5: testing must go on, not stop while abnormal."""
    j = _journey()
    _draw(j, 84, dict(NORMAL_LIVER, TBIL="5"), by=coordinator_a)
    extra = _rows(j, "liver-panel")[-1]
    results = _draw(j, (extra.due_on - D0).days, NORMAL_LIVER, by=coordinator_a)
    assert _item(j, "liver-panel").extension_ended_at is not None
    tbil = next(r for r in results if r.test.code == "TBIL")

    services.correct_result(tbil, "5", "mg/dL", by=coordinator_a, reason="wrong patient's tube")

    item = _item(j, "liver-panel")
    assert item.extension_ended_at is None and item.extension_open
    assert item.held_open_by == [{"test": "TBIL", "reason": "above_range"}]
    assert _rows(j, "liver-panel")[-1].sequence == extra.sequence + 1


def test_a_series_the_coordinator_closed_stays_closed(coordinator_a):
    """Only the rule's own end can be undone by a correction, never a coordinator's close."""
    j = _journey()
    results = _draw(j, 84, dict(NORMAL_LIVER, TBIL="5"), by=coordinator_a)
    services.close_extension(_item(j, "liver-panel"), by=coordinator_a, reason="hepatology")
    tbil = next(r for r in results if r.test.code == "TBIL")

    services.correct_result(tbil, "6", "mg/dL", by=coordinator_a, reason="typo")

    item = _item(j, "liver-panel")
    assert item.extension_ended_at is not None and item.extension_closed_by_hand
    assert not _rows(j, "liver-panel")[-1].extension


def _record_queries(schedule):
    j = ft.planned_journey(D0, schedule=schedule)
    collected = timezone.make_aware(dt.datetime.combine(day(84), dt.time(9)))
    rows = [(c, v, UNITS[c]) for c, v in dict(NORMAL_LIVER, TBIL="2.0").items()]
    with CaptureQueriesContext(connection) as ctx:
        services.record_results(j, collected, rows, by=None, now=collected)
    assert _rows(j, "liver-panel")[-1].extension
    return len(ctx.captured_queries)


# A draw of 4 tests on the planned last draw, extending the item (one of them: the look for a
# result of the same test and time, which only a correction may replace). 29 since the journey
# is read and locked in one query and the 4 results are inserted in one statement.
QUERIES_EXTENDING_DRAW = 29


def test_recording_a_draw_costs_the_same_queries_for_one_or_four_sub_rules():
    one = dict(ft.ZOLGENSMA_SCHEDULE[1], continue_until_normal=LIVER_RULE)
    each = [{"tests": [c], "rule": "within_range"} for c in ("ALT", "AST", "TBIL", "INR")]
    four = dict(one, continue_until_normal={"all": each, **SOURCE})
    _record_queries([one])  # warms the per-process caches (content types)
    counts = (_record_queries([one]), _record_queries([four]))
    print(f"record_results with an extension: {counts} queries")
    assert counts == (QUERIES_EXTENDING_DRAW, QUERIES_EXTENDING_DRAW)


# ---------------------------------------------------------------- what people read


def test_worklist_and_plan_page_name_the_tests_holding_it_open(client, coordinator_a, center_a):
    j = _journey(center=center_a)
    _draw(j, 84, dict(NORMAL_LIVER, TBIL="2.0"))
    otp_login(client, coordinator_a)
    text = client.get(reverse("admin:tracker_worklist_changelist")).text
    assert "Liver tests extended: TBIL above range" in text
    plan = reverse("admin:tracker_monitoringplan_change", args=[j.monitoring_plan.pk])
    assert "TBIL above range" in client.get(plan).text


def test_family_wording_is_plain_in_english_and_spanish():
    liver = flags.normalize_exit_rule(LIVER_RULE)
    platelets = flags.normalize_exit_rule(PLT_RULE)
    assert w.until_words(liver) == "We keep testing until the results are back to normal."
    assert w.until_words(platelets) == (
        "We keep testing until the results are back to your child's usual level "
        "before the infusion."
    )
    with translation.override("es"):
        assert w.until_words(liver) == (
            "Seguimos haciendo estas pruebas hasta que los resultados vuelvan a ser normales."
        )
        assert "antes de la infusión" in w.until_words(platelets)


def test_plan_page_for_families_shows_no_test_codes_or_reasons():
    j = _journey()
    _draw(j, 84, dict(NORMAL_LIVER, TBIL="2.0"))
    items = queries.plan_items(j.monitoring_plan)
    tests = queries.lab_tests()
    lines = [pages._plan_line(item, tests) for item in items]
    liver = next(line for line in lines if line.heading.startswith("Liver tests"))
    assert liver.extended
    assert liver.until == "We keep testing until the results are back to normal."
    assert "TBIL" not in liver.until and "range" not in liver.until
