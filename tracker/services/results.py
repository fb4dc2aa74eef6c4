"""Results: parse, convert, flag, link to the draw, correct, review; and the exit rules."""

import re
import zoneinfo
from datetime import UTC, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from journey.bulk import create_all, update_all
from journey.inputs import require_reason
from journey.models import Journey

from .. import flags, signals
from ..acknowledge import acknowledge_by
from ..models import (
    CRITICAL_FLAGS,
    EARLIEST_COLLECTION,
    FamilyNote,
    ItemKind,
    LabResult,
    LabTest,
    ScheduledLab,
)
from .exit_rules import _apply_exit_rule, judged_items
from .journey_end import close_if_ended

THOUSANDS = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+$")
# ASCII digits and one decimal point or comma: no "_", exponent, sign or other scripts' digits.
PLAIN_NUMBER = re.compile(r"^(?:[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)$")


def _number(text):
    """The typed text as a Decimal, or a ValidationError on "value" saying what to type."""
    if not text:
        raise ValidationError({"value": _("Enter a value.")})
    if THOUSANDS.match(text):
        raise ValidationError({"value": _("Write the number without commas, for example 150000.")})
    if text.startswith("-") and PLAIN_NUMBER.match(text[1:]):
        raise ValidationError({"value": _("A result cannot be negative.")})
    if not PLAIN_NUMBER.match(text):
        message = _("Enter a number with the digits 0-9 and one decimal point, for example 1.5.")
        raise ValidationError({"value": message})
    return Decimal(text.replace(",", "."))


def parse_value(test, raw, unit):
    """Check one typed result; return (value as entered, canonical value) or raise by field.

    The typed number is held against the unit's highest possible value (catalogue data)
    before any arithmetic, so no size of number can overflow the conversion."""
    text = str(raw if raw is not None else "").strip()
    number = _number(text)
    units = {u.unit: u for u in test.units.all()}
    if unit not in units:
        message = _("Choose one of the units for %(test)s: %(units)s.") % {
            "test": test.code,
            "units": ", ".join(units),
        }
        raise ValidationError({"unit": message})
    highest = units[unit].highest
    impossible = _(
        "%(value)s %(unit)s is not a possible %(test)s result: check the value and the unit."
    ) % {"value": text, "unit": unit, "test": test.code}
    if highest is not None and number > highest:
        raise ValidationError({"value": impossible})
    canonical = flags.to_canonical(number, units[unit].multiply, units[unit].divide)
    if canonical > test.plausible_max:
        raise ValidationError({"value": impossible})
    if number and not canonical:
        message = _("%(value)s %(unit)s is too small to record: check the value and the unit.")
        raise ValidationError({"value": message % {"value": text, "unit": unit}})
    return number, canonical


def catalogue():
    """The lab catalogue by code, units and ranges prefetched (three queries)."""
    return {t.code: t for t in LabTest.objects.prefetch_related("units", "ranges")}


class _ResultContext:
    """What every result of one collection shares: the child's age and sex, baselines, draws."""

    def __init__(self, journey, collected_at, tests=None):
        self.journey, self.collected_at = journey, collected_at
        zone = zoneinfo.ZoneInfo(journey.center.time_zone)
        self.day = timezone.localtime(collected_at, zone).date()
        patient = journey.patient
        self.age_months = flags.age_in_months(patient.date_of_birth, self.day)
        self.sex = flags.range_sex(patient.sex)
        self.tests = tests or catalogue()
        self.baselines = self._baselines()
        self.open_labs = self._open_labs()

    def _baselines(self):
        return self.baselines_of(self.journey)

    def _open_labs(self):
        rows = self.journey.scheduled_labs.open().filter(
            window_start__lte=self.day, window_end__gte=self.day, item__kind=ItemKind.LAB
        )
        return list(rows.select_related("item").prefetch_related("results"))

    @staticmethod
    def baselines_of(journey, codes=None):
        """The latest current result of each test collected before day 0 or on the baseline
        draw (collected on its last day in the evening, it may be day 0 in UTC)."""
        day0 = journey.infusion_date
        if day0 is None:
            return {}
        rows = LabResult.objects.counting().filter(
            Q(collected_at__date__lt=day0) | Q(scheduled_lab__item__baseline=True),
            journey=journey,
        )
        if codes is not None:
            rows = rows.filter(test__code__in=codes)
        return dict(rows.order_by("collected_at").values_list("test__code", "value"))

    def limits(self, test):
        band = flags.pick_range(test.ranges.all(), self.age_months, self.sex)
        if band is None or isinstance(band, flags.Limits):
            return band
        return flags.Limits(
            band.low, band.high, band.critical_low, band.critical_high, test.unit, band.source
        )

    def match_lab(self, code):
        """The open draw of this test whose window holds the collection day, closest first."""
        candidates = [
            lab
            for lab in self.open_labs
            if code in lab.item.tests
            and not any(r.test.code == code and r.is_current for r in lab.results.all())
        ]
        candidates.sort(key=lambda lab: abs((lab.due_on - self.day).days))
        return candidates[0] if candidates else None


