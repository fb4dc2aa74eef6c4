"""Plans can't drift from the journey: find open journeys whose plan does not match their
therapy and day 0, and repair them with generate_plan.

A signal receiver that failed, a task that gave up, or a row fixed by hand in psql can leave
a plan behind its journey. find_drift() finds them in one query, whatever the number of
journeys; repair_drift() redraws each, recorded as a plan version by the system (by=None).
Beat runs it hourly (tracker.tasks.repair_plans); `manage.py repair_plans` by hand.
"""

import logging
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Case, CharField, DateField, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from journey.models import OPEN_STAGES, Journey

from ..models import PlanVersion
from .plans import _new_version, generate_plan

log = logging.getLogger(__name__)

MISSING = "missing"  # therapy and day 0 set, no plan
THERAPY = "therapy"  # the plan is drawn from another therapy than the journey's
DAY0 = "day0"  # the plan's latest version has another day 0 than the journey


@dataclass(frozen=True)
class Drift:
    journey_id: int
    public_id: object
    kind: str


@dataclass
class RepairCounts:
    found: int = 0
    repaired: int = 0
    failed: int = 0
    left: int = 0  # beyond the limit: the next run takes them


# Stands for "no version": never equal to a journey's day 0 (SQL's NULL would compare unknown).
NO_DAY0 = date(1, 1, 1)


def _latest_day0():
    """The day 0 recorded by the plan's latest version (the unique (plan, number) index)."""
    versions = PlanVersion.objects.filter(plan=OuterRef("monitoring_plan")).order_by("-number")
    return Coalesce(Subquery(versions.values("infusion_date")[:1]), Value(NO_DAY0, DateField()))


def drifted_journeys():
    """Open journeys with a therapy and day 0 whose plan does not match them, annotated with
    `drift` (MISSING, THERAPY or DAY0). One query: the filter reads the latest version once
    per journey; the label is computed for the drifted rows only."""
    no_plan = Q(monitoring_plan__isnull=True)
    other_therapy = ~Q(monitoring_plan__therapy=F("therapy"))
    return (
        Journey.objects.filter(
            stage__in=OPEN_STAGES, therapy__isnull=False, infusion_date__isnull=False
        )
        .annotate(plan_day0=_latest_day0())
        .filter(no_plan | other_therapy | ~Q(plan_day0=F("infusion_date")))
        .annotate(
            drift=Case(
                When(no_plan, then=Value(MISSING)),
                When(other_therapy, then=Value(THERAPY)),
                default=Value(DAY0),
                output_field=CharField(),
            )
        )
    )


def find_drift(journey_ids=None):
    """[Drift] in journey order: one query, however many journeys there are."""
    journeys = drifted_journeys()
    if journey_ids is not None:
        journeys = journeys.filter(pk__in=journey_ids)
    rows = journeys.order_by("pk").values_list("pk", "public_id", "drift")
    return [Drift(*row) for row in rows]


def repair(journey_id, now=None):
    """Redraw one journey's plan if it still drifts (checked under the journey's lock).

    Returns the PlanVersion that records the repair (by the system, with the reason), or
    None when the journey no longer drifts. When no row needs to change (say every row is
    done), the version alone records that the plan now matches the journey's day 0.
    """
    now = now or timezone.now()
    reason = _("Repaired: plan did not match the journey")
    with transaction.atomic():
        journey = Journey.objects.select_for_update(of=("self",)).get(pk=journey_id)
        if not find_drift([journey_id]):
            return None
        version = generate_plan(journey, by=None, reason=reason, now=now)
        if version is None:
            plan = journey.monitoring_plan
            version = _new_version(plan, journey.infusion_date, None, now, reason)
    return version


def repair_drift(drifts=None, *, limit=None, progress=iter, now=None):
    """Repair every drifted journey (or the `drifts` given), each in its own transaction.

    One journey that fails is logged and counted; the others go on. `progress` wraps the
    list (a tqdm bar in the management command). `limit` bounds one run's work."""
    drifts = find_drift() if drifts is None else drifts
    counts = RepairCounts(found=len(drifts))
    todo = drifts if limit is None else drifts[:limit]
    counts.left = len(drifts) - len(todo)
    for drift in progress(todo):
        try:
            version = repair(drift.journey_id, now=now)
        except Exception:
            log.exception("Could not repair the plan of journey %s", drift.journey_id)
            counts.failed += 1
            continue
        counts.repaired += version is not None
    return counts
