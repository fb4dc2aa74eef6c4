"""Exit rules ("continue until normal"): judged on the deciding draw of a plan item after
results are recorded, corrected or withdrawn; the series extended, ended or reopened."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from .. import flags, schedule, signals
from ..models import LabResult, MonitoringPlan, PlanItem, ScheduledLab
from .plans import _end_extension, _new_version, _send_plan_changed


def _rule_inputs(lab):
    return {
        r.test.code: flags.RuleInput(r.value, r.range_high, r.flag, r.baseline_value)
        for r in lab.results.all()
    }


def _draws_newest_first():
    rows = ScheduledLab.objects.filter(cancelled_at__isnull=True).order_by("-sequence")
    counting = LabResult.objects.counting().select_related("test")
    return rows.prefetch_related(Prefetch("results", queryset=counting))


def judged_items(lab_ids):
    """The plan items of these draws, each with its draws newest first (three queries)."""
    items = PlanItem.objects.filter(scheduled__in=lab_ids).distinct()
    draws = Prefetch("scheduled", queryset=_draws_newest_first(), to_attr="newest_first")
    return items.prefetch_related(draws)


def _deciding_draw(item):
    """The draw the exit rule reads: the latest with a current result, from the planned last
    draw on (results of earlier draws never extend). None while the planned last has none."""
    rows = getattr(item, "newest_first", None)
    if rows is None:
        rows = _draws_newest_first().filter(item=item)
    for row in rows:
        if row.results.all():
            return row
        if not row.extension:
            return None
    return None


def _apply_exit_rule(item, touched_lab_ids, by, now):
    """Judge the whole rule on the deciding draw: extend by one draw while any part is unmet,
    end when every test of every part is within, wait while a test is missing. The item keeps
    which tests hold it open (held_open_by)."""
    rule = flags.normalize_exit_rule(item.continue_until_normal)
    if not rule or item.extension_closed_by_hand:
        return
    draw = _deciding_draw(item)
    if draw is None or draw.pk not in touched_lab_ids:
        return
    verdict = flags.judge(rule, _rule_inputs(draw))
    if item.extension_ended_at and not verdict.abnormal:
        return  # the rule ended it and still holds
    changed = ["held_open_by"] if verdict.holds != item.held_open_by else []
    item.held_open_by = verdict.holds
    if verdict.abnormal is False and item.extended_at:
        _end_by_rule(item, draw, verdict.no_baseline, by, now)
        return
    if verdict.abnormal:
        changed += _reopen(item) + _extend(item, draw, by, now)
    if changed:
        item.save(update_fields=changed)


def _reopen(item):
    """A corrected result is abnormal again after the rule had ended the series: it goes on
    (only a coordinator's close_extension is final). Returns the fields to save."""
    if item.extension_ended_at is None:
        return []
    item.extension_ended_at, item.extension_ended_by, item.extension_end_reason = None, None, ""
    return ["extension_ended_at", "extension_ended_by", "extension_end_reason"]


def _end_by_rule(item, draw, no_baseline, by, now):
    """Back within the rule: the extension ends, and extra draws after this one (added on a
    result since corrected) are cancelled."""
    reason = _("Back within the rule")
    if no_baseline:
        reason = _(
            "Back within the rule (no baseline recorded for %(tests)s: the normal range was used)"
        ) % {"tests": ", ".join(no_baseline)}
    later = item.scheduled.open().filter(extension=True, sequence__gt=draw.sequence)
    later.update(cancelled_at=now, cancel_reason=reason)
    _end_extension(item, by, reason, now)


def _extend(item, last, by, now):
    """Add the draw after `last`; returns the item's fields to save (its extension start)."""
    plan = MonitoringPlan.objects.select_related("journey").get(pk=item.plan_id)
    if not plan.journey.is_open or item.scheduled.filter(sequence=last.sequence + 1).exists():
        return []  # an ended journey gets no more draws
    days, months, window = schedule.extension_step({"segments": item.segments})
    day_offset = last.day_offset + days if days is not None else None
    month_offset = last.month_offset + months if months is not None else None
    day0 = plan.journey.infusion_date
    due = schedule.date_for(day0, day_offset, month_offset)
    reason = _("%(item)s extended: the result of %(date)s is outside the rule (%(tests)s)") % {
        "item": item.title,
        "date": last.due_on.isoformat(),
        "tests": item.held_open_text,
    }
    version = _new_version(plan, day0, by, now, reason, {"added": 1, "extended": item.code})
    row = ScheduledLab.objects.create(
        item=item,
        journey_id=plan.journey_id,
        center_id=plan.journey.center_id,
        sequence=last.sequence + 1,
        day_offset=day_offset,
        month_offset=month_offset,
        due_on=due,
        window_start=due - timedelta(days=window),
        window_end=due + timedelta(days=window),
        extension=True,
        version=version,
    )
    result_ids = [r.pk for r in last.results.all()]
    transaction.on_commit(
        lambda: signals.plan_extended.send(
            sender=PlanItem, item=item, scheduled_lab=row, result_ids=result_ids
        )
    )
    _send_plan_changed(plan, version)
    if item.extended_at is None:
        item.extended_at = now
        return ["extended_at"]
    return []
