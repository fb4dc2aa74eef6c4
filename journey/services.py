"""Journey use cases: open a journey, pick a therapy, keep the checklist, move stages.

These functions are the only way a journey's stage or infusion date changes; each change
leaves an append-only row (StageChange, InfusionDateChange) and, after commit, a signal that
the tracker and notifications apps listen to.
"""

import zoneinfo
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import ages, coverage, signals, verdicts
from .inputs import require_reason
from .models import (
    EXIT_STAGES,
    STAGE_ORDER,
    CenterCriterionSetting,
    ChecklistStep,
    CriterionOrigin,
    EligibilityCheck,
    InfusionDateChange,
    Journey,
    Stage,
    StageChange,
    StepTemplate,
    Verdict,
)

INFUSION_DATE_STEP = "infusion-date-set"
# Stages from which on the plan needs day 0; before them the infusion is only planned.
NEEDS_INFUSION_DATE = set(STAGE_ORDER[STAGE_ORDER.index(Stage.INFUSION) :])
BEFORE_INFUSION = set(STAGE_ORDER[: STAGE_ORDER.index(Stage.INFUSION)])
INFUSION_YEARS_AHEAD = 2


def _check_therapy_open(therapy):
    if therapy is not None and not therapy.accepts_new_journeys:
        raise ValidationError(
            {
                "therapy": _("%(name)s is %(status)s: no new journeys can start with it.")
                % {"name": therapy.name, "status": therapy.get_market_status_display().lower()}
            }
        )


@transaction.atomic
@transaction.atomic
def open_journey(patient, *, by, therapy=None, reason="", now=None):
    """Start a child's journey at "diagnosis confirmed"; at most one may be open.

    One transaction: the journey, its first stage change and its checklist commit together
    (the portal's cache is told once, after all three)."""
    _check_therapy_open(therapy)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            journey = Journey.objects.create(
                patient=patient,
                center_id=patient.center_id,
                therapy=therapy,
                stage=Stage.DIAGNOSIS_CONFIRMED,
                stage_entered_at=now,
            )
    except IntegrityError as exc:
        raise ValidationError(_("This child already has an open journey.")) from exc
    StageChange.objects.create(
        journey=journey,
        from_stage="",
        to_stage=Stage.DIAGNOSIS_CONFIRMED,
        moved_by=by,
        moved_at=now,
        reason=(reason or "").strip() or _("Journey opened"),
    )
    ensure_checklist(journey, today=timezone.localdate(now))
    return journey


@transaction.atomic
def choose_therapy(journey, therapy, *, by):
    """Pick (or change) the journey's therapy and lay out its checklist.

    After commit, therapy_changed tells the tracker, which draws the plan from the new
    therapy's label (when day 0 is set)."""
    if journey.therapy_id == therapy.pk:
        return journey
    _check_therapy_open(therapy)
    if not journey.is_open:
        raise ValidationError({"therapy": _("This journey has ended.")})
    old_therapy_id = journey.therapy_id
    journey.therapy = therapy
    journey.save(update_fields=["therapy"])
    ensure_checklist(journey)
    transaction.on_commit(
        lambda: signals.therapy_changed.send(
            sender=Journey, journey=journey, old_therapy_id=old_therapy_id, by=by
        )
    )
    return journey


def ensure_checklist(journey, today=None):
    """Create the steps the journey's therapy needs; drop undone ones that no longer apply.

    Idempotent: the unique (journey, code) constraint makes a second run change nothing.
    """
    today = today or timezone.localdate()
    templates = StepTemplate.objects.prefetch_related("therapies")
    wanted = {
        t.code: t
        for t in templates
        if t.applies_to(journey.therapy, {th.pk for th in t.therapies.all()})
    }
    journey.steps.filter(done_on__isnull=True, template__isnull=False).exclude(
        code__in=wanted
    ).delete()
    steps = [
        ChecklistStep(
            journey=journey,
            template=t,
            code=t.code,
            stage=t.stage,
            title=t.title,
            responsible=t.responsible,
            required=t.required,
            position=t.position,
            due_on=today + timedelta(days=t.due_after_days) if t.stage == journey.stage else None,
        )
        for t in wanted.values()
    ]
    ChecklistStep.objects.bulk_create(steps, ignore_conflicts=True)


def missing_required_steps(journey, to_stage):
    """Required, undone steps of the current stage and every stage a forward move skips."""
    start = STAGE_ORDER.index(journey.stage)
    end = STAGE_ORDER.index(to_stage)
    stages = STAGE_ORDER[start:end]
    return list(
        journey.steps.filter(stage__in=stages, required=True, done_on__isnull=True).order_by(
            "position"
        )
    )


def allowed_stages(journey):
    """The stages a coordinator may move the journey to now, the usual next one first: the
    stages ahead that nothing hard blocks (a therapy; day 0 from the infusion on; unfinished
    required steps only ask for a reason), then back to an earlier stage, then the exits
    that fit where it stands."""
    if not journey.is_open:
        return []
    here = STAGE_ORDER.index(journey.stage)
    ahead = [stage for stage in STAGE_ORDER[here + 1 :] if _can_reach(journey, stage)]
    back = list(reversed(STAGE_ORDER[:here]))
    return [*ahead, *back, *_exits(journey.stage)]


