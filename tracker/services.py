"""The tracker's use cases: generate and edit plans, record and review results, exit rules.

Public functions (keyword-only `by` is the user who acts; `now` is for tests):
  generate_plan(journey, *, by=None, reason="", now=None) -> PlanVersion | None
  reschedule_lab(lab, new_due_on, *, by, reason, now=None) -> PlanVersion
  mark_missed(lab, *, by, reason, now=None)
  complete_visit(lab, *, by, now=None)
  close_extension(item, *, by, reason, now=None)
  parse_value(test, raw, unit) -> (entered Decimal, canonical Decimal)
  record_results(journey, collected_at, rows, *, by, now=None) -> list[LabResult]
  correct_result(result, raw, unit, *, by, reason, now=None) -> LabResult
  review_result(result, *, by, note, now=None)
  overdue_labs / labs_due_soon / results_awaiting_review / open_extensions(user, ...) -> querysets
"""

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journey.access import scope_to_centers
from journey.models import OPEN_STAGES, Journey

from . import flags, schedule, signals
from .models import (
    CRITICAL_FLAGS,
    ItemKind,
    LabResult,
    LabTest,
    MonitoringPlan,
    PlanItem,
    PlanVersion,
    ScheduledLab,
)

ITEM_FIELDS = ("kind", "title", "tests", "baseline", "inpatient", "lifelong", "note")
ITEM_FIELDS += ("segments", "continue_until_normal", "position")


def _require(text, field_name="reason"):
    text = (text or "").strip()
    if not text:
        raise ValidationError({field_name: _("Say why: this is kept in the plan's history.")})
    return text


# ---------------------------------------------------------------- plan generation


def schedule_items(therapy):
    """The therapy's label schedule plus its long-term follow-up visits, as item dicts."""
    items = list(therapy.monitoring_schedule or [])
    if therapy.ltfu_years:
        items.append(schedule.ltfu_item(therapy.ltfu_years, _("Yearly follow-up visit")))
    return items


def _item_values(data, position):
    return {
        "kind": data.get("kind", ItemKind.LAB),
        "title": data["title"],
        "tests": list(data.get("tests", [])),
        "baseline": bool(data.get("baseline")),
        "inpatient": bool(data.get("inpatient")),
        "lifelong": bool(data.get("lifelong")),
        "note": data.get("note", ""),
        "segments": data.get("segments", []),
        "continue_until_normal": data.get("continue_until_normal"),
        "position": position,
    }


@dataclass
class _Changes:
    """What a (re)generation would do; empty means the plan is already as wanted."""

    new_items: list = field(default_factory=list)  # (code, values)
    item_updates: list = field(default_factory=list)  # (item, values)
    removed_items: list = field(default_factory=list)
    new_rows: list = field(default_factory=list)  # (code, Occurrence)
    moved_rows: list = field(default_factory=list)  # (row, due, start, end)
    cancelled_rows: list = field(default_factory=list)

    def __bool__(self):
        return any(vars(self).values())

    def summary(self):
        return {
            "items_added": [code for code, _v in self.new_items],
            "items_changed": [i.code for i, _v in self.item_updates],
            "items_removed": [i.code for i in self.removed_items],
            "added": len(self.new_rows),
            "moved": len(self.moved_rows),
            "cancelled": len(self.cancelled_rows),
        }


def _kept_offset_dates(row, day0):
    """New dates of a row that keeps its own offset (extension or moved by hand)."""
    due = schedule.date_for(day0, row.day_offset, row.month_offset)
    return due, due - (row.due_on - row.window_start), due + (row.window_end - row.due_on)


def _diff_rows(changes, code, item, occurrences, day0):
    rows = {r.sequence: r for r in item.scheduled.all()} if item else {}
    for occ in occurrences:
        row = rows.pop(occ.sequence, None)
        if row is None:
            changes.new_rows.append((code, occ))
        elif row.is_open and not _keeps_offset(row):
            _move_if_needed(changes, row, (occ.due_on, occ.window_start, occ.window_end))
        elif row.is_open:
            _move_if_needed(changes, row, _kept_offset_dates(row, day0))
    for row in rows.values():
        if row.is_open and _keeps_offset(row):
            _move_if_needed(changes, row, _kept_offset_dates(row, day0))
        elif row.is_open:
            changes.cancelled_rows.append(row)


def _keeps_offset(row):
    return row.extension or row.moved_by_hand


def _move_if_needed(changes, row, dates):
    if dates != (row.due_on, row.window_start, row.window_end):
        changes.moved_rows.append((row, *dates))


