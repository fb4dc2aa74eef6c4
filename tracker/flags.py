"""Pure rules: unit conversion, range choice, flags, multiples of the upper limit, exit rules.

No database access here: the one place a flag is computed, easy to test at its boundaries.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from journey.ages import birthday
from journey.models import Sex

from .holds import HoldReason
from .models import Flag

CANONICAL_PLACES = Decimal("0.0001")
X_ULN_PLACES = Decimal("0.01")
TAPER_X_ULN = Decimal(2)  # Zolgensma/Itvisma: no steroid taper while ALT/AST >= 2x ULN.
BASELINE_RISE = Decimal("1.5")  # Beqvez: ALT/AST >= 1.5x the patient's own baseline.
LIVER_ENZYMES = {"ALT", "AST"}


@dataclass(frozen=True)
class Limits:
    """A reference range as used for one result (copied onto the result)."""

    low: Decimal | None
    high: Decimal | None
    critical_low: Decimal | None = None
    critical_high: Decimal | None = None
    unit: str = ""
    source: str = ""


def to_canonical(value: Decimal, multiply: Decimal, divide: Decimal) -> Decimal:
    return (value * multiply / divide).quantize(CANONICAL_PLACES, rounding=ROUND_HALF_UP)


def from_canonical(value: Decimal, multiply: Decimal, divide: Decimal) -> Decimal:
    return (value * divide / multiply).quantize(CANONICAL_PLACES, rounding=ROUND_HALF_UP)


def age_in_months(born: date, on: date) -> int:
    """Completed calendar months (exact, like the age bands of the reference ranges)."""
    months = (on.year - born.year) * 12 + on.month - born.month
    return months if birthday(born, months=months) <= on else months - 1


def range_sex(sex: str) -> str:
    """The sex a reference range is picked for: "" (any) when the patient's is not recorded."""
    return sex if sex in (Sex.FEMALE, Sex.MALE) else ""


def pick_range(ranges, age_months: int, sex: str):
    """The band for this age and sex: a sex-specific band first, then one for any sex.

    With the sex not recorded and only sex-specific bands, the widest of them is used (the
    caller notes it in the source). Returns a matching band object, a merged Limits, or None.
    """
    bands = [
        r
        for r in ranges
        if r.age_from_months <= age_months
        and (r.age_to_months is None or age_months < r.age_to_months)
    ]
    for wanted in (sex, ""):
        for band in bands:
            if band.sex == wanted:
                return band
    return _widest(bands) if bands else None


def _widest(bands):
    lows = [b.low for b in bands]
    highs = [b.high for b in bands]
    return Limits(
        low=None if None in lows else min(lows),
        high=None if None in highs else max(highs),
        source="; ".join(sorted({b.source for b in bands})) + " (sex not recorded: widest band)",
    )


def critical_high_limit(limits: Limits, critical_x_uln: Decimal | None) -> Decimal | None:
    if limits.critical_high is not None:
        return limits.critical_high
    if critical_x_uln is not None and limits.high:
        return limits.high * critical_x_uln
    return None


def compute_flag(value: Decimal, limits: Limits | None, critical_x_uln=None) -> str:
    """Critical first, then high/low, then normal (DOMAIN.md section 6)."""
    if limits is None or (limits.low is None and limits.high is None):
        return Flag.NO_RANGE
    critical_high = critical_high_limit(limits, critical_x_uln)
    if limits.critical_low is not None and value < limits.critical_low:
        return Flag.CRITICAL_LOW
    if critical_high is not None and value > critical_high:
        return Flag.CRITICAL_HIGH
    if limits.high is not None and value > limits.high:
        return Flag.HIGH
    if limits.low is not None and value < limits.low:
        return Flag.LOW
    return Flag.NORMAL


def x_uln(value: Decimal, high: Decimal | None) -> Decimal | None:
    """The multiple of the upper limit, rounded for display ("3.4 x ULN")."""
    if not high:
        return None
    return (value / high).quantize(X_ULN_PLACES, rounding=ROUND_HALF_UP)


def at_2x_uln(code: str, value: Decimal, high: Decimal | None) -> bool:
    return code in LIVER_ENZYMES and bool(high) and value >= TAPER_X_ULN * high


def at_1_5x_baseline(code: str, value: Decimal, baseline: Decimal | None) -> bool:
    return code in LIVER_ENZYMES and bool(baseline) and value >= BASELINE_RISE * baseline


@dataclass(frozen=True)
class RuleInput:
    """What an exit rule needs of one result."""

    value: Decimal
    high: Decimal | None
    flag: str
    baseline: Decimal | None


def result_fields(test, value: Decimal, limits: Limits | None, baseline: Decimal | None) -> dict:
    """Everything stored with a result besides the value as typed: flag, x ULN, label marks and
    a copy of the range used (so a later range edit does not rewrite history)."""
    high = limits.high if limits else None
    return {
        "value": value,
        "unit": test.unit,
        "flag": compute_flag(value, limits, test.critical_high_x_uln),
        "x_uln": x_uln(value, high) if test.shows_x_uln else None,
        "at_2x_uln": at_2x_uln(test.code, value, high),
        "at_1_5x_baseline": at_1_5x_baseline(test.code, value, baseline),
        "baseline_value": baseline,
        "range_low": limits.low if limits else None,
        "range_high": high,
        "range_critical_low": limits.critical_low if limits else None,
        "range_critical_high": (
            critical_high_limit(limits, test.critical_high_x_uln) if limits else None
        ),
        "range_unit": test.unit if limits else "",
        "range_source": limits.source if limits else "",
    }


