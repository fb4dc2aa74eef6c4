"""Plans: generate from the label schedule, reschedule, miss, complete, close extensions."""

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from hashlib import blake2b

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journey.inputs import require_reason
from journey.models import Journey

from .. import schedule, signals
from ..models import ItemKind, MonitoringPlan, PlanItem, PlanVersion, ScheduledLab
from ..models_review import PlanReview, ReviewStatus

log = logging.getLogger(__name__)


def schedule_digest(items, ltfu_years):
    """32 hex digits that change when the label's schedule or its follow-up years change."""
    text = json.dumps([items or [], ltfu_years or 0], sort_keys=True, separators=(",", ":"))
    return blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Label:
    """The label schedule a plan is drawn from: the items, the follow-up years, its date."""

    schedule: list
    ltfu_years: int
    as_of: date

    @classmethod
    def of_therapy(cls, therapy):
        return cls(list(therapy.monitoring_schedule or []), therapy.ltfu_years, therapy.label_as_of)

    @classmethod
    def of_plan(cls, plan):
        return cls(plan.schedule, plan.ltfu_years, plan.label_as_of)

    @property
    def digest(self):
        return schedule_digest(self.schedule, self.ltfu_years)

    def plan_fields(self):
        """The MonitoringPlan fields that copy this label."""
        return {
            "schedule": self.schedule,
            "ltfu_years": self.ltfu_years,
            "label_as_of": self.as_of,
            "schedule_digest": self.digest,
        }

    def items(self):
        """The label's items plus its long-term follow-up visits, as item dicts."""
        items = list(self.schedule)
        if self.ltfu_years:
            items.append(schedule.ltfu_item(self.ltfu_years, _("Yearly follow-up visit")))
        return items


def schedule_items(therapy):
    """The therapy's label schedule plus its long-term follow-up visits, as item dicts."""
    return Label.of_therapy(therapy).items()


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


def _plan_changes(plan, journey, label):
    """What drawing `label` on this plan would do (reads only; _apply writes it)."""
    day0, window = journey.infusion_date, journey.center.baseline_window_days
    existing = {i.code: i for i in plan.items.prefetch_related("scheduled")}
    changes = _Changes()
    for position, data in enumerate(label.items()):
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