def _result_fields(ctx, test, canonical, now):
    fields = flags.result_fields(test, canonical, ctx.limits(test), ctx.baselines.get(test.code))
    fields["acknowledge_by"] = acknowledge_by(fields["flag"], now, ctx.journey.center)
    return fields


def new_result(ctx, parsed, by, now, preliminary):
    """The LabResult (not saved) of one parsed row of ctx's collection, linked to its draw."""
    test, raw, unit, canonical = parsed
    return LabResult(
        journey=ctx.journey,
        center_id=ctx.journey.center_id,
        test=test,
        scheduled_lab=ctx.match_lab(test.code),
        value_entered=str(raw).strip(),
        unit_entered=unit,
        collected_at=ctx.collected_at,
        entered_by=by,
        entered_at=now,
        preliminary=preliminary,
        **_result_fields(ctx, test, canonical, now),
    )


def _parse_rows(tests, rows):
    """Parse every row first, so one bad value stops the whole entry with all messages."""
    parsed, errors = [], {}
    for code, raw, unit in rows:
        test = tests.get(code)
        if test is None:
            errors[code] = [_("Unknown lab test.")]
            continue
        try:
            entered, canonical = parse_value(test, raw, unit)
        except ValidationError as exc:
            errors[code] = exc.messages
            continue
        parsed.append((test, raw, unit, canonical))
    if errors:
        raise ValidationError(errors)
    return parsed


FUTURE_MARGIN = timedelta(minutes=5)  # clocks differ; a draw minutes "ahead" is still real


def check_collected_at(collected_at, born, now, zone=UTC):
    """A collection time that can be real: not before the child's birth (nor 1900), not in the
    future beyond a few minutes. A ValidationError on "collected_at" otherwise."""
    if timezone.is_naive(collected_at):
        raise ValueError("collected_at must be an aware datetime")
    if collected_at > now + FUTURE_MARGIN:
        raise ValidationError({"collected_at": _("The collection time cannot be in the future.")})
    if collected_at < EARLIEST_COLLECTION or (born and collected_at.astimezone(zone).date() < born):
        raise ValidationError(
            {"collected_at": _("The collection date is before the child was born.")}
        )


def same_time_results(journey, collected_at, codes):
    """The current results of these tests already recorded for this exact collection time."""
    rows = LabResult.objects.current().filter(
        journey=journey, collected_at=collected_at, test__code__in=codes
    )
    return {r.test.code: r for r in rows.select_related("test")}


def duplicate_message(result):
    return _(
        "%(test)s already has %(value)s %(unit)s for this collection time. If this is a "
        'correction, tick "This corrects it" and say why; otherwise check the date and time.'
    ) % {"test": result.test.code, "value": result.value_entered, "unit": result.unit_entered}


def record_results(
    journey, collected_at, rows, *, by, corrections=None, now=None, preliminary=False, tests=None
):
    """Record one collection's results: convert, flag, link to the matching draw, complete it.

    rows: [(test code, value as typed, unit as typed)]. Raises ValidationError keyed by test
    code when any row is bad (nothing is saved then). A test that already has a result for
    this collection time is refused unless `corrections` maps its code to a reason: then the
    new value corrects the old one (correct_result). Returns the new LabResult rows.

    preliminary=True (a lab system's OBX-11 P): the rows are shown as preliminary but do not
    count: no draw is completed, no exit rule judged, no critical alert, until the final
    result supersedes them (correct_result). `tests` (code -> LabTest with units and ranges
    prefetched) spares the catalogue's read to a caller recording many collections.
    """
    corrections = corrections or {}
    now = now or timezone.now()
    with transaction.atomic():
        # Read and locked at once: one child's results are recorded one collection at a time.
        locked = Journey.objects.select_for_update(of=("self",)).select_related("center", "patient")
        journey = locked.get(pk=journey.pk)
        zone = zoneinfo.ZoneInfo(journey.center.time_zone)
        check_collected_at(collected_at, journey.patient.date_of_birth, now, zone)
        ctx = _ResultContext(journey, collected_at, tests)
        parsed = _parse_rows(ctx.tests, rows)
        before = same_time_results(journey, collected_at, [p[0].code for p in parsed])
        refused = {c: duplicate_message(r) for c, r in before.items() if c not in corrections}
        if refused:
            raise ValidationError(refused)
        results, corrected = [], []
        for test, raw, unit, canonical in parsed:
            if test.code in before:
                old, reason = before[test.code], corrections[test.code]
                corrected.append(correct_result(old, raw, unit, by=by, reason=reason, now=now))
                continue
            results.append(new_result(ctx, (test, raw, unit, canonical), by, now, preliminary))
        create_all(LabResult, results)  # one INSERT; each row announced as saved (audit)
        if results and preliminary:
            _announce(journey, results, critical=False)
        elif results:
            _after_results(journey, results, by, now)
    return results + corrected


def _after_results(journey, results, by, now):
    labs = {r.scheduled_lab_id for r in results if r.scheduled_lab_id}
    _complete_draws(labs, by)
    labs |= _rebase_later_results(journey, results)
    for item in judged_items(labs):
        _apply_exit_rule(item, labs, by, now)
    _announce(journey, results, critical=True)


