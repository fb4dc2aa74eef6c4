"""Insurance and access for one journey: who pays, the prior authorization and its appeals,
special arrangements (single-case agreement, outcomes-based, CMS access model) and travel help.

Rules on these rows (does an approval cover a day?) live in journey/coverage.py.
"""

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class InsuranceCoverage(models.Model):
    """The payer, plan and member id a journey is billed to (a child may have two payers)."""

    journey = models.ForeignKey(
        "journey.Journey", on_delete=models.CASCADE, related_name="coverages"
    )
    payer = models.CharField(_("payer"), max_length=200)
    plan = models.CharField(_("plan"), max_length=200, blank=True)
    member_id = models.CharField(_("member id"), max_length=80, blank=True)
    is_primary = models.BooleanField(_("primary payer"), default=True)

    class Meta:
        ordering = ["journey", "-is_primary", "pk"]
        verbose_name = _("insurance")
        verbose_name_plural = _("insurance")

    def __str__(self):
        return f"{self.payer} {self.plan}".strip()


class AuthorizationStatus(models.TextChoices):
    DRAFT = "draft", _("Being prepared")
    SUBMITTED = "submitted", _("Submitted, waiting for a decision")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class PriorAuthorization(models.Model):
    """A request to the payer to cover the therapy, and its decision.

    Only an approved one with a decision date and an "approved until" counts as cover
    (journey.coverage.authorization_covers)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    journey = models.ForeignKey(
        "journey.Journey", on_delete=models.CASCADE, related_name="authorizations"
    )
    coverage = models.ForeignKey(
        InsuranceCoverage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="authorizations",
        verbose_name=_("insurance"),
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=AuthorizationStatus.choices,
        default=AuthorizationStatus.DRAFT,
    )
    submitted_on = models.DateField(_("submitted on"), null=True, blank=True)
    decision_on = models.DateField(_("decision on"), null=True, blank=True)
    approval_number = models.CharField(_("approval number"), max_length=80, blank=True)
    approved_until = models.DateField(_("approved until"), null=True, blank=True)
    units = models.PositiveIntegerField(_("units approved"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["journey", "-decision_on", "-pk"]
        verbose_name = _("prior authorization")
        verbose_name_plural = _("prior authorizations")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AuthorizationStatus.values),
                name="priorauth_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(approved_until__isnull=True)
                | Q(decision_on__isnull=True)
                | Q(approved_until__gte=F("decision_on")),
                name="priorauth_until_after_decision",
                violation_error_message=_("“Approved until” cannot be before the decision."),
            ),
            models.CheckConstraint(
                condition=Q(units__isnull=True) | Q(units__gt=0),
                name="priorauth_units_positive",
                violation_error_message=_("Approved units must be more than zero."),
            ),
            models.CheckConstraint(
                condition=~Q(status=AuthorizationStatus.APPROVED)
                | Q(decision_on__isnull=False, approved_until__isnull=False),
                name="priorauth_approved_has_dates",
                violation_error_message=_(
                    "An approval needs its decision date and its “approved until” date."
                ),
            ),
            models.CheckConstraint(
                condition=Q(submitted_on__isnull=True)
                | Q(decision_on__isnull=True)
                | Q(decision_on__gte=F("submitted_on")),
                name="priorauth_decision_after_submission",
                violation_error_message=_("The decision cannot come before the submission."),
            ),
        ]
        indexes = [
            # Expiry reminders: approvals by the day they end.
            models.Index(
                fields=["approved_until"],
                condition=Q(status="approved"),
                name="priorauth_approved_until",
            ),
        ]

    def __str__(self):
        label = self.get_status_display()
        if self.approval_number:
            label = f"{label} ({self.approval_number})"
        return label


class AppealOutcome(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    OVERTURNED = "overturned", _("Overturned: approved")
    UPHELD = "upheld", _("Upheld: still denied")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Appeal(models.Model):
    """An appeal of a denied authorization: when it was filed, decided, and how it ended."""

    authorization = models.ForeignKey(
        PriorAuthorization,
        on_delete=models.CASCADE,
        related_name="appeals",
        verbose_name=_("prior authorization"),
    )
    level = models.CharField(
        _("level"), max_length=80, blank=True, help_text=_("First level, external review...")
    )
    filed_on = models.DateField(_("filed on"))
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=AppealOutcome.choices, default=AppealOutcome.PENDING
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["authorization", "filed_on", "pk"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=AppealOutcome.values), name="appeal_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(decided_on__isnull=True) | Q(decided_on__gte=F("filed_on")),
                name="appeal_decided_after_filed",
                violation_error_message=_("An appeal cannot be decided before it was filed."),
            ),
        ]

    def __str__(self):
        return f"{self.filed_on}: {self.get_outcome_display()}"


class ArrangementKind(models.TextChoices):
    SINGLE_CASE = "single_case", _("Single-case agreement")
    OUTCOMES_BASED = "outcomes_based", _("Outcomes-based agreement")
    CMS_ACCESS_MODEL = "cms_access_model", _("CMS access model")


class AccessArrangement(models.Model):
    """A special agreement that makes the therapy payable for this child."""

    journey = models.ForeignKey(
        "journey.Journey", on_delete=models.CASCADE, related_name="access_arrangements"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=ArrangementKind.choices)
    counterparty = models.CharField(
        _("with"), max_length=200, help_text=_("The payer, manufacturer or program.")
    )
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(_("until"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["journey", "starts_on", "pk"]
        verbose_name = _("access arrangement")
        verbose_name_plural = _("access arrangements")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ArrangementKind.values), name="arrangement_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=F("starts_on")),
                name="arrangement_dates_ordered",
                violation_error_message=_("The end cannot come before the start."),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.counterparty}"


class TravelSupport(models.Model):
    """Travel and lodging paid for the family: the dates and who funds them."""

    journey = models.ForeignKey(
        "journey.Journey", on_delete=models.CASCADE, related_name="travel_support"
    )
    funder = models.CharField(_("funded by"), max_length=200)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    lodging = models.BooleanField(_("lodging included"), default=False)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["journey", "starts_on", "pk"]
        verbose_name = _("travel and lodging support")
        verbose_name_plural = _("travel and lodging support")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="travel_dates_ordered",
                violation_error_message=_("The end cannot come before the start."),
            ),
        ]

    def __str__(self):
        return f"{self.funder}: {self.starts_on} – {self.ends_on}"