def _apply(plan, journey, changes, version, now):
    items = _apply_items(plan, changes, now)
    ScheduledLab.objects.bulk_create(
        ScheduledLab(
            item=items[code],
            journey_id=journey.pk,
            center_id=journey.center_id,
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


def _label_to_draw(plan, journey, label):
    """The one place that decides which label a plan is drawn from: the label given (a label
    review applied), the therapy's own when the plan is new or the journey changed therapy,
    else the plan's own copy. A label edit reaches an existing plan no other way."""
    if label is not None:
        return label
    if plan.therapy_id != journey.therapy_id:
        return Label.of_therapy(journey.therapy)
    return Label.of_plan(plan)


def _take_label(plan, journey, label):
    """Copy the label drawn (and the journey's therapy) onto the plan, if they differ."""
    fields = {"therapy_id": journey.therapy_id, **label.plan_fields()}
    changed = [name for name, value in fields.items() if getattr(plan, name) != value]
    for name in changed:
        setattr(plan, name, fields[name])
    if changed:
        plan.save(update_fields=[name.removesuffix("_id") for name in changed])


def _switch_therapy(plan, journey, label, now):
    """The journey moved to another therapy: the new label is drawn at once, so a review of
    the old therapy's label can no longer be applied; a pending one is closed, recorded."""
    if label is not None:
        raise ValidationError(_("The child's therapy changed since: keep the current plan."))
    pending = PlanReview.objects.filter(plan=plan, status=ReviewStatus.PENDING)
    for review in pending.exclude(therapy_id=journey.therapy_id):
        review.status, review.decided_at = ReviewStatus.KEPT, now
        review.reason = _("The child's therapy changed: this label no longer applies.")
        review.save()


def generate_plan(journey, *, by=None, reason="", now=None, label=None):
    """Create or bring up to date the journey's plan from its label schedule and day 0.

    A new plan copies the therapy's label; an existing one is drawn from its own copy, or
    from `label` (a Label) when a label review is applied; after a therapy change, from the
    new therapy's label. Only open rows (not done, missed or cancelled) move. Idempotent:
    returns the new PlanVersion, or None when there was nothing to change (or no therapy /
    infusion date, or the journey has ended).
    """
    now = now or timezone.now()
    with transaction.atomic():
        # The journey row lock serialises generations of one plan.
        journey = (
            Journey.objects.select_for_update(of=("self",))
            .select_related("therapy", "center")
            .get(pk=journey.pk)
        )
        if journey.therapy_id is None or journey.infusion_date is None or not journey.is_open:
            return None  # an ended journey's plan is not drawn again (a retry after its end)
        defaults = {"therapy": journey.therapy, "created_at": now}
        defaults.update(Label.of_therapy(journey.therapy).plan_fields())
        plan, created = MonitoringPlan.objects.get_or_create(journey=journey, defaults=defaults)
        if plan.therapy_id != journey.therapy_id:
            _switch_therapy(plan, journey, label, now)
        label = _label_to_draw(plan, journey, label)
        changes = _plan_changes(plan, journey, label)
        _take_label(plan, journey, label)
        if not (created or changes):
            return None
        reason = (reason or "").strip() or _("Plan drawn from the therapy's label schedule")
        version = _new_version(plan, journey.infusion_date, by, now, reason, changes.summary())
        _apply(plan, journey, changes, version, now)
        _send_plan_changed(plan, version)
    return version


def on_schedule_changed(sender, journey, change=None, **kwargs):
    """journey.signals.schedule_changed receiver: the infusion date was set or moved."""
    by = change.changed_by if change else None
    reason = change.reason if change else ""
    draw_or_retry(journey, by=by, reason=reason)


def on_therapy_changed(sender, journey, by=None, **kwargs):
    """journey.signals.therapy_changed receiver: drawn from the new therapy's label at once."""
    reason = _("Therapy changed to %(name)s") % {"name": journey.therapy.name}
    draw_or_retry(journey, by=by, reason=reason)


def draw_or_retry(journey, *, by=None, reason=""):
    """generate_plan for a receiver (after commit): a failed draw never fails the request
    that sent the signal. It is logged and tracker.tasks.redraw_plan draws again with
    backoff; what that cannot fix, the hourly drift check repairs (services/drift.py)."""
    try:
        return generate_plan(journey, by=by, reason=reason)
    except Exception:
        log.exception("Plan draw failed for journey %s; a task will retry it", journey.pk)
    from ..tasks import redraw_plan  # the tasks module imports the services

    try:
        redraw_plan.delay(journey.pk, by_id=by.pk if by else None, reason=reason)
    except Exception:
        log.exception("Could not queue the redraw of journey %s; the drift check will", journey.pk)
    return None


# ---------------------------------------------------------------- editing a plan


def _locked_open_lab(lab):
    locked = ScheduledLab.objects.select_for_update().select_related("item__plan").get(pk=lab.pk)
    if not locked.is_open:
        raise ValidationError(_("This lab is already done, missed or cancelled."))
    return locked


def reschedule_lab(lab, new_due_on, *, by, reason, now=None):
    """Move one open lab by hand; its window keeps its width. Records a plan version."""
    reason = require_reason(reason)
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
    reason = require_reason(reason)
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
    reason = require_reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        item = PlanItem.objects.select_for_update().get(pk=item.pk)
        _end_extension(item, by, reason, now, by_hand=True)
        item.scheduled.open().filter(extension=True).update(cancelled_at=now, cancel_reason=reason)
    return item


def _end_extension(item, by, reason, now, by_hand=False):
    item.extension_ended_at, item.extension_ended_by = now, by
    item.extension_end_reason, item.held_open_by = reason, []
    item.extension_closed_by_hand = by_hand
    fields = ["extension_ended_at", "extension_ended_by", "extension_end_reason", "held_open_by"]
    fields.append("extension_closed_by_hand")
    item.save(update_fields=fields)