BASELINE_RULES = {"near_baseline", "back_to_baseline"}
LOW_FLAGS = (Flag.LOW, Flag.CRITICAL_LOW)
HIGH_FLAGS = (Flag.HIGH, Flag.CRITICAL_HIGH)


def normalize_exit_rule(rule: dict | None) -> dict | None:
    """The exit rule as {"all": [sub-rules], ...}: the old single rule (stored plans) becomes a
    list of one. Every reader (results, portal, worklist) goes through here."""
    if not rule:
        return None
    return rule if "all" in rule else {"all": [rule]}


def exit_rule_tests(rule: dict | None) -> list:
    """Every test code the rule reads, in order, once each."""
    rule = normalize_exit_rule(rule) or {"all": []}
    return list(dict.fromkeys(code for sub in rule["all"] for code in sub["tests"]))


def _plain(value: Decimal) -> str:
    """ "300", "0.5", "2": a number for a stored reason, without trailing zeros."""
    return f"{Decimal(value).normalize():f}"


def _range_hold(code, result, flags_, reason):
    return {"test": code, "reason": reason} if result.flag in flags_ else None


def _within_range_hold(code, result):
    return _range_hold(code, result, LOW_FLAGS, HoldReason.BELOW_RANGE) or _range_hold(
        code, result, HIGH_FLAGS, HoldReason.ABOVE_RANGE
    )


def baseline_bound(sub: dict) -> tuple[Decimal, str]:
    """(multiple of the baseline, harmful side): near_baseline 1.5 is (1.5, "high"),
    back_to_baseline 20% low is (0.8, "low")."""
    if sub["rule"] == "near_baseline":
        return Decimal(str(sub.get("value", 0))), "high"
    margin = Decimal(str(sub.get("margin_pct", 0))) / 100
    side = sub.get("side", "high")
    return (1 - margin if side == "low" else 1 + margin), side


def _baseline_hold(sub, code, result):
    """(hold or None, True when there was no baseline and the range on the harmful side
    was used instead)."""
    factor, side = baseline_bound(sub)
    low = side == "low"
    if not result.baseline:
        if low:
            return _range_hold(code, result, LOW_FLAGS, HoldReason.BELOW_RANGE_NO_BASELINE), True
        return _range_hold(code, result, HIGH_FLAGS, HoldReason.ABOVE_RANGE_NO_BASELINE), True
    bound = factor * result.baseline
    if (result.value < bound) if low else (result.value > bound):
        reason = HoldReason.BELOW_BASELINE if low else HoldReason.ABOVE_BASELINE
        numbers = {"pct": _plain(factor * 100), "baseline": _plain(result.baseline)}
        return {"test": code, "reason": reason, **numbers}, False
    return None, False


def _hold(sub: dict, code: str, result: RuleInput):
    """What keeps this test outside this sub-rule (None when within), and whether the
    range stood in for a missing baseline."""
    kind = sub["rule"]
    if kind == "below_x_uln":
        limit = Decimal(str(sub.get("value", 0)))
        if result.high and result.value >= limit * result.high:
            return {"test": code, "reason": HoldReason.ABOVE_X_ULN, "x": _plain(limit)}, False
        return None, False
    if kind == "within_range":
        return _within_range_hold(code, result), False
    if kind in BASELINE_RULES:
        return _baseline_hold(sub, code, result)
    raise ValueError(f"unknown exit rule {kind!r}")


@dataclass(frozen=True)
class Verdict:
    """abnormal: True (extend), False (every test of every sub-rule within), None (a test is
    missing, nothing decided). holds: [{"test", "reason", ...numbers}] keeping it open (the
    missing tests when undecided); no_baseline: tests judged on their range for want of one."""

    abnormal: bool | None
    holds: list
    no_baseline: list


def judge(rule: dict, results: dict) -> Verdict:
    """Judge one draw against the whole rule. `results` maps a test code to a RuleInput."""
    holds, missing, no_baseline = [], [], []
    for sub in normalize_exit_rule(rule)["all"]:
        for code in sub["tests"]:
            if code not in results:
                missing.append(code)
                continue
            hold, fallback = _hold(sub, code, results[code])
            holds += [hold] if hold else []
            no_baseline += [code] if fallback and code not in no_baseline else []
    if holds:
        return Verdict(True, holds, no_baseline)
    if missing:
        waiting = [{"test": c, "reason": HoldReason.MISSING} for c in dict.fromkeys(missing)]
        return Verdict(None, waiting, no_baseline)
    return Verdict(False, [], no_baseline)


def rule_verdict(rule: dict, results: dict) -> bool | None:
    """True: abnormal (extend); False: every rule test back within the rule; None: not yet known."""
    return judge(rule, results).abnormal