def _plan_changes(plan, journey):
    day0, window = journey.infusion_date, journey.center.baseline_window_days
    existing = {i.code: i for i in plan.items.prefetch_related("scheduled")}
    changes = _Changes()
    for position, data in enumerate(schedule_items(journey.therapy)):
        code, values = data["code"], _item_values(data, position)
        item = existing.pop(code, None)
        if item is None:
            changes.new_items.append((code, values))
        elif item.removed_at or any(getattr(item, k) != v for k, v in values.items()):
            changes.item_updates.append((item, values))
        _diff_rows(changes, code, item, schedule.expand(data, day0, window), day0)
    for item in existing.values():
        if item.removed_at is None:
            changes.removed_items.append(item)
        changes.cancelled_rows += [r for r in item.scheduled.all() if r.is_open]
    return changes


def _new_version(plan, day0, by, now, reason, changes=None):
    last = plan.versions.order_by("-number").values_list("number", flat=True).first() or 0
    return PlanVersion.objects.create(
        plan=plan,
        number=last + 1,
        infusion_date=day0,
        created_by=by,
        created_at=now,
        reason=reason,
        changes=changes or {},
    )


def _apply_items(plan, changes, now):
    items = {i.code: i for i in plan.items.all()}
    for code, values in changes.new_items:
        items[code] = PlanItem.objects.create(plan=plan, code=code, **values)
    for item, values in changes.item_updates:
        for key, value in values.items():
            setattr(item, key, value)
        item.removed_at = None
        item.save()
    for item in changes.removed_items:
        item.removed_at = now
        item.save(update_fields=["removed_at"])
    return items


def _apply(plan, changes, version, now):
    items = _apply_items(plan, changes, now)
    ScheduledLab.objects.bulk_create(
        ScheduledLab(
            item=items[code],
            journey_id=plan.journey_id,
            sequence=occ.sequence,
            day_offset=occ.day_offset,
            month_offset=occ.month_offset,
            due_on=occ.due_on,
            window_start=occ.window_start,
            window_end=occ.window_end,
            version=version,
        )
        for code, occ in changes.new_rows
    )
    for row, due, start, end in changes.moved_rows:
        row.due_on, row.window_start, row.window_end, row.version = due, start, end, version
        row.save(update_fields=["due_on", "window_start", "window_end", "version"])
    for row in changes.cancelled_rows:
        row.cancelled_at, row.cancel_reason = now, version.reason
        row.save(update_fields=["cancelled_at", "cancel_reason"])


def _send_plan_changed(plan, version):
    transaction.on_commit(
        lambda: signals.plan_changed.send(sender=MonitoringPlan, plan=plan, version=version)
    )


def generate_plan(journey, *, by=None, reason="", now=None):
    """Create or bring up to date the journey's plan from its therapy's schedule and day 0.

    Only open rows (not done, missed or cancelled) move. Idempotent: returns the new
    PlanVersion, or None when there was nothing to change (or no therapy / infusion date).
    """
    now = now or timezone.now()
    with transaction.atomic():
        # The journey row lock serialises generations of one plan.
        journey = (
            Journey.objects.select_for_update(of=("self",))
            .select_related("therapy", "center")
            .get(pk=journey.pk)
        )
        if journey.therapy_id is None or journey.infusion_date is None:
            return None
        plan, created = MonitoringPlan.objects.get_or_create(
            journey=journey, defaults={"therapy": journey.therapy, "created_at": now}
        )
        changes = _plan_changes(plan, journey)
        if not (created or changes):
            return None
        if plan.therapy_id != journey.therapy_id:
            plan.therapy = journey.therapy
            plan.save(update_fields=["therapy"])
        reason = (reason or "").strip() or _("Plan drawn from the therapy's label schedule")
        version = _new_version(plan, journey.infusion_date, by, now, reason, changes.summary())
        _apply(plan, changes, version, now)
        _send_plan_changed(plan, version)
    return version


def on_schedule_changed(sender, journey, change=None, **kwargs):
    """journey.signals.schedule_changed receiver: the infusion date was set or moved."""
    by = change.changed_by if change else None
    reason = change.reason if change else ""
    generate_plan(journey, by=by, reason=reason)


# ---------------------------------------------------------------- editing a plan


def _locked_open_lab(lab):
    locked = ScheduledLab.objects.select_for_update().select_related("item__plan").get(pk=lab.pk)
    if not locked.is_open:
        raise ValidationError(_("This lab is already done, missed or cancelled."))
    return locked


