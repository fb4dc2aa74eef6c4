"""Keeping families in long-term follow-up: contact checks, "at risk of loss to follow-up"
marks, and hand-overs of a child to another center. Rules in journey/followup.py."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class CheckReason(models.TextChoices):
    YEARLY = "yearly", _("Yearly check")
    BOUNCED = "bounced", _("An email bounced")
    UNANSWERED = "unanswered", _("Reminders went unanswered")


class ContactConfirmation(models.Model):
    """One request to a guardian: "are these still your contact details?" and the answer.

    The email carries a signed link (journey.followup.confirmation_token); "still correct"
    needs no login, a change is made after logging in to the portal."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.CASCADE, related_name="contact_checks"
    )
    guardian = models.ForeignKey(
        "journey.Guardian", on_delete=models.CASCADE, related_name="contact_checks"
    )
    reason = models.CharField(_("why asked"), max_length=20, choices=CheckReason.choices)
    requested_at = models.DateTimeField(_("asked at"))
    answer_by = models.DateField(_("answer by"))
    answered_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("contact check")
        verbose_name_plural = _("contact checks")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "guardian"],
                condition=Q(answered_at__isnull=True),
                name="contactcheck_one_open_per_guardian",
            ),
            models.CheckConstraint(
                condition=Q(reason__in=CheckReason.values), name="contactcheck_reason_valid"
            ),
        ]
        indexes = [
            # The daily sweep: open checks whose answer is late.
            models.Index(
                fields=["answer_by"],
                condition=Q(answered_at__isnull=True),
                name="contactcheck_open_answer_by",
            ),
            # The yearly request: a child's latest check.
            models.Index(fields=["patient", "-requested_at"], name="contactcheck_latest"),
        ]

    def __str__(self):
        return f"{self.guardian} ({self.requested_at:%Y-%m-%d})"


class RiskReason(models.TextChoices):
    NO_ANSWER = "no_answer", _("Did not confirm their contact details")
    BOUNCED = "bounced", _("Emails bounce")
    UNANSWERED = "unanswered", _("Three reminders in a row unanswered")
    MISSED_VISIT = "missed_visit", _("Missed a yearly visit window")


class FollowUpRisk(models.Model):
    """A child marked "at risk of loss to follow-up" for one reason, until resolved."""

    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.CASCADE, related_name="follow_up_risks"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=RiskReason.choices)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    marked_at = models.DateTimeField(_("marked at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(_("how resolved"), max_length=300, blank=True)

    class Meta:
        ordering = ["marked_at", "pk"]
        verbose_name = _("risk of loss to follow-up")
        verbose_name_plural = _("risks of loss to follow-up")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "reason"],
                condition=Q(resolved_at__isnull=True),
                name="followuprisk_one_open_per_reason",
            ),
            models.CheckConstraint(
                condition=Q(reason__in=RiskReason.values), name="followuprisk_reason_valid"
            ),
        ]
        indexes = [
            # The worklist: open marks, oldest first.
            models.Index(
                fields=["marked_at"],
                condition=Q(resolved_at__isnull=True),
                name="followuprisk_open",
            ),
        ]

    def __str__(self):
        return f"{self.patient}: {self.get_reason_display()}"


class CenterTransfer(models.Model):
    """An append-only record of a child handed over to another center (the family moved).

    The old center keeps read-only access to the history up to `moved_at`
    (journey.access.transfers_for_staff)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "journey.Patient",
        on_delete=models.PROTECT,
        related_name="transfers",
        verbose_name=_("patient"),
    )
    from_center = models.ForeignKey(
        "journey.Center",
        on_delete=models.PROTECT,
        related_name="transfers_out",
        verbose_name=_("from center"),
    )
    to_center = models.ForeignKey(
        "journey.Center",
        on_delete=models.PROTECT,
        related_name="transfers_in",
        verbose_name=_("to center"),
    )
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    moved_at = models.DateTimeField(_("handed over at"))
    reason = models.TextField(_("reason"))

    class Meta:
        ordering = ["-moved_at", "-pk"]
        verbose_name = _("hand-over to another center")
        verbose_name_plural = _("hand-overs to other centers")
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_center=F("to_center")), name="transfer_other_center"
            ),
        ]
        indexes = [
            models.Index(fields=["from_center", "-moved_at"], name="transfer_from_center"),
        ]

    def __str__(self):
        return f"{self.patient}: {self.from_center} → {self.to_center}"
