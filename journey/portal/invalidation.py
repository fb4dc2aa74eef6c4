"""Bump the portal cache's versions (journey/portal/cache.py) when journey's rows change.

Connected when journey.portal.pages is imported (tracker's AppConfig.ready does, in every
process: web, Celery, shell). Writes that bypass signals (queryset .update(), bulk_create,
bulk_update) on these models all happen inside a transaction that also saves a row heard
here (the Journey, a StageChange); docs/portal.md lists them.
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from journey.models import (
    Center,
    ChecklistStep,
    EligibilityCheck,
    Guardian,
    Guardianship,
    InfusionDateChange,
    Journey,
    Patient,
    StageChange,
    StepTemplate,
    Therapy,
)

from . import cache

connected = True  # imported by journey.portal.pages so that the receivers below connect


class ParentMemo:
    """Row pk -> its parent's pk, for a link that never changes (one query on a miss)."""

    def __init__(self, model, parent_field, size=10_000):
        self.model, self.parent_field, self.size = model, parent_field, size
        self.memo = {}

    def get(self, pk):
        parent = self.memo.get(pk)
        if parent is None and pk is not None:
            rows = self.model.objects.filter(pk=pk).values_list(self.parent_field, flat=True)
            parent = rows.first()
            if parent is not None:
                if len(self.memo) >= self.size:
                    self.memo.clear()
                self.memo[pk] = parent
        return parent


_PATIENT_OF_JOURNEY = ParentMemo(Journey, "patient_id")  # a journey never changes child


def patient_of_journey(journey_id, journey=None):
    """The child of a journey, from the instance or memo when possible (else one query)."""
    if journey is not None:
        return journey.patient_id
    return _PATIENT_OF_JOURNEY.get(journey_id)


def cached_journey(instance):
    """The instance's `journey` if already loaded (no query), else None."""
    return instance._state.fields_cache.get("journey")


def bump_journey(journey_id, journey=None):
    cache.bump_patients([patient_of_journey(journey_id, journey)])


# ---------------------------------------------------------------- the guardian and access


@receiver(pre_save, sender=Guardian, dispatch_uid="portal_cache.guardian_pre_save")
def _remember_old_login(sender, instance, raw=False, **kwargs):
    if instance.pk and not raw:
        old = Guardian.objects.filter(pk=instance.pk).values_list("user_id", flat=True)
        instance._portal_old_user_id = old.first()


@receiver(post_save, sender=Guardian, dispatch_uid="portal_cache.guardian_saved")
@receiver(post_delete, sender=Guardian, dispatch_uid="portal_cache.guardian_deleted")
def _guardian_changed(sender, instance, **kwargs):
    cache.bump_guardians([instance.pk])
    cache.bump_logins([instance.user_id, getattr(instance, "_portal_old_user_id", None)])


@receiver(post_save, sender=get_user_model(), dispatch_uid="portal_cache.user_saved")
def _user_created(sender, instance, created, **kwargs):
    if created:  # a pk met again (a fresh test database) must not find an old entry
        cache.bump_logins([instance.pk])


@receiver(post_save, sender=Guardianship, dispatch_uid="portal_cache.guardianship_saved")
@receiver(post_delete, sender=Guardianship, dispatch_uid="portal_cache.guardianship_deleted")
def _guardianship_changed(sender, instance, **kwargs):
    cache.bump_guardians([instance.guardian_id])
    cache.bump_patients([instance.patient_id])


@receiver(m2m_changed, sender=Patient.guardians.through, dispatch_uid="portal_cache.m2m")
def _guardians_m2m(sender, instance, action, reverse, pk_set, **kwargs):
    """patient.guardians.add() writes Guardianship rows with bulk_create: no post_save."""
    if not action.startswith("post_"):
        return
    if reverse:  # guardian.children.add(...)
        cache.bump_guardians([instance.pk])
        cache.bump_patients(pk_set or [])
    else:
        cache.bump_patients([instance.pk])
        cache.bump_guardians(pk_set or [])  # clear(): each row's post_delete bumped it


# ---------------------------------------------------------------- the child and the journey


@receiver(post_save, sender=Patient, dispatch_uid="portal_cache.patient_saved")
@receiver(post_delete, sender=Patient, dispatch_uid="portal_cache.patient_deleted")
def _patient_changed(sender, instance, **kwargs):
    cache.bump_patients([instance.pk])


@receiver(post_save, sender=Journey, dispatch_uid="portal_cache.journey_saved")
@receiver(post_delete, sender=Journey, dispatch_uid="portal_cache.journey_deleted")
def _journey_changed(sender, instance, **kwargs):
    cache.bump_patients([instance.patient_id])


@receiver(post_save, sender=ChecklistStep, dispatch_uid="portal_cache.step_saved")
@receiver(post_delete, sender=ChecklistStep, dispatch_uid="portal_cache.step_deleted")
@receiver(post_save, sender=StageChange, dispatch_uid="portal_cache.stage_change_saved")
@receiver(post_delete, sender=StageChange, dispatch_uid="portal_cache.stage_change_deleted")
@receiver(post_save, sender=InfusionDateChange, dispatch_uid="portal_cache.day0_saved")
@receiver(post_save, sender=EligibilityCheck, dispatch_uid="portal_cache.check_saved")
@receiver(post_delete, sender=EligibilityCheck, dispatch_uid="portal_cache.check_deleted")
def _journey_row_changed(sender, instance, **kwargs):
    bump_journey(instance.journey_id, cached_journey(instance))


# ---------------------------------------------------------------- the catalogue


@receiver(post_save, sender=Therapy, dispatch_uid="portal_cache.therapy_saved")
@receiver(post_delete, sender=Therapy, dispatch_uid="portal_cache.therapy_deleted")
@receiver(post_save, sender=Center, dispatch_uid="portal_cache.center_saved")
@receiver(post_delete, sender=Center, dispatch_uid="portal_cache.center_deleted")
@receiver(post_save, sender=StepTemplate, dispatch_uid="portal_cache.step_template_saved")
def _catalogue_changed(sender, **kwargs):
    cache.bump_all()
