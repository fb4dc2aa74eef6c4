"""Custody: restrictions on a guardian's access, a center's age policy, the steps of each age
transition, and the adult guardianships that keep parents' access (issue 17 items 1 and 2).

Access itself is decided in journey.access on every request from these rows: nothing is cached,
so a restriction takes effect on the guardian's next request.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from journey.uploads import FileType, private_storage


def document_name(instance, filename):
    """A random name with the checked type's extension: the uploaded name is never stored."""
    return f"custody/{uuid.uuid4().hex}.{instance.document_type}"


class RestrictionKind(models.TextChoices):
    NO_ACCESS = "no_access", _("No access (the child is hidden)")
    VIEW_ONLY = "view_only", _("View only (may read, may not act)")


class RestrictionSource(models.TextChoices):
    COORDINATOR = "coordinator", _("Care team (court order or custody agreement)")
    AGE_POLICY = "age_policy", _("The center's age policy")


class GuardianshipRestriction(models.Model):
    """A limit on one guardian's access to one child, from `starts_at` until `ends_at`.

    Rows are never deleted: lifting one sets `ends_at` (and who and why), so the history of who
    could see the child stays readable."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    guardianship = models.ForeignKey(
        "journey.Guardianship",
        on_delete=models.CASCADE,
        related_name="restrictions",
        verbose_name=_("guardian of this child"),
    )
    kind = models.CharField(_("restriction"), max_length=20, choices=RestrictionKind.choices)
    source = models.CharField(
        _("set by"),
        max_length=20,
        choices=RestrictionSource.choices,
        default=RestrictionSource.COORDINATOR,
    )
    reason = models.CharField(_("reason"), max_length=500)
    document = models.FileField(
        _("document"), storage=private_storage, upload_to=document_name, blank=True
    )
    document_type = models.CharField(
        _("document type"), max_length=3, choices=FileType.choices, blank=True
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded at"))
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    end_reason = models.CharField(_("why it ended"), max_length=500, blank=True)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        verbose_name = _("guardian restriction")
        verbose_name_plural = _("guardian restrictions")
        indexes = [
            # journey.access on every portal request: a guardianship's restrictions.
            models.Index(fields=["guardianship", "starts_at"], name="restriction_by_link"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="restriction_ends_after_start",
            ),
            # A court order or custody agreement is always on file; the age policy needs none.
            models.CheckConstraint(
                condition=Q(source="age_policy") | ~Q(document=""),
                name="restriction_coordinator_has_document",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.guardianship}"

    def is_active(self, now):
        return self.starts_at <= now and (self.ends_at is None or now < self.ends_at)


def active_restrictions(now):
    """Q for restrictions in force at `now`."""
    return Q(starts_at__lte=now) & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))


class AgeChange(models.TextChoices):
    TEEN_ASSENT = "teen_assent", _("Parents keep full access with the teen's assent")
    PARENTS_VIEW_ONLY = "parents_view_only", _("Parents can read but no longer act")
    PATIENT_ACCOUNT_HOLDER = (
        "patient_account_holder",
        _("The patient becomes the account holder; parents' access ends"),
    )


# A center with no rows of its own follows this (the data migration seeds it for each center).
DEFAULT_AGE_POLICY = [(12, AgeChange.TEEN_ASSENT), (18, AgeChange.PATIENT_ACCOUNT_HOLDER)]


class AgePolicy(models.Model):
    """At `age_years`, this center changes what a child's guardians may do."""

    center = models.ForeignKey(
        "journey.Center", on_delete=models.CASCADE, related_name="age_policies"
    )
    age_years = models.PositiveSmallIntegerField(_("at age (years)"))
    change = models.CharField(_("what changes"), max_length=30, choices=AgeChange.choices)

    class Meta:
        ordering = ["center", "age_years"]
        verbose_name = _("age policy")
        verbose_name_plural = _("age policies")
        constraints = [
            models.UniqueConstraint(fields=["center", "change"], name="age_policy_one_per_change"),
            models.CheckConstraint(
                condition=Q(age_years__gte=1, age_years__lte=30), name="age_policy_age_range"
            ),
        ]

    def __str__(self):
        return f"{self.age_years}: {self.get_change_display()}"


class AgeStep(models.TextChoices):
    NOTICE_60 = "notice_60", _("Told 60 days ahead")
    NOTICE_14 = "notice_14", _("Told 14 days ahead")
    APPLIED = "applied", _("Access changed")


class AgeTransition(models.Model):
    """Append-only: one row per step of one age change for one child. The unique constraint
    makes the daily sweep idempotent (a step happens once, whatever the number of runs)."""

    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.CASCADE, related_name="age_transitions"
    )
    change = models.CharField(_("what changes"), max_length=30, choices=AgeChange.choices)
    age_years = models.PositiveSmallIntegerField(_("at age (years)"))
    birthday = models.DateField(_("birthday"))
    step = models.CharField(_("step"), max_length=20, choices=AgeStep.choices)
    at = models.DateTimeField(_("when"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["patient", "at", "pk"]
        verbose_name = _("age transition")
        verbose_name_plural = _("age transitions")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "change", "birthday", "step"], name="age_transition_once"
            ),
        ]

    def __str__(self):
        return f"{self.get_step_display()}: {self.get_change_display()} ({self.birthday})"


class AdultGuardianship(models.Model):
    """A documented guardianship of an adult (a court appointment): this guardian keeps access
    when the age policy would end or limit it."""

    guardianship = models.ForeignKey(
        "journey.Guardianship",
        on_delete=models.CASCADE,
        related_name="adult_records",
        verbose_name=_("guardian of this patient"),
    )
    reason = models.CharField(_("reason"), max_length=500)
    document = models.FileField(_("document"), storage=private_storage, upload_to=document_name)
    document_type = models.CharField(_("document type"), max_length=3, choices=FileType.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        ordering = ["-recorded_at"]
        verbose_name = _("adult guardianship")
        verbose_name_plural = _("adult guardianships")

    def __str__(self):
        return str(self.guardianship)