def _announce(journey, results, *, critical):
    """After commit: results recorded (critical ones alert at once; a preliminary never)."""
    ids = [r.pk for r in results]
    critical = [r.pk for r in results if r.flag in CRITICAL_FLAGS] if critical else []
    transaction.on_commit(
        lambda: signals.results_recorded.send(
            sender=LabResult, journey=journey, result_ids=ids, critical_ids=critical
        )
    )


def _is_baseline(result, day0):
    """Collected before day 0 (UTC date, as _ResultContext reads it) or on the baseline draw."""
    if result.collected_at.astimezone(UTC).date() < day0:
        return True
    return bool(result.scheduled_lab_id) and result.scheduled_lab.item.baseline


def _rebase_later_results(journey, results):
    """A baseline result recorded late or corrected: the results after day 0 of that test take
    the new baseline (value and the 1.5x mark), so the exit rules can judge them again.
    Returns the ids of the draws whose results changed."""
    day0 = journey.infusion_date
    codes = {r.test.code for r in results if day0 and _is_baseline(r, day0)}
    if not codes:
        return set()
    baselines = _ResultContext.baselines_of(journey, codes)
    later = (
        LabResult.objects.current()
        .filter(journey=journey, test__code__in=codes, collected_at__date__gte=day0)
        .exclude(scheduled_lab__item__baseline=True)
        .select_related("test")
    )
    touched = set()
    for result in later:
        baseline = baselines.get(result.test.code)
        if result.baseline_value != baseline:
            result.baseline_value = baseline
            result.at_1_5x_baseline = flags.at_1_5x_baseline(
                result.test.code, result.value, baseline
            )
            result.save(update_fields=["baseline_value", "at_1_5x_baseline"])
            touched.add(result.scheduled_lab_id)
    return touched - {None}


def _complete_draws(lab_ids, by):
    """A draw is done once every test of its item has a current result."""
    labs = ScheduledLab.objects.filter(pk__in=lab_ids).select_related("item", "journey")
    changed = []
    for lab in labs.prefetch_related("results__test"):
        current = [r for r in lab.results.all() if r.counts]
        complete = set(lab.item.tests) <= {r.test.code for r in current}
        if complete:
            lab.done_at, lab.done_by = max(r.collected_at for r in current), by
        elif lab.done_at is not None:  # a result of it was entered in error: open again,
            lab.done_at, lab.done_by = None, None
            close_if_ended(lab)  # unless its journey has ended
        else:
            continue
        changed.append(lab)
    fields = ["done_at", "done_by", "cancelled_at", "cancel_reason"]
    update_all(ScheduledLab, changed, fields)  # one UPDATE, each announced


def correct_result(result, raw, unit, *, by, reason, now=None, preliminary=False):
    """Correct a result with a new row that supersedes it; the old row is kept.

    A preliminary result is superseded by its final result (or by a newer preliminary one,
    preliminary=True); a final result is never replaced by a preliminary one."""
    reason = require_reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        old = LabResult.objects.select_for_update().select_related("test").get(pk=result.pk)
        if old.superseded_at:
            raise ValidationError(_("This result was already corrected: correct the newer one."))
        if old.entered_in_error_at:
            raise ValidationError(_("This result was marked entered in error."))
        if preliminary and not old.preliminary:
            raise ValidationError(_("A final result is not replaced by a preliminary one."))
        # Locked as record_results does: a transfer waits, so the new row's center is current.
        journey = (
            Journey.objects.select_for_update(of=("self",))
            .select_related("center", "patient")
            .get(pk=old.journey_id)
        )
        ctx = _ResultContext(journey, old.collected_at)
        test = ctx.tests[old.test.code]
        try:
            _entered, canonical = parse_value(test, raw, unit)
        except ValidationError as exc:
            raise ValidationError({test.code: exc.messages}) from exc
        old.superseded_at = now
        old.save(update_fields=["superseded_at"])
        new = LabResult.objects.create(
            journey=journey,
            center_id=journey.center_id,
            test=test,
            scheduled_lab_id=old.scheduled_lab_id,
            value_entered=str(raw).strip(),
            unit_entered=unit,
            collected_at=old.collected_at,
            entered_by=by,
            entered_at=now,
            supersedes=old,
            correction_reason=reason,
            preliminary=preliminary,
            **_result_fields(ctx, test, canonical, now),
        )
        # The family's note follows the value it explains (its text keeps its history).
        FamilyNote.objects.filter(result=old).update(result=new)
        if preliminary:
            _announce(journey, [new], critical=False)
        else:
            _after_results(journey, [new], by, now)
    return new


def review_result(result, *, by, note, now=None):
    """The coordinator has seen an abnormal result: who, when and what they noted."""
    note = require_reason(note, "review_note")
    updated = LabResult.objects.filter(pk=result.pk, reviewed_at__isnull=True).update(
        reviewed_by=by, reviewed_at=now or timezone.now(), review_note=note
    )
    if updated != 1:
        raise ValidationError(_("This result has already been reviewed."))
    result.refresh_from_db()
    return result