def reschedule_lab(lab, new_due_on, *, by, reason, now=None):
    """Move one open lab by hand; its window keeps its width. Records a plan version."""
    reason = _require(reason)
    now = now or timezone.now()
    with transaction.atomic():
        lab = _locked_open_lab(lab)
        plan = lab.item.plan
        day0 = plan.journey.infusion_date
        lab.day_offset, lab.month_offset = (new_due_on - day0).days, None
        lab.due_on, lab.window_start, lab.window_end = _kept_offset_dates(lab, day0)
        summary = {"moved": 1, "lab": str(lab.public_id), "to": new_due_on.isoformat()}
        version = _new_version(plan, day0, by, now, reason, summary)
        lab.moved_by_hand, lab.version = True, version
        lab.save()
        _send_plan_changed(plan, version)
    return version


def mark_missed(lab, *, by, reason, now=None):
    """The coordinator closes a lab that will not happen; it stays in the plan as missed."""
    reason = _require(reason)
    with transaction.atomic():
        lab = _locked_open_lab(lab)
        lab.missed_at, lab.missed_by, lab.missed_reason = now or timezone.now(), by, reason
        lab.save(update_fields=["missed_at", "missed_by", "missed_reason"])
    return lab


def complete_visit(lab, *, by, now=None):
    """Mark a visit or checkpoint done (lab draws are done by their results)."""
    with transaction.atomic():
        lab = _locked_open_lab(lab)
        lab.done_at, lab.done_by = now or timezone.now(), by
        lab.save(update_fields=["done_at", "done_by"])
    return lab


def close_extension(item, *, by, reason, now=None):
    """The coordinator ends an extended item; its open extra draws are cancelled."""
    reason = _require(reason)
    now = now or timezone.now()
    with transaction.atomic():
        item = PlanItem.objects.select_for_update().get(pk=item.pk)
        _end_extension(item, by, reason, now)
        item.scheduled.open().filter(extension=True).update(cancelled_at=now, cancel_reason=reason)
    return item


def _end_extension(item, by, reason, now):
    item.extension_ended_at, item.extension_ended_by = now, by
    item.extension_end_reason = reason
    item.save(update_fields=["extension_ended_at", "extension_ended_by", "extension_end_reason"])


# ---------------------------------------------------------------- results

THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")


def parse_value(test, raw, unit):
    """Check one typed result; return (value as entered, canonical value) or raise by field."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        raise ValidationError({"value": _("Enter a value.")})
    if THOUSANDS.match(text):
        raise ValidationError({"value": _("Write the number without commas, for example 150000.")})
    try:
        number = Decimal(text.replace(",", "."))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValidationError({"value": _("Enter a number, for example 42 or 1.5.")})
    if number < 0:
        raise ValidationError({"value": _("A result cannot be negative.")})
    units = {u.unit: u for u in test.units.all()}
    if unit not in units:
        message = _("Choose one of the units for %(test)s: %(units)s.") % {
            "test": test.code,
            "units": ", ".join(units),
        }
        raise ValidationError({"unit": message})
    canonical = flags.to_canonical(number, units[unit].multiply, units[unit].divide)
    if canonical > test.plausible_max:
        raise ValidationError(
            {
                "value": _(
                    "%(value)s %(unit)s is not a possible %(test)s result: check the value "
                    "and the unit."
                )
                % {"value": text, "unit": unit, "test": test.code}
            }
        )
    return number, canonical


class _ResultContext:
    """What every result of one collection shares: the child's age and sex, baselines, draws."""

    def __init__(self, journey, collected_at):
        self.journey = journey
        zone = zoneinfo.ZoneInfo(journey.center.time_zone)
        self.day = timezone.localtime(collected_at, zone).date()
        patient = journey.patient
        self.age_months = flags.age_in_months(patient.date_of_birth, self.day)
        self.sex = patient.sex if patient.sex in ("male", "female") else ""
        self.tests = {t.code: t for t in LabTest.objects.prefetch_related("units", "ranges")}
        self.baselines = self._baselines()
        self.open_labs = list(
            journey.scheduled_labs.open()
            .filter(window_start__lte=self.day, window_end__gte=self.day, item__kind=ItemKind.LAB)
            .select_related("item")
            .prefetch_related("results")
        )

    def _baselines(self):
        """The latest current result of each test collected before day 0."""
        day0 = self.journey.infusion_date
        if day0 is None:
            return {}
        rows = (
            LabResult.objects.current()
            .filter(journey=self.journey, collected_at__date__lt=day0)
            .order_by("collected_at")
            .values_list("test__code", "value")
        )
        return dict(rows)

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
            and not any(r.test.code == code and r.superseded_at is None for r in lab.results.all())
        ]
        candidates.sort(key=lambda lab: abs((lab.due_on - self.day).days))
        return candidates[0] if candidates else None


