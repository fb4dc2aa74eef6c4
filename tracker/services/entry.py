"""What the result form shows and asks before saving: the draw's tests, each test's last values,
range and baseline, and the values to confirm (a likely unit slip, a critical value)."""

import hashlib
import json
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .. import flags
from ..draws import group_draws
from ..models import ABNORMAL_FLAGS, CRITICAL_FLAGS, Flag, ItemKind, LabResult
from .results import _ResultContext, parse_value

LAST_SHOWN = 2


def plain(value):
    """ "300", "0.5": a stored Decimal without trailing zeros, for staff pages."""
    return f"{value.normalize():f}" if value is not None else ""


def draw_tests(journey, due):
    """The test codes of the journey's open lab rows due that day (one draw), in plan order;
    [] when there is no such draw."""
    rows = (
        journey.scheduled_labs.open()
        .filter(due_on=due, item__kind=ItemKind.LAB, item__removed_at__isnull=True)
        .select_related("item")
        .order_by("item__position", "pk")
    )
    codes = []
    for draw in group_draws(rows):
        for row in draw.rows:
            codes += [code for code in row.item.tests if code not in codes]
    return codes


@dataclass
class TestHelp:
    """What the form shows beside one test."""

    range: str = ""
    baseline: str = ""
    last: list = field(default_factory=list)  # current LabResults, newest first


def _range_text(test, band):
    if band is None or (band.low is None and band.high is None):
        return _("no range for this age")
    if band.low is None:
        return f"≤ {plain(band.high)} {test.unit}"
    if band.high is None:
        return f"≥ {plain(band.low)} {test.unit}"
    return f"{plain(band.low)}–{plain(band.high)} {test.unit}"


def entry_help(journey, tests, today):
    """{code: TestHelp} for the form: the child's range today, baseline and last values."""
    patient = journey.patient
    months = flags.age_in_months(patient.date_of_birth, today)
    sex = flags.range_sex(patient.sex)
    codes = [t.code for t in tests]
    baselines = _ResultContext.baselines_of(journey, codes)
    helps = {}
    for test in tests:
        band = flags.pick_range(test.ranges.all(), months, sex)
        baseline = baselines.get(test.code)
        helps[test.code] = TestHelp(
            range=_range_text(test, band),
            baseline=f"{plain(baseline)} {test.unit}" if baseline is not None else "",
        )
    results = (
        LabResult.objects.current()
        .filter(journey=journey, test__code__in=codes)
        .select_related("test")
        .order_by("-collected_at")
    )
    for result in results:
        shown = helps[result.test.code].last
        if len(shown) < LAST_SHOWN:
            shown.append(result)
    return helps


def entry_warnings(journey, collected_at, rows):
    """{code: [message]} for the rows to confirm before saving: a value that is abnormal in the
    chosen unit but normal in another accepted unit (a likely slip), or a critical value."""
    ctx = _ResultContext(journey, collected_at)
    warnings = {}
    for code, raw, unit in rows:
        test = ctx.tests[code]
        number, canonical = parse_value(test, raw, unit)
        limits = ctx.limits(test)
        flag = flags.compute_flag(canonical, limits, test.critical_high_x_uln)
        if flag not in ABNORMAL_FLAGS:
            continue
        likely = _likely_unit(test, number, unit, limits)
        if likely or flag in CRITICAL_FLAGS:
            warnings[code] = [_warning(test, raw, unit, canonical, flag, limits, likely)]
    return warnings


def _likely_unit(test, number, unit, limits):
    """Another accepted unit (with another factor) in which the same number is normal."""
    units = list(test.units.all())
    chosen = next(u for u in units if u.unit == unit)
    for other in units:
        if (other.multiply, other.divide) == (chosen.multiply, chosen.divide):
            continue
        if other.highest is not None and number > other.highest:
            continue
        value = flags.to_canonical(number, other.multiply, other.divide)
        if flags.compute_flag(value, limits, test.critical_high_x_uln) == Flag.NORMAL:
            return other.unit
    return None


def _warning(test, raw, unit, canonical, flag, limits, likely):
    facts = {
        "test": test.code,
        "value": str(raw).strip(),
        "unit": unit,
        "flag": Flag(flag).label,
        "canonical": f"{plain(canonical)} {test.unit}",
        "range": _range_text(test, limits),
        "likely": likely,
    }
    if likely:
        return (
            _(
                "%(test)s %(value)s %(unit)s is %(flag)s (%(canonical)s; range %(range)s). "
                "Did you mean %(value)s %(likely)s? Change the unit, or confirm the value."
            )
            % facts
        )
    return (
        _("%(test)s %(value)s %(unit)s is %(flag)s (range %(range)s). Check it, then confirm.")
        % facts
    )


def confirm_token(collected_at, rows, warnings):
    """A digest of what the coordinator is asked to confirm: a changed value asks again."""
    asked = sorted([code, str(raw).strip(), unit] for code, raw, unit in rows if code in warnings)
    text = json.dumps([collected_at.isoformat(), asked])
    return hashlib.sha256(text.encode()).hexdigest()[:32]
