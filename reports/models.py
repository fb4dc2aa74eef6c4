"""What a family tells the care team: "something is wrong" with their child.

A report is urgent when the family ticked one of the therapy's "call now" signs: the page
answers "call now" and the center's coordinators are alerted at once, any hour. Every report
carries a "respond by" deadline (the response-time clock) that orders the worklist.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

MAX_TEXT = 1000
MAX_NOTE = 500


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")


class SymptomReport(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "journey.Patient",
        on_delete=models.CASCADE,
        related_name="symptom_reports",
        verbose_name=_("patient"),
    )
    journey = models.ForeignKey(
        "journey.Journey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The child's center when the family wrote: whose coordinators answer (scoping, worklist).
    center = models.ForeignKey("journey.Center", on_delete=models.CASCADE, related_name="+")
    guardian = models.ForeignKey(
        "journey.Guardian",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    # The "call now" lines ticked, copied as the family read them ({"en": ..., "es": ...}):
    # the report keeps its words when the catalogue changes.
    signs = models.JSONField(_("urgent signs"), default=list, blank=True)
    urgent = models.BooleanField(_("urgent"), default=False)
    text = models.CharField(_("in the family's words"), max_length=MAX_TEXT, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    created_at = models.DateTimeField(_("sent at"))
    respond_by = models.DateTimeField(_("respond by"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answer_note = models.CharField(_("what the care team did"), max_length=MAX_NOTE, blank=True)

    class Meta:
        ordering = ["respond_by", "pk"]
        verbose_name = _("family report")
        verbose_name_plural = _("family reports")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="report_status_valid"
            ),
            # A report says something: a "call now" sign (urgent) or the family's words.
            models.CheckConstraint(condition=Q(urgent=True) | ~Q(text=""), name="report_not_empty"),
            models.CheckConstraint(
                condition=Q(respond_by__gte=F("created_at")), name="report_respond_after_sent"
            ),
            models.CheckConstraint(
                condition=(Q(status="open", answered_at__isnull=True, answered_by__isnull=True))
                | Q(status="answered", answered_at__isnull=False),
                name="report_answered_has_time",
            ),
        ]
        indexes = [
            # worklist.open_reports: WHERE status='open' AND center IN (...) ORDER BY respond_by.
            # Partial: only the few open reports, never the answered history.
            models.Index(
                fields=["center", "respond_by"],
                condition=Q(status="open"),
                name="report_open_by_deadline",
            ),
            # notifications' sweep (urgent reports of these children since ...) and a child's
            # own history.
            models.Index(fields=["patient", "created_at"], name="report_patient_time"),
        ]

    def __str__(self):
        return f"{self.patient} · {self.created_at:%Y-%m-%d %H:%M}"

    def is_overdue(self, now):
        return self.status == Status.OPEN and self.respond_by < now


from .models_outside import OutsideResult, OutsideStatus  # noqa: E402

__all__ = ["OutsideResult", "OutsideStatus", "Status", "SymptomReport"]