def _result_fields(ctx, test, canonical):
    limits = ctx.limits(test)
    high = limits.high if limits else None
    baseline = ctx.baselines.get(test.code)
    return {
        "value": canonical,
        "unit": test.unit,
        "flag": flags.compute_flag(canonical, limits, test.critical_high_x_uln),
        "x_uln": flags.x_uln(canonical, high) if test.shows_x_uln else None,
        "at_2x_uln": flags.at_2x_uln(test.code, canonical, high),
        "at_1_5x_baseline": flags.at_1_5x_baseline(test.code, canonical, baseline),
        "baseline_value": baseline,
        "range_low": limits.low if limits else None,
        "range_high": high,
        "range_critical_low": limits.critical_low if limits else None,
        "range_critical_high": (
            flags.critical_high_limit(limits, test.critical_high_x_uln) if limits else None
        ),
        "range_unit": test.unit if limits else "",
        "range_source": limits.source if limits else "",
    }


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


def _check_collected_at(collected_at, now):
    if timezone.is_naive(collected_at):
        raise ValueError("collected_at must be an aware datetime")
    if collected_at > now + timedelta(minutes=5):
        raise ValidationError({"collected_at": _("The collection time cannot be in the future.")})


def record_results(journey, collected_at, rows, *, by, now=None):
    """Record one collection's results: convert, flag, link to the matching draw, complete it.

    rows: [(test code, value as typed, unit as typed)]. Raises ValidationError keyed by test
    code when any row is bad (nothing is saved then). Returns the new LabResult rows.
    """
    now = now or timezone.now()
    _check_collected_at(collected_at, now)
    journey = Journey.objects.select_related("center", "patient").get(pk=journey.pk)
    with transaction.atomic():
        Journey.objects.select_for_update().filter(pk=journey.pk).first()
        ctx = _ResultContext(journey, collected_at)
        results = []
        for test, raw, unit, canonical in _parse_rows(ctx.tests, rows):
            lab = ctx.match_lab(test.code)
            results.append(
                LabResult.objects.create(
                    journey=journey,
                    test=test,
                    scheduled_lab=lab,
                    value_entered=str(raw).strip(),
                    unit_entered=unit,
                    collected_at=collected_at,
                    entered_by=by,
                    entered_at=now,
                    **_result_fields(ctx, test, canonical),
                )
            )
        _after_results(journey, results, by, now)
    return results


def _after_results(journey, results, by, now):
    labs = {r.scheduled_lab_id for r in results if r.scheduled_lab_id}
    _complete_draws(labs, by)
    items = PlanItem.objects.filter(scheduled__in=labs).distinct()
    for item in items:
        _apply_exit_rule(item, labs, by, now)
    ids = [r.pk for r in results]
    critical = [r.pk for r in results if r.flag in CRITICAL_FLAGS]
    transaction.on_commit(
        lambda: signals.results_recorded.send(
            sender=LabResult, journey=journey, result_ids=ids, critical_ids=critical
        )
    )


def _complete_draws(lab_ids, by):
    """A draw is done once every test of its item has a current result."""
    labs = ScheduledLab.objects.filter(pk__in=lab_ids).select_related("item")
    for lab in labs.prefetch_related("results__test"):
        current = [r for r in lab.results.all() if r.superseded_at is None]
        if set(lab.item.tests) <= {r.test.code for r in current}:
            lab.done_at = max(r.collected_at for r in current)
            lab.done_by = by
            lab.save(update_fields=["done_at", "done_by"])


def correct_result(result, raw, unit, *, by, reason, now=None):
    """Correct a result with a new row that supersedes it; the old row is kept."""
    reason = _require(reason)
    now = now or timezone.now()
    with transaction.atomic():
        old = LabResult.objects.select_for_update().select_related("test").get(pk=result.pk)
        if old.superseded_at:
            raise ValidationError(_("This result was already corrected: correct the newer one."))
        journey = Journey.objects.select_related("center", "patient").get(pk=old.journey_id)
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
            test=test,
            scheduled_lab_id=old.scheduled_lab_id,
            value_entered=str(raw).strip(),
            unit_entered=unit,
            collected_at=old.collected_at,
            entered_by=by,
            entered_at=now,
            supersedes=old,
            correction_reason=reason,
            **_result_fields(ctx, test, canonical),
        )
        _after_results(journey, [new], by, now)
    return new


