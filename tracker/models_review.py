"""Label change reviews: a therapy's new label waits here until the coordinator decides.

See tracker.services.label_review and docs/monitoring.md "Label changes".
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    APPLIED = "applied", _("New label applied")
    KEPT = "kept", _("Current plan kept")


class PlanReview(models.Model):
    """A label change waiting for (or decided by) the coordinator, one plan at a time."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(
        "tracker.MonitoringPlan", on_delete=models.CASCADE, related_name="label_reviews"
    )
    # Denormalised from plan.journey: the worklist filters by the center's open journeys.
    journey = models.ForeignKey(
        "journey.Journey", on_delete=models.CASCADE, related_name="label_reviews"
    )
    therapy = models.ForeignKey("journey.Therapy", on_delete=models.PROTECT, related_name="+")
    label_as_of = models.DateField(_("label as of"))
    proposed_schedule = models.JSONField(_("new label schedule"), default=list)
    proposed_ltfu_years = models.PositiveSmallIntegerField(
        _("new long-term follow-up (years)"), default=0
    )
    proposed_digest = models.CharField(max_length=32)
    status = models.CharField(
        _("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    updated_at = models.DateTimeField(_("label last changed"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    reason = models.TextField(_("why"), blank=True)
    version = models.ForeignKey(
        "tracker.PlanVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("plan version it made"),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("label change review")
        verbose_name_plural = _("label change reviews")
        constraints = [
            models.UniqueConstraint(
                fields=["plan"],
                condition=Q(status="pending"),
                name="planreview_one_pending_per_plan",
            ),
            models.CheckConstraint(
                condition=~Q(status="kept") | ~Q(reason=""), name="planreview_kept_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False),
                name="planreview_decided_has_time",
            ),
        ]
        indexes = [
            # Worklist "label changed: review plan" for one center: its open journeys.
            models.Index(
                fields=["journey", "created_at"],
                condition=Q(status="pending"),
                name="planreview_pending_journey",
            ),
        ]

    def __str__(self):
        return _("Label of %(date)s for %(journey)s") % {
            "date": self.label_as_of,
            "journey": self.journey,
        }
