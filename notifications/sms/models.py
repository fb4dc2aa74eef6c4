"""A guardian's number for text messages, and the append-only history of what happened to it."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class NumberStatus(models.TextChoices):
    UNCONFIRMED = "unconfirmed", _("Waiting for the code")
    ACTIVE = "active", _("Confirmed: texts go out")
    STOPPED = "stopped", _("The guardian replied STOP")
    INVALID = "invalid", _("The provider says the number is not valid")
    UNSUBSCRIBED = "unsubscribed", _("The provider says the number unsubscribed")


# What a coordinator should look at (the worklist): the provider refused the number.
PROBLEM_STATUSES = [NumberStatus.INVALID, NumberStatus.UNSUBSCRIBED]


class TextNumber(models.Model):
    """One guardian's mobile number (E.164). Texts go to it only while it is ACTIVE: confirmed
    with a code, never answered STOP, never refused by the provider."""

    guardian = models.OneToOneField(
        "journey.Guardian", on_delete=models.CASCADE, related_name="text_number"
    )
    number = PhoneNumberField(_("mobile number"))
    status = models.CharField(
        _("status"), max_length=12, choices=NumberStatus.choices, default=NumberStatus.UNCONFIRMED
    )
    # The confirmation code: only its keyed hash is stored; it expires and allows few tries.
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    # Rate limit on sending codes: how many in the window that started at codes_window_start.
    codes_sent = models.PositiveSmallIntegerField(default=0)
    codes_window_start = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("text message number")
        verbose_name_plural = _("text message numbers")
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="active") | Q(confirmed_at__isnull=False),
                name="textnumber_active_is_confirmed",
            ),
        ]
        indexes = [
            # The inbound webhook: WHERE number = From (STOP, START, HELP).
            models.Index(fields=["number"], name="textnumber_number"),
            # The worklist: numbers the provider refused. Partial: a handful of rows.
            models.Index(
                fields=["status_changed_at"],
                condition=Q(status__in=["invalid", "unsubscribed"]),
                name="textnumber_problem",
            ),
        ]

    def __str__(self):
        return f"{self.guardian} {self.number} ({self.get_status_display()})"

    @property
    def can_text(self):
        return self.status == NumberStatus.ACTIVE


class NumberEvent(models.Model):
    """Append-only: every change to a number (code sent, confirmed, STOP, START, refused)."""

    class Event(models.TextChoices):
        SET = "set", _("Number entered, code sent")
        CODE_SENT = "code_sent", _("Code sent again")
        WRONG_CODE = "wrong_code", _("Wrong code")
        CONFIRMED = "confirmed", _("Confirmed")
        REMOVED = "removed", _("Removed by the guardian")
        STOP = "stop", _("Replied STOP")
        START = "start", _("Replied START")
        HELP = "help", _("Replied HELP")
        INVALID = "invalid", _("Provider: not a valid number")
        UNSUBSCRIBED = "unsubscribed", _("Provider: unsubscribed")

    guardian = models.ForeignKey("journey.Guardian", on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=20)
    event = models.CharField(max_length=15, choices=Event.choices)
    detail = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["guardian", "at", "pk"]
        verbose_name = _("text message number event")
        verbose_name_plural = _("text message number events")
        indexes = [models.Index(fields=["guardian", "at"], name="numberevent_guardian")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.number} {self.get_event_display()}"