def _exits(stage):
    """Withdrawn at any time; "not eligible" only before the infusion; "closed" (follow-up
    completed) only from long-term follow-up."""
    exits = [Stage.WITHDRAWN]
    if stage in BEFORE_INFUSION:
        exits.append(Stage.NOT_ELIGIBLE)
    if stage == Stage.FOLLOW_UP:
        exits.append(Stage.CLOSED)
    return exits


def next_stage(journey):
    """The stage that usually comes next, when the journey may move there now (else None)."""
    here = STAGE_ORDER.index(journey.stage) if journey.is_open else len(STAGE_ORDER)
    following = STAGE_ORDER[here + 1 : here + 2]
    return following[0] if following and _can_reach(journey, following[0]) else None


def why_no_next_stage(journey):
    """Why the usual next stage is not offered now, in the coordinator's words ("" if it is)."""
    if not journey.is_open or next_stage(journey) is not None:
        return ""
    here = STAGE_ORDER.index(journey.stage)
    if here + 1 >= len(STAGE_ORDER):
        return ""
    if journey.therapy_id is None:
        return _("Choose a therapy first to move the journey forward.")
    return _("Set the infusion date first to move on to %(stage)s.") % {
        "stage": Stage(STAGE_ORDER[here + 1]).label
    }


def _can_reach(journey, stage):
    if journey.therapy_id is None:
        return False
    return stage not in NEEDS_INFUSION_DATE or journey.infusion_date is not None


def _validate_move(journey, to_stage, override_reason):
    """Return the details to record with the move, or raise a ValidationError by field."""
    if not journey.is_open:
        raise ValidationError(
            {"to_stage": _("This journey has ended; open a new one to continue.")}
        )
    if to_stage == journey.stage:
        raise ValidationError({"to_stage": _("The journey is already at this stage.")})
    if to_stage not in Stage.values:
        raise ValidationError({"to_stage": _("Unknown stage.")})
    if to_stage == Stage.NOT_ELIGIBLE:
        return _not_eligible_details(journey, override_reason)
    if to_stage in EXIT_STAGES or STAGE_ORDER.index(to_stage) < STAGE_ORDER.index(journey.stage):
        return {}
    return _forward_details(journey, to_stage, override_reason)


def _forward_details(journey, to_stage, override_reason):
    if journey.therapy_id is None:
        raise ValidationError({"to_stage": _("Choose a therapy before moving on.")})
    if to_stage in NEEDS_INFUSION_DATE and journey.infusion_date is None:
        raise ValidationError({"to_stage": _("Set the infusion date first.")})
    missing = missing_required_steps(journey, to_stage)
    if missing and not override_reason:
        raise ValidationError(
            {
                "override_reason": _(
                    "These required steps are not done: %(steps)s. Finish them, or give a "
                    "reason to move on anyway."
                )
                % {"steps": "; ".join(s.title for s in missing)}
            }
        )
    return {"skipped_steps": [s.code for s in missing]} if missing else {}


def _not_eligible_details(journey, override_reason):
    check = journey.eligibility_checks.order_by("-run_at").first()
    if check and check.verdict == Verdict.NOT_ELIGIBLE:
        failing = [
            r
            for r in check.results
            if r["status"] == "not_met" and verdicts.origin_of(r) == CriterionOrigin.LABEL
        ]
        return {"eligibility_check": str(check.public_id), "failing_criteria": failing}
    if not override_reason:
        raise ValidationError(
            {
                "override_reason": _(
                    "The latest eligibility check does not say 'not eligible'. Run it, or give "
                    "the reason here."
                )
            }
        )
    return {}


def move_stage(journey, to_stage, *, by, reason, override_reason="", now=None):
    """Move a journey to another stage, validated and recorded; the only way a stage changes."""
    reason = require_reason(reason)
    override_reason = (override_reason or "").strip()
    now = now or timezone.now()
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        details = _validate_move(locked, to_stage, override_reason)
        today = center_today(locked, now)
        details |= coverage.infusion_cover_details(locked, to_stage, override_reason, today)
        change = StageChange.objects.create(
            journey=locked,
            from_stage=locked.stage,
            to_stage=to_stage,
            moved_by=by,
            moved_at=now,
            reason=reason,
            override_reason=override_reason,
            details=details,
        )
        locked.stage = to_stage
        locked.stage_entered_at = now
        locked.closed_at = now if to_stage in EXIT_STAGES else None
        locked.save(update_fields=["stage", "stage_entered_at", "closed_at"])
        _date_new_stage_steps(locked, timezone.localdate(now))
        if to_stage in EXIT_STAGES:
            signals.journey_ended.send(sender=Journey, journey=locked, change=change)
        transaction.on_commit(
            lambda: signals.stage_changed.send(sender=Journey, journey=locked, change=change)
        )
    journey.refresh_from_db()
    return change


