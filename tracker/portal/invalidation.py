"""Bump the portal cache (journey/portal/cache.py) when a plan, a date or a result changes.

Connected when tracker.portal.summary is imported (tracker's AppConfig.ready). Writes that
bypass signals happen in a transaction that also saves a row heard here:
services.plans._apply bulk-creates ScheduledLab rows beside a PlanVersion;
services.plans.close_extension updates dates beside its PlanItem save. The review of a result
(services.results.review_result, a queryset update) changes nothing a family page shows.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from journey.portal import cache
from journey.portal.invalidation import ParentMemo, bump_journey, cached_journey
from tracker.models import (
    LabResult,
    LabTest,
    LabUnit,
    MonitoringPlan,
    PlanItem,
    PlanVersion,
    ReferenceRange,
    ScheduledLab,
)

_JOURNEY_OF_PLAN = ParentMemo(MonitoringPlan, "journey_id")  # one plan per journey, for good


def _journey_of_plan(plan_id, plan=None):
    """(journey pk, the journey if loaded) of a plan, from the instance or memo when possible."""
    if plan is not None:
        return plan.journey_id, cached_journey(plan)
    return _JOURNEY_OF_PLAN.get(plan_id), None


@receiver(post_save, sender=ScheduledLab, dispatch_uid="portal_cache.scheduled_lab_saved")
@receiver(post_delete, sender=ScheduledLab, dispatch_uid="portal_cache.scheduled_lab_deleted")
@receiver(post_save, sender=LabResult, dispatch_uid="portal_cache.result_saved")
@receiver(post_delete, sender=LabResult, dispatch_uid="portal_cache.result_deleted")
@receiver(post_save, sender=MonitoringPlan, dispatch_uid="portal_cache.plan_saved")
@receiver(post_delete, sender=MonitoringPlan, dispatch_uid="portal_cache.plan_deleted")
def _journey_row_changed(sender, instance, **kwargs):
    bump_journey(instance.journey_id, cached_journey(instance))


@receiver(post_save, sender=PlanItem, dispatch_uid="portal_cache.plan_item_saved")
@receiver(post_delete, sender=PlanItem, dispatch_uid="portal_cache.plan_item_deleted")
@receiver(post_save, sender=PlanVersion, dispatch_uid="portal_cache.plan_version_saved")
@receiver(post_delete, sender=PlanVersion, dispatch_uid="portal_cache.plan_version_deleted")
def _plan_row_changed(sender, instance, **kwargs):
    plan = instance._state.fields_cache.get("plan")
    journey_id, journey = _journey_of_plan(instance.plan_id, plan)
    bump_journey(journey_id, journey)


@receiver(post_save, sender=LabTest, dispatch_uid="portal_cache.lab_test_saved")
@receiver(post_delete, sender=LabTest, dispatch_uid="portal_cache.lab_test_deleted")
@receiver(post_save, sender=LabUnit, dispatch_uid="portal_cache.lab_unit_saved")
@receiver(post_save, sender=ReferenceRange, dispatch_uid="portal_cache.range_saved")
def _catalogue_changed(sender, **kwargs):
    cache.bump_all()
