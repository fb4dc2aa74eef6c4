"""Unit conversions both ways, flags at their boundaries and by age band and sex."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests import factories_tracker as ft
from tracker import flags, services
from tracker.models import LabResult, LabTest

pytestmark = pytest.mark.django_db

# (test, unit, typed, canonical): every accepted unit.
CONVERSIONS = [
    ("ALT", "U/L", "40", "40"),
    ("ALT", "IU/L", "40", "40"),
    ("ALT", "ukat/L", "0.5", "30"),
    ("AST", "U/L", "40", "40"),
    ("AST", "IU/L", "40", "40"),
    ("AST", "ukat/L", "1", "60"),
    ("GGT", "U/L", "12", "12"),
    ("GGT", "IU/L", "12", "12"),
    ("GGT", "ukat/L", "0.2", "12"),
    ("TBIL", "mg/dL", "1.2", "1.2"),
    ("TBIL", "umol/L", "17.1", "1"),
    ("INR", "ratio", "1.1", "1.1"),
    ("PLT", "10^9/L", "250", "250"),
    ("PLT", "10^3/uL", "250", "250"),
    ("PLT", "/uL", "250000", "250"),
    ("TNI", "ng/L", "12", "12"),
    ("TNI", "ug/L", "0.012", "12"),
    ("TNI", "ng/mL", "0.012", "12"),
    ("CREAT", "mg/dL", "0.5", "0.5"),
    ("CREAT", "umol/L", "88.4", "1"),
    ("FIX", "%", "35", "35"),
    ("FIX", "IU/dL", "35", "35"),
    ("HGB", "g/dL", "11.5", "11.5"),
    ("HGB", "g/L", "115", "11.5"),
    ("ANC", "10^9/L", "1.5", "1.5"),
    ("ANC", "10^3/uL", "1.5", "1.5"),
    ("ANC", "/uL", "1500", "1.5"),
    ("ALP", "U/L", "120", "120"),
    ("ALP", "IU/L", "120", "120"),
    ("ALP", "ukat/L", "2", "120"),
    ("AFP", "ng/mL", "5.5", "5.5"),
    ("AFP", "ug/L", "5.5", "5.5"),
    ("AFP", "IU/mL", "10", "12.1"),
]


@pytest.mark.parametrize(("code", "unit", "typed", "canonical"), CONVERSIONS)
def test_conversion_both_ways(code, unit, typed, canonical):
    test = LabTest.objects.prefetch_related("units").get(code=code)
    factor = test.units.get(unit=unit)
    entered, value = services.parse_value(test, typed, unit)
    assert value == D(canonical)
    assert flags.from_canonical(value, factor.multiply, factor.divide) == D(typed)


def test_every_accepted_unit_is_covered():
    pairs = set(LabTest.objects.values_list("code", "units__unit"))
    assert pairs == {(c, u) for c, u, _t, _v in CONVERSIONS}


BAD_INPUT = [
    ("PLT", "abc", "10^9/L", "value", "Enter a number"),
    ("PLT", "", "10^9/L", "value", "Enter a value"),
    ("PLT", "-5", "10^9/L", "value", "cannot be negative"),
    ("PLT", "1000000000", "10^9/L", "value", "not a possible PLT result"),
    ("PLT", "1e9", "10^9/L", "value", "Enter a number with the digits 0-9"),  # no exponents
    ("PLT", "150,000", "/uL", "value", "without commas"),
    ("PLT", "NaN", "10^9/L", "value", "Enter a number"),
    ("PLT", "250", "mg/dL", "unit", "10^9/L, 10^3/uL, /uL"),
    ("ALT", "40", "", "unit", "Choose one of the units"),
]


@pytest.mark.parametrize(("code", "typed", "unit", "field", "message"), BAD_INPUT)
def test_bad_input_names_the_field(code, typed, unit, field, message):
    test = LabTest.objects.prefetch_related("units").get(code=code)
    with pytest.raises(ValidationError) as exc:
        services.parse_value(test, typed, unit)
    assert message in " ".join(exc.value.message_dict[field])


def _flag(code, value, born, on=dt.date(2026, 6, 1), sex="male", unit=None):
    j = ft.journey(born=born, sex=sex)
    unit = unit or LabTest.objects.get(code=code).unit
    collected = timezone.make_aware(dt.datetime.combine(on, dt.time(10)))
    (result,) = services.record_results(j, collected, [(code, value, unit)], by=None, now=collected)
    return result


AGE_5 = dt.date(2021, 3, 1)
BOY_15 = dt.date(2011, 1, 1)
BABY = dt.date(2026, 1, 1)
NEWBORN = dt.date(2026, 5, 25)  # 7 days old on 2026-06-01
ADULT = dt.date(1990, 1, 1)
FLAG_CASES = [
    ("ALT", "30", AGE_5, "male", "normal"),
    ("ALT", "31", AGE_5, "male", "high"),
    ("ALT", "10", AGE_5, "male", "low"),
    ("ALT", "11", AGE_5, "male", "normal"),
    ("ALT", "33", BOY_15, "male", "normal"),
    ("ALT", "34", BOY_15, "male", "high"),
    ("ALT", "24", BOY_15, "female", "normal"),
    ("ALT", "25", BOY_15, "female", "high"),
    ("ALT", "51", BABY, "male", "normal"),
    ("ALT", "52", BABY, "male", "high"),
    ("ALT", "150", AGE_5, "male", "high"),  # exactly 5x ULN: not above
    ("ALT", "151", AGE_5, "male", "critical_high"),
    ("AST", "55", AGE_5, "male", "normal"),
    ("AST", "275", AGE_5, "male", "high"),
    ("AST", "276", AGE_5, "male", "critical_high"),
    ("PLT", "150", AGE_5, "male", "normal"),
    ("PLT", "149", AGE_5, "male", "low"),
    ("PLT", "50", AGE_5, "male", "low"),
    ("PLT", "49", AGE_5, "male", "critical_low"),
    ("PLT", "450", AGE_5, "male", "normal"),
    ("PLT", "451", AGE_5, "male", "high"),
    ("TBIL", "1.3", AGE_5, "male", "normal"),
    ("TBIL", "3.9", AGE_5, "male", "high"),
    ("TBIL", "4.0", AGE_5, "male", "critical_high"),
    ("TNI", "32", AGE_5, "male", "high"),
    ("TNI", "33", AGE_5, "male", "critical_high"),
    ("GGT", "21", AGE_5, "male", "normal"),
    ("GGT", "22", AGE_5, "male", "high"),
    ("GGT", "43", BOY_15, "male", "normal"),
    ("GGT", "27", BOY_15, "female", "high"),
    ("CREAT", "0.70", AGE_5, "male", "normal"),  # DOMAIN.md section 8: 1-<10 y 0.2-0.7
    ("CREAT", "0.71", AGE_5, "male", "high"),
    ("CREAT", "1.05", BOY_15, "male", "normal"),
    ("CREAT", "1.01", BOY_15, "female", "high"),
    ("FIX", "49", AGE_5, "male", "low"),
    ("INR", "1.3", AGE_5, "male", "high"),
    ("HGB", "11.5", AGE_5, "male", "normal"),
    ("HGB", "11.4", AGE_5, "male", "low"),
    ("HGB", "13.4", BOY_15, "male", "low"),
    ("HGB", "13.4", BOY_15, "female", "normal"),
    ("ANC", "1.4", AGE_5, "male", "low"),
    # Newborns and infants (DOMAIN.md section 8: never unflaggable).
    ("TNI", "56", NEWBORN, "male", "normal"),
    ("TNI", "57", NEWBORN, "male", "high"),
    ("TNI", "113", BABY, "female", "critical_high"),
    ("TBIL", "15.0", NEWBORN, "male", "normal"),  # physiological jaundice is not flagged
    ("TBIL", "15.1", NEWBORN, "male", "high"),
    ("TBIL", "17.1", NEWBORN, "male", "critical_high"),
    ("PLT", "123", NEWBORN, "male", "normal"),
    ("PLT", "122", NEWBORN, "male", "low"),
    ("PLT", "49", NEWBORN, "male", "critical_low"),
    ("CREAT", "1.58", NEWBORN, "female", "normal"),
    ("CREAT", "0.40", BABY, "male", "normal"),
    ("CREAT", "0.41", BABY, "male", "high"),
    ("AST", "79", BABY, "female", "normal"),
    ("AST", "66", BABY, "male", "high"),
    ("AFP", "100", BABY, "male", "normal"),
    ("AFP", "101", BABY, "male", "high"),
    # Adults by sex; sex not recorded uses the source's overall or widest limits.
    ("TNI", "34", ADULT, "male", "normal"),
    ("TNI", "35", ADULT, "male", "high"),
    ("TNI", "17", ADULT, "female", "high"),
    ("TNI", "27", ADULT, "unknown", "high"),
    ("ALT", "45", ADULT, "female", "normal"),
    ("ALT", "46", ADULT, "female", "high"),
    ("ALT", "55", ADULT, "unknown", "normal"),
    ("AST", "44", ADULT, "female", "high"),
    ("CREAT", "1.05", ADULT, "female", "high"),
    ("CREAT", "1.35", ADULT, "male", "normal"),
    ("ALP", "331", BOY_15, "male", "normal"),
    ("ALP", "118", BOY_15, "female", "high"),
    ("ALP", "105", ADULT, "female", "high"),
    ("AFP", "8.4", ADULT, "male", "normal"),
    ("AFP", "8.5", ADULT, "female", "high"),
]


@pytest.mark.parametrize(("code", "value", "born", "sex", "flag"), FLAG_CASES)
def test_flag_at_boundaries_by_age_and_sex(code, value, born, sex, flag):
    assert _flag(code, value, born, sex=sex).flag == flag


def test_age_band_changes_on_the_birthday_itself():
    born = dt.date(2013, 6, 1)  # 13 on 2026-06-01: the 13-<19 male band (ULN 33)
    assert _flag("ALT", "32", born, on=dt.date(2026, 5, 31)).flag == "high"
    assert _flag("ALT", "32", born, on=dt.date(2026, 6, 1)).flag == "normal"


def test_x_uln_and_label_marks_and_copied_range():
    result = _flag("ALT", "102", AGE_5)
    assert (result.x_uln, result.at_2x_uln, result.flag) == (D("3.40"), True, "high")
    assert (result.range_low, result.range_high, result.range_critical_high) == (11, 30, 150)
    assert result.range_unit == "U/L" and "CALIPER" in result.range_source
    assert not _flag("ALT", "59", AGE_5).at_2x_uln
    assert _flag("ALT", "60", AGE_5).at_2x_uln


def test_unknown_sex_uses_the_widest_band():
    result = _flag("ALT", "30", BOY_15, sex="unknown")
    assert (result.range_low, result.range_high, result.flag) == (8, 33, "normal")
    assert "widest" in result.range_source


def test_range_edits_do_not_rewrite_history():
    result = _flag("FIX", "45", AGE_5)
    LabTest.objects.get(code="FIX").ranges.update(low=40)
    result.refresh_from_db()
    assert (result.range_low, result.flag) == (50, "low")


def test_rule_verdicts():
    rule = {"tests": ["ALT", "AST"], "rule": "below_x_uln", "value": 2}
    normal = flags.RuleInput(D(59), D(30), "high", None)
    high = flags.RuleInput(D(60), D(30), "high", None)
    assert flags.rule_verdict(rule, {"ALT": high}) is True
    assert flags.rule_verdict(rule, {"ALT": normal}) is None
    assert flags.rule_verdict(rule, {"ALT": normal, "AST": normal}) is False
    platelets = {"tests": ["PLT"], "rule": "within_range"}
    assert flags.rule_verdict(platelets, {"PLT": flags.RuleInput(D(149), D(450), "low", None)})
    near = {"tests": ["GGT"], "rule": "near_baseline", "value": 1.5}
    assert flags.rule_verdict(near, {"GGT": flags.RuleInput(D(30), D(21), "high", D(20))}) is False
    assert flags.rule_verdict(near, {"GGT": flags.RuleInput(D(31), D(21), "high", D(20))}) is True


def test_beqvez_baseline_mark():
    j = ft.planned_journey(
        dt.date(2026, 1, 5), schedule=ft.BEQVEZ_SCHEDULE, born=dt.date(1990, 1, 1)
    )
    before = timezone.make_aware(dt.datetime(2026, 1, 2, 9))
    after = timezone.make_aware(dt.datetime(2026, 1, 12, 9))
    services.record_results(j, before, [("ALT", "20", "U/L")], by=None, now=before)
    services.record_results(
        j, after, [("ALT", "30", "U/L"), ("AST", "20", "U/L")], by=None, now=after
    )
    alt = LabResult.objects.get(test__code="ALT", collected_at=after)
    assert (alt.baseline_value, alt.at_1_5x_baseline, alt.flag) == (20, True, "normal")
    assert not LabResult.objects.get(test__code="AST", collected_at=after).at_1_5x_baseline


@pytest.mark.parametrize(
    ("recorded", "picked"),
    [("female", "female"), ("male", "male"), ("unknown", ""), ("", "")],
    ids=["female", "male", "not-recorded", "blank"],
)
def test_ranges_are_picked_for_the_recorded_sex_or_for_any(recorded, picked):
    assert flags.range_sex(recorded) == picked