def review_result(result, *, by, note, now=None):
    """The coordinator has seen an abnormal result: who, when and what they noted."""
    note = _require(note, "review_note")
    updated = LabResult.objects.filter(pk=result.pk, reviewed_at__isnull=True).update(
        reviewed_by=by, reviewed_at=now or timezone.now(), review_note=note
    )
    if updated != 1:
        raise ValidationError(_("This result has already been reviewed."))
    result.refresh_from_db()
    return result


# ---------------------------------------------------------------- exit rules


def _rule_inputs(lab):
    return {
        r.test.code: flags.RuleInput(r.value, r.range_high, r.flag, r.baseline_value)
        for r in lab.results.all()
        if r.superseded_at is None
    }


def _apply_exit_rule(item, touched_lab_ids, by, now):
    """Extend the item by one draw while its last draw is abnormal; end when back in rule."""
    rule = item.continue_until_normal
    if not rule or item.extension_ended_at:
        return
    last = (
        item.scheduled.filter(cancelled_at__isnull=True)
        .order_by("-sequence")
        .prefetch_related("results__test")
        .first()
    )
    if last is None or last.pk not in touched_lab_ids:
        return
    verdict = flags.rule_verdict(rule, _rule_inputs(last))
    if verdict:
        _extend(item, last, by, now)
    elif verdict is False and item.extended_at:
        _end_extension(item, by, _("Back within the rule"), now)


def _extend(item, last, by, now):
    if item.scheduled.filter(sequence=last.sequence + 1).exists():
        return
    days, months, window = schedule.extension_step({"segments": item.segments})
    day_offset = last.day_offset + days if days is not None else None
    month_offset = last.month_offset + months if months is not None else None
    plan = MonitoringPlan.objects.select_related("journey").get(pk=item.plan_id)
    day0 = plan.journey.infusion_date
    due = schedule.date_for(day0, day_offset, month_offset)
    reason = _("%(item)s extended: the result of %(date)s is outside the rule") % {
        "item": item.title,
        "date": last.due_on.isoformat(),
    }
    version = _new_version(plan, day0, by, now, reason, {"added": 1, "extended": item.code})
    row = ScheduledLab.objects.create(
        item=item,
        journey_id=plan.journey_id,
        sequence=last.sequence + 1,
        day_offset=day_offset,
        month_offset=month_offset,
        due_on=due,
        window_start=due - timedelta(days=window),
        window_end=due + timedelta(days=window),
        extension=True,
        version=version,
    )
    if item.extended_at is None:
        item.extended_at = now
        item.save(update_fields=["extended_at"])
    result_ids = [r.pk for r in last.results.all()]
    transaction.on_commit(
        lambda: signals.plan_extended.send(
            sender=PlanItem, item=item, scheduled_lab=row, result_ids=result_ids
        )
    )
    _send_plan_changed(plan, version)


# ---------------------------------------------------------------- worklist queries


def _open_journeys(queryset, user, path="journey"):
    scoped = scope_to_centers(queryset, user, f"{path}__center")
    return scoped.filter(**{f"{path}__stage__in": OPEN_STAGES})


def overdue_labs(user, today=None):
    """Open labs whose window has closed, oldest first (worklist; reminders may reuse)."""
    today = today or timezone.localdate()
    labs = ScheduledLab.objects.overdue(today).with_status(today)
    return (
        _open_journeys(labs, user)
        .select_related("item", "journey__patient")
        .order_by("window_end", "pk")
    )


def labs_due_soon(user, today=None, days=7):
    """Open labs due from today to `days` ahead."""
    today = today or timezone.localdate()
    labs = ScheduledLab.objects.due_between(today, today + timedelta(days=days)).with_status(today)
    return (
        _open_journeys(labs, user)
        .select_related("item", "journey__patient")
        .order_by("due_on", "pk")
    )


def results_awaiting_review(user):
    results = LabResult.objects.awaiting_review()
    return (
        _open_journeys(results, user)
        .select_related("test", "journey__patient")
        .order_by("collected_at", "pk")
    )


def open_extensions(user):
    items = PlanItem.objects.filter(extended_at__isnull=False, extension_ended_at__isnull=True)
    return (
        _open_journeys(items, user, "plan__journey")
        .select_related("plan__journey__patient")
        .order_by("extended_at", "pk")
    )
