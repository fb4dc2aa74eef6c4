"""Label changes: a therapy's new schedule waits in a PlanReview until the coordinator decides.

A plan is drawn from its own copy of the label (MonitoringPlan.schedule). When a therapy is
saved (the catalogue loader with --update, or an administrator in the admin) with a schedule
that differs from an open journey's copy, open_reviews() opens one pending PlanReview for that
plan, or refreshes the one already pending. The coordinator then applies it (a new plan
version drawn from the new label; done and missed rows untouched) or keeps the current plan
with a reason. Nothing the family sees changes before "apply".
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journey.inputs import require_reason
from journey.models import OPEN_STAGES, Journey

from .. import flags
from ..models import MonitoringPlan, PlanReview, ReviewStatus
from .plans import Label, _plan_changes, generate_plan

# ---------------------------------------------------------------- opening reviews


def on_therapy_saved(sender, instance, raw=False, **kwargs):
    """post_save receiver on journey.Therapy (loader and admin alike): open the reviews."""
    if not raw:
        open_reviews(instance)


def _plans_to_review(therapy, label):
    """Open journeys' plans of this therapy whose copy of the label differs from the label,
    except those whose coordinator already kept their plan against this very label (a review
    the system closed, because the label went back or the therapy changed, decided nothing)."""
    kept = PlanReview.objects.filter(
        status=ReviewStatus.KEPT, proposed_digest=label.digest, decided_by__isnull=False
    )
    return (
        MonitoringPlan.objects.filter(
            therapy=therapy, journey__therapy=therapy, journey__stage__in=OPEN_STAGES
        )
        .exclude(schedule_digest=label.digest)
        .exclude(pk__in=kept.values("plan_id"))
        .select_related("journey")
    )


def open_reviews(therapy, now=None):
    """One pending review per affected plan (a pending one is brought up to this label).

    Returns the number of plans waiting for a review of this label. Reviews still pending
    for plans that already match the label (it went back) are closed as kept.
    """
    now = now or timezone.now()
    label = Label.of_therapy(therapy)
    with transaction.atomic():
        plans = list(_plans_to_review(therapy, label))
        pending = PlanReview.objects.filter(status=ReviewStatus.PENDING, therapy=therapy)
        pending = pending.select_related("plan").select_for_update(of=("self",))
        by_plan = {r.plan_id: r for r in pending}
        for plan in plans:
            _propose(by_plan.pop(plan.pk, None), plan, therapy, label, now)
        _close_moot(by_plan.values(), label, now)
    return len(plans)


def _propose(review, plan, therapy, label, now):
    if review is None:
        review = PlanReview(plan=plan, journey=plan.journey, therapy=therapy, created_at=now)
    elif review.proposed_digest == label.digest:
        return
    review.label_as_of, review.updated_at = label.as_of, now
    review.proposed_schedule, review.proposed_ltfu_years = label.schedule, label.ltfu_years
    review.proposed_digest = label.digest
    review.save()


def _close_moot(reviews, label, now):
    """Pending reviews of plans no longer affected (their copy is the label again)."""
    for review in reviews:
        if review.plan.schedule_digest != label.digest:
            continue
        review.status, review.decided_at = ReviewStatus.KEPT, now
        review.reason = _("The label went back to the schedule this plan is drawn from.")
        review.save()


# ---------------------------------------------------------------- the coordinator decides


def _locked_pending(review):
    """The review, locked, still pending. The journey row is locked first, in the order a
    therapy change or a plan draw takes them (journey, then review): no deadlock."""
    Journey.objects.select_for_update().filter(pk=review.journey_id).exists()
    locked = (
        PlanReview.objects.select_for_update().select_related("plan", "journey").get(pk=review.pk)
    )
    if locked.status != ReviewStatus.PENDING:
        raise ValidationError(_("This label change was already reviewed."))
    return locked


def proposed_label(review):
    return Label(review.proposed_schedule, review.proposed_ltfu_years, review.label_as_of)


def apply_review(review, *, by, reason="", now=None, shown=None):
    """Draw the plan from the new label: a new PlanVersion; done and missed rows stay.

    `shown`: the proposed label's digest the coordinator compared against (the page sends
    it); a label changed since is refused rather than applied unseen."""
    now = now or timezone.now()
    with transaction.atomic():
        review = _locked_pending(review)
        if shown and shown != review.proposed_digest:
            raise ValidationError(
                _("The label changed while this page was open: look at the comparison again.")
            )
        if review.plan.therapy_id != review.therapy_id:
            raise ValidationError(_("The child's therapy changed since: keep the current plan."))
        why = _("Label update of %(date)s applied") % {"date": review.label_as_of.isoformat()}
        note = (reason or "").strip()
        version = generate_plan(
            review.journey,
            by=by,
            reason=f"{why}: {note}" if note else why,
            now=now,
            label=proposed_label(review),
        )
        review.status, review.version = ReviewStatus.APPLIED, version
        review.decided_by, review.decided_at, review.reason = by, now, note
        review.save()
    return review


def keep_plan(review, *, by, reason, now=None):
    """The coordinator keeps the current plan; the reason is required and kept."""
    reason = require_reason(reason)
    with transaction.atomic():
        review = _locked_pending(review)
        review.status, review.decided_by = ReviewStatus.KEPT, by
        review.decided_at, review.reason = now or timezone.now(), reason
        review.save()
    return review


# ---------------------------------------------------------------- the review page


def dry_run(review):
    """What applying would do to this child's rows: {"added", "moved", "cancelled", ...}.

    The same _plan_changes that apply_review runs, on the current rows; writes nothing.
    """
    plan, journey = review.plan, review.journey
    if journey.infusion_date is None:
        return {"added": 0, "moved": 0, "cancelled": 0}
    return _plan_changes(plan, journey, proposed_label(review)).summary()


def compare(review):
    """Item by item, the plan's copy of the label beside the new one, in the new order.

    Each row: {"code", "current" (item dict or None), "proposed" (or None), "state"}, state
    one of "same", "changed", "added", "removed".
    """
    current = {i["code"]: i for i in Label.of_plan(review.plan).items()}
    rows = []
    for item in proposed_label(review).items():
        before = current.pop(item["code"], None)
        state = "added" if before is None else "same" if before == item else "changed"
        rows.append(_row(item["code"], before, item, state))
    for code, before in current.items():
        rows.append(_row(code, before, None, "removed"))
    return rows


def _row(code, before, after, state):
    return {"code": code, "current": shown(before), "proposed": shown(after), "state": state}


def shown(item):
    """An item as the review page shows it: title, tests, when, exit rule (None: absent)."""
    if item is None:
        return None
    return {
        "title": item["title"],
        "tests": ", ".join(item.get("tests", [])),
        "when": describe_when(item),
        "exit_rule": describe_exit_rule(item.get("continue_until_normal")),
    }


def describe_when(item):
    """ "days 7, 14, 21, 28 (+/- 2 days); every 14 days 42-84 (+/- 3 days)" """
    if item.get("baseline"):
        return _("before the infusion")
    return "; ".join(_describe_segment(segment) for segment in item.get("segments", []))


def _describe_segment(segment):
    window = _("+/- %(n)s days") % {"n": segment.get("window_days", 0)}
    if "days" in segment:
        days = ", ".join(str(d) for d in segment["days"])
        return _("days %(days)s (%(window)s)") % {"days": days, "window": window}
    if "every_days" in segment:
        text = _("every %(n)s days %(first)s-%(last)s (%(window)s)")
        keys = ("every_days", "first_day", "last_day")
    else:
        text = _("every %(n)s months %(first)s-%(last)s (%(window)s)")
        keys = ("every_months", "first_month", "last_month")
    n, first, last = (segment[k] for k in keys)
    return text % {"n": n, "first": first, "last": last, "window": window}


EXIT_RULES = {
    "below_x_uln": lambda r: _("until below %(v)s x the upper limit") % {"v": r.get("value")},
    "within_range": lambda r: _("until within the normal range"),
    "near_baseline": lambda r: (
        _("until at most %(v)s x the child's baseline") % {"v": r.get("value")}
    ),
    "back_to_baseline": lambda r: (
        (
            _("until back within %(pct)s%% of the child's baseline (low side)")
            if r.get("side") == "low"
            else _("until back within %(pct)s%% of the child's baseline (high side)")
        )
        % {"pct": r.get("margin_pct")}
    ),
}


def describe_exit_rule(rule):
    """ "ALT, AST: until below 2 x the upper limit; and TBIL, INR: until within the normal
    range", or "" without a rule (either stored shape: flags.normalize_exit_rule)."""
    rule = flags.normalize_exit_rule(rule)
    if not rule:
        return ""
    return _("; and ").join(_describe_part(part) for part in rule["all"])


def _describe_part(part):
    describe = EXIT_RULES.get(part.get("rule"), lambda r: r.get("rule", ""))
    return f"{', '.join(part.get('tests', []))}: {describe(part)}"