def _date_new_stage_steps(journey, today):
    """Give the steps of the stage just entered their due dates."""
    steps = journey.steps.filter(stage=journey.stage, due_on__isnull=True).select_related(
        "template"
    )
    for step in steps:
        days = step.template.due_after_days if step.template else 14
        step.due_on = today + timedelta(days=days)
    ChecklistStep.objects.bulk_update(steps, ["due_on"])


def center_today(journey, now=None):
    """Today at the journey's center (its own time zone)."""
    zone = zoneinfo.ZoneInfo(journey.center.time_zone)
    return timezone.localdate(now or timezone.now(), timezone=zone)


def latest_infusion_date(today):
    """The latest infusion date accepted: two years ahead (a later one is a typo'd year)."""
    return ages.add_calendar_months(today, 12 * INFUSION_YEARS_AHEAD)


def past_infusion_question(journey, new_date, today):
    """The question to ask before saving a past day 0 on a journey whose infusion is only
    scheduled (before the "infusion" stage): did it happen? None when there is none to ask."""
    if new_date is None or new_date >= today or journey.stage not in BEFORE_INFUSION:
        return None
    return _(
        "%(date)s is in the past, but this journey is at “%(stage)s”. Did the infusion happen "
        "on %(date)s? Tick the box to confirm, or correct the date."
    ) % {"date": new_date.isoformat(), "stage": journey.get_stage_display()}


def check_infusion_date(journey, new_date, today):
    """A ValidationError on "infusion_date" for a day 0 refused outright: before the child's
    birth, or more than two years ahead."""
    if new_date is None:
        return
    if new_date < journey.patient.date_of_birth:
        raise ValidationError(
            {"infusion_date": _("The infusion date cannot be before the child's birth.")}
        )
    latest = latest_infusion_date(today)
    if new_date > latest:
        raise ValidationError(
            {
                "infusion_date": _(
                    "An infusion date more than two years ahead (after %(latest)s) is not "
                    "accepted: please check the year."
                )
                % {"latest": latest.isoformat()}
            }
        )


def set_infusion_date(journey, new_date, *, by, reason, now=None, uncovered_ok=True):
    """Set or move day 0. The tracker reschedules the plan when it hears schedule_changed.
    The coordinator's page passes `uncovered_ok` only when they ticked that no approval
    covers the new date (journey.coverage); the reason is kept with the change."""
    reason = require_reason(reason)
    now = now or timezone.now()
    check_infusion_date(journey, new_date, center_today(journey, now))
    coverage.check_infusion_date_cover(journey, new_date, uncovered_ok)
    if not journey.is_open:
        raise ValidationError({"infusion_date": _("This journey has ended.")})
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        if locked.infusion_date == new_date:
            return None
        change = InfusionDateChange.objects.create(
            journey=locked,
            old_date=locked.infusion_date,
            new_date=new_date,
            changed_by=by,
            changed_at=now,
            reason=reason,
        )
        locked.infusion_date = new_date
        locked.save(update_fields=["infusion_date"])
        if new_date is not None:
            locked.steps.filter(code=INFUSION_DATE_STEP, done_on__isnull=True).update(
                done_on=timezone.localdate(now), done_by=by
            )
        transaction.on_commit(
            lambda: signals.schedule_changed.send(sender=Journey, journey=locked, change=change)
        )
    journey.refresh_from_db()
    return change


def complete_step(step, *, by, on=None, note=""):
    """Mark a checklist step done, by whom and when."""
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationError({"done_on": _("A step cannot be done in the future.")})
    step.done_on, step.done_by = on, by
    if note:
        step.note = note
    step.save(update_fields=["done_on", "done_by", "note"])
    return step


def run_eligibility(journey, *, by, as_of=None, now=None):
    """Evaluate the therapy's criteria for this child and save the check with its inputs."""
    from .eligibility import evaluate

    if journey.therapy_id is None:
        raise ValidationError({"therapy": _("Choose a therapy first.")})
    now = now or timezone.now()
    as_of = as_of or timezone.localdate(now)
    outcome = evaluate(journey.patient, journey.therapy, as_of, center=journey.center_id)
    return EligibilityCheck.objects.create(
        journey=journey,
        therapy=journey.therapy,
        as_of=as_of,
        run_by=by,
        run_at=now,
        verdict=outcome.verdict,
        results=[r.as_dict() for r in outcome.results],
        inputs=outcome.inputs,
    )


@transaction.atomic
def set_center_policy(center, criterion, *, enabled, by, reason, now=None):
    """Turn one center-policy criterion on or off for a center, recording who, when and why.

    Only criteria of origin "center" can be switched; no setting means off. The audit trail
    keeps every change (before/after, actor, reason).
    """
    reason = require_reason(reason)
    if criterion.origin != CriterionOrigin.CENTER:
        raise ValidationError(
            {"criterion": _("Only center-policy criteria can be turned on or off by a center.")}
        )
    setting, _created = CenterCriterionSetting.objects.select_for_update().update_or_create(
        center=center,
        criterion=criterion,
        defaults={
            "enabled": bool(enabled),
            "changed_by": by,
            "changed_at": now or timezone.now(),
            "reason": reason,
        },
    )
    return setting
