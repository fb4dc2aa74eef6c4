"""Lab results: one row per value, append-only (a correction supersedes; a mistake is marked
entered in error). Imported by tracker.models, so Django registers it there."""

import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models_center import CenteredQuerySet, CenteredRow


class Flag(models.TextChoices):
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")
    HIGH = "high", _("High")
    CRITICAL_LOW = "critical_low", _("Critical low")
    CRITICAL_HIGH = "critical_high", _("Critical high")
    NO_RANGE = "no_range", _("No reference range")


ABNORMAL_FLAGS = [Flag.LOW, Flag.HIGH, Flag.CRITICAL_LOW, Flag.CRITICAL_HIGH]
CRITICAL_FLAGS = [Flag.CRITICAL_LOW, Flag.CRITICAL_HIGH]


# A result counts (flags, exit rules, charts, the family's pages) while it is neither
# superseded by a correction nor marked entered in error. The partial indexes say the same.
CURRENT_Q = Q(superseded_at__isnull=True, entered_in_error_at__isnull=True)
# A result the family does not see yet: flagged, not reviewed, at a center whose policy holds
# such results until review (journey.Center.result_release). Read with a join, no query more.
HELD_FROM_FAMILY_Q = Q(
    journey__center__result_release="flagged_after_review",
    flag__in=ABNORMAL_FLAGS,
    reviewed_at__isnull=True,
)
# Nothing collected before this is a real result (a typo such as year 0001 broke pages).
EARLIEST_COLLECTION = datetime(1900, 1, 1, tzinfo=UTC)


class LabResultQuerySet(CenteredQuerySet):
    def current(self):
        """Results that count: not superseded by a correction, not entered in error."""
        return self.filter(CURRENT_Q)

    def released_to_family(self):
        """What a family's record, card and export show (the labs page says "being reviewed"
        for the others: tracker.portal.care_team)."""
        return self.exclude(HELD_FROM_FAMILY_Q)

    def counting(self):
        """Current results the rules read (flags' alerts, exit rules, baselines, draws done):
        a preliminary result from a lab system is shown, as preliminary, but waits for its
        final result before it counts."""
        return self.current().filter(preliminary=False)

    def awaiting_review(self):
        return self.counting().filter(flag__in=ABNORMAL_FLAGS, reviewed_at__isnull=True)


def _decimal(label, **extra):
    return models.DecimalField(label, max_digits=14, decimal_places=4, **extra)


class LabResult(CenteredRow):
    """One result, append-only: a correction is a new row that supersedes this one."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: labresult_history leads with the journey.
    journey = models.ForeignKey(
        "journey.Journey", on_delete=models.CASCADE, related_name="lab_results", db_index=False
    )
    test = models.ForeignKey("tracker.LabTest", on_delete=models.PROTECT, related_name="results")
    scheduled_lab = models.ForeignKey(
        "tracker.ScheduledLab",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="results",
    )
    value_entered = models.CharField(_("value as entered"), max_length=40)
    unit_entered = models.CharField(_("unit as entered"), max_length=20)
    value = _decimal(_("value (canonical unit)"))
    unit = models.CharField(_("canonical unit"), max_length=20)
    collected_at = models.DateTimeField(_("collected at"))
    # A lab system's preliminary result (HL7 OBX-11 P, FHIR preliminary): shown as such, not
    # counted (see counting()); the final result supersedes it, a cancellation withdraws it.
    preliminary = models.BooleanField(_("preliminary"), default=False)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered at"))
    flag = models.CharField(_("flag"), max_length=16, choices=Flag.choices)
    x_uln = models.DecimalField(
        _("x upper limit"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    at_2x_uln = models.BooleanField(_("ALT/AST at or above 2x upper limit"), default=False)
    at_1_5x_baseline = models.BooleanField(_("ALT/AST at or above 1.5x baseline"), default=False)
    baseline_value = _decimal(_("child's baseline"), null=True, blank=True)
    # The range used, copied so that later edits of the catalogue never rewrite history.
    range_low = _decimal(_("range low"), null=True, blank=True)
    range_high = _decimal(_("range high"), null=True, blank=True)
    range_critical_low = _decimal(_("critical below"), null=True, blank=True)
    range_critical_high = _decimal(_("critical above"), null=True, blank=True)
    range_unit = models.CharField(_("range unit"), max_length=20, blank=True)
    range_source = models.CharField(_("range source"), max_length=300, blank=True)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    superseded_at = models.DateTimeField(_("corrected at"), null=True, blank=True)
    correction_reason = models.TextField(_("why corrected"), blank=True)
    entered_in_error_at = models.DateTimeField(_("marked entered in error"), null=True, blank=True)
    entered_in_error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    entered_in_error_reason = models.TextField(_("why entered in error"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)
    # The acknowledgement clock: an abnormal result is to be reviewed by then (set when it is
    # recorded, tracker.acknowledge); None for a result in the range.
    acknowledge_by = models.DateTimeField(_("acknowledge by"), null=True, blank=True)

    objects = LabResultQuerySet.as_manager()

    class Meta:
        ordering = ["-collected_at", "test__position"]
        verbose_name = _("lab result")
        verbose_name_plural = _("lab results")
        constraints = [
            # The same test at the same collection time twice is a correction, never a copy.
            models.UniqueConstraint(
                fields=["journey", "test", "collected_at"],
                condition=CURRENT_Q,
                name="labresult_one_current_per_time",
            ),
            # Rows from before this rule were marked entered in error by migration 0007.
            models.CheckConstraint(
                condition=Q(collected_at__gte=EARLIEST_COLLECTION)
                | Q(entered_in_error_at__isnull=False),
                name="labresult_collected_after_1900",
            ),
            models.CheckConstraint(
                condition=Q(entered_in_error_at__isnull=True) | ~Q(entered_in_error_reason=""),
                name="labresult_error_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(supersedes__isnull=True) | ~Q(correction_reason=""),
                name="labresult_correction_has_reason",
            ),
        ]
        indexes = [
            # Baseline look-up and a journey's result history by test.
            models.Index(fields=["journey", "test", "collected_at"], name="labresult_history"),
            # Worklist "abnormal results awaiting review" for one center: exactly
            # awaiting_review()'s rows, the center's own, read from the index alone.
            models.Index(
                fields=["center", "collected_at"],
                include=["journey", "flag", "id"],
                condition=Q(
                    reviewed_at__isnull=True,
                    superseded_at__isnull=True,
                    entered_in_error_at__isnull=True,
                    preliminary=False,
                    flag__in=["low", "high", "critical_low", "critical_high"],
                ),
                name="labresult_center_review",
            ),
        ]

    def __str__(self):
        return f"{self.test.code} {self.value} {self.unit} ({self.get_flag_display()})"

    @property
    def is_abnormal(self):
        return self.flag in ABNORMAL_FLAGS

    @property
    def is_current(self):
        return self.superseded_at is None and self.entered_in_error_at is None

    @property
    def counts(self):
        """Current and final: what the rules read (LabResultQuerySet.counting)."""
        return self.is_current and not self.preliminary
