"""The reminders outbox: preferences, one row per reminder to send, one row per send attempt.

The database is the source of truth for everything scheduled: the broker only carries "look
now". A Redis wipe loses nothing, because every reminder is a Reminder row with its send instant.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MAX_LEAD_DAYS = 3
MAX_SNOOZE_DAYS = 7


class Kind(models.TextChoices):
    LAB_REMINDER = "lab_reminder", _("Before a lab draw or visit")
    OVERDUE_NUDGE = "overdue_nudge", _("Overdue lab: nudge")
    OVERDUE_OTHER_GUARDIAN = "overdue_other_guardian", _("Overdue lab: other guardians")
    STAGE_CHANGED = "stage_changed", _("New stage")
    STEP_DUE = "step_due", _("Family step coming due")
    CRITICAL_RESULT = "critical_result", _("Critical result (coordinator)")
    OVERDUE_COORDINATOR = "overdue_coordinator", _("Overdue lab (coordinator)")
    DAILY_DIGEST = "daily_digest", _("Daily worklist digest (coordinator)")
    URGENT_REPORT = "urgent_report", _("Family reported an urgent sign (coordinator)")
    MESSAGE_WAITING = "message_waiting", _("A message is waiting")
    MESSAGE_WAITING_STAFF = "message_waiting_staff", _("A family message is waiting (coordinator)")
    CONTACT_CHECK = "contact_check", _("Are these still your contact details?")
    CENTER_CHANGED = "center_changed", _("Care moved to another center")
    AUTHORIZATION_EXPIRING = (
        "authorization_expiring",
        _("Insurance approval ending soon (coordinator)"),
    )
    AGE_CHANGE_FAMILY = "age_change_family", _("Access changes at a birthday")
    AGE_CHANGE_COORDINATOR = (
        "age_change_coordinator",
        _("Access changes at a birthday (coordinator)"),
    )


GUARDIAN_KINDS = [
    Kind.LAB_REMINDER,
    Kind.OVERDUE_NUDGE,
    Kind.OVERDUE_OTHER_GUARDIAN,
    Kind.STAGE_CHANGED,
    Kind.STEP_DUE,
    Kind.MESSAGE_WAITING,
    Kind.CONTACT_CHECK,
    Kind.CENTER_CHANGED,
    Kind.AGE_CHANGE_FAMILY,
]
# Planned by their own passes (notifications.expiry, notifications.followup), never by the
# per-child sweep: its scope leaves them alone.
PLANNED_APART = ["authorization_expiring", "contact_check", "center_changed"]
COORDINATOR_KINDS = [
    Kind.CRITICAL_RESULT,
    Kind.OVERDUE_COORDINATOR,
    Kind.DAILY_DIGEST,
    Kind.URGENT_REPORT,
    Kind.MESSAGE_WAITING_STAFF,
    Kind.AUTHORIZATION_EXPIRING,
    Kind.AGE_CHANGE_COORDINATOR,
]
# Planned per thread by notifications.messages (not by the children's sweep).
MESSAGE_KINDS = [Kind.MESSAGE_WAITING, Kind.MESSAGE_WAITING_STAFF]
# Planned by their own sweep (notifications.custody), not from a child's plan: the plan's
# reconcile leaves them alone.
SELF_PLANNED_KINDS = [Kind.AGE_CHANGE_FAMILY, Kind.AGE_CHANGE_COORDINATOR]


class Channel(models.TextChoices):
    """How one outbox row reaches its recipient."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")


class ChannelChoice(models.TextChoices):
    """A guardian's choice for one kind of message (Preference.*_channel)."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")
    BOTH = "both", _("Email and text message")


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class CancelReason(models.TextChoices):
    """Why dispatch cancelled a row at send time instead of sending it."""

    DONE = "done", _("The lab or step was done or missed")
    DAY_PASSED = "day_passed", _("Its day passed before it could be sent")
    NO_NUMBER = "no_number", _("No confirmed phone number to text")


class CenterNotificationSettings(models.Model):
    """A center's reminder policy; lives here because notifications may not edit journey."""

    center = models.OneToOneField(
        "journey.Center", on_delete=models.CASCADE, related_name="notification_settings"
    )
    minimal = models.BooleanField(
        _("minimal emails"),
        default=False,
        help_text=_("No child's name and no date in any email: only 'log in to see'."),
    )

    class Meta:
        verbose_name = _("center reminder settings")
        verbose_name_plural = _("center reminder settings")

    def __str__(self):
        return str(self.center)


class Preference(models.Model):
    """One guardian's choices for one child. No row means the defaults."""

    guardian = models.ForeignKey(
        "journey.Guardian", on_delete=models.CASCADE, related_name="reminder_preferences"
    )
    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.CASCADE, related_name="reminder_preferences"
    )
    lab_reminders = models.BooleanField(_("before labs and visits"), default=True)
    overdue_nudges = models.BooleanField(_("when a lab is overdue"), default=True)
    stage_notes = models.BooleanField(_("when the journey reaches a new stage"), default=True)
    step_reminders = models.BooleanField(_("when a family step is coming due"), default=True)
    lead_days = models.PositiveSmallIntegerField(
        _("days before"), default=1, help_text=_("0 (same day) to 3.")
    )
    local_hour = models.PositiveSmallIntegerField(_("hour of the day"), default=9)
    quiet_start = models.TimeField(_("quiet hours from"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours until"), null=True, blank=True)
    minimal = models.BooleanField(_("minimal emails"), default=False)
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    # Email, text or both, per kind of message (planning.CHANNEL_GROUPS). A text needs a
    # confirmed number (sms.models.TextNumber); without one the message goes by email.
    lab_channel = models.CharField(
        _("lab reminders by"), max_length=5, choices=ChannelChoice.choices, default="email"
    )
    messages_channel = models.CharField(
        _("messages waiting by"), max_length=5, choices=ChannelChoice.choices, default="email"
    )
    stage_channel = models.CharField(
        _("stage news by"), max_length=5, choices=ChannelChoice.choices, default="email"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reminder preference")
        verbose_name_plural = _("reminder preferences")
        constraints = [
            models.UniqueConstraint(fields=["guardian", "patient"], name="preference_unique"),
            models.CheckConstraint(
                condition=Q(lead_days__lte=MAX_LEAD_DAYS), name="preference_lead_days_range"
            ),
            models.CheckConstraint(
                condition=Q(local_hour__lte=23), name="preference_local_hour_range"
            ),
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="preference_quiet_both_or_none",
            ),
        ]

    def __str__(self):
        return f"{self.guardian} / {self.patient}"


class Reminder(models.Model):
    """The outbox row: one email to one recipient about one thing, due at `send_at` (UTC)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = models.CharField(
        _("idempotency key"), max_length=200, unique=True, help_text="recipient:kind:subject:date"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    guardian = models.ForeignKey(
        "journey.Guardian", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("coordinator"),
    )
    center = models.ForeignKey("journey.Center", on_delete=models.CASCADE, related_name="+")
    # Looked up through reminder_patient_status (patient first): no index of its own, one
    # index fewer for every status change to write.
    patient = models.ForeignKey(
        "journey.Patient",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    journey = models.ForeignKey(
        "journey.Journey", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    scheduled_lab = models.ForeignKey(
        "tracker.ScheduledLab", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    step = models.ForeignKey(
        "journey.ChecklistStep", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    result = models.ForeignKey(
        "tracker.LabResult", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    due_on = models.DateField(_("about the date"))
    # Part of the idempotency key too (planning.channel_key): one row per channel.
    channel = models.CharField(
        _("channel"), max_length=5, choices=Channel.choices, default="email", db_default="email"
    )
    rung = models.PositiveSmallIntegerField(_("repeat"), default=0)
    send_at = models.DateTimeField(_("send at (UTC)"))
    time_zone = models.CharField(_("recipient's time zone"), max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    cancel_reason = models.CharField(
        _("why cancelled"),
        max_length=20,
        choices=CancelReason.choices,
        blank=True,
        db_default="",  # raw inserts (the sweep's unnest) leave it out
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["send_at", "pk"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            # Exactly one recipient: a guardian (family kinds) or a coordinator (staff kinds).
            models.CheckConstraint(
                condition=(Q(guardian__isnull=False, user__isnull=True, kind__in=GUARDIAN_KINDS))
                | Q(guardian__isnull=True, user__isnull=False, kind__in=COORDINATOR_KINDS),
                name="reminder_one_recipient_by_kind",
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="reminder_status_valid"
            ),
            # Texts go to guardians only (a coordinator's alerts are emails).
            models.CheckConstraint(
                condition=Q(channel="email") | Q(channel="sms", guardian__isnull=False),
                name="reminder_sms_to_guardian",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(lease_until__isnull=False),
                name="reminder_sending_has_lease",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="reminder_sent_has_time",
            ),
        ]
        indexes = [
            # dispatch.claim_batch: WHERE status='pending' AND send_at <= now ORDER BY send_at.
            # Partial, so the index holds only the (small) queue, never the sent history.
            models.Index(
                fields=["send_at"], condition=Q(status="pending"), name="reminder_pending_due"
            ),
            # dispatch.recover_expired_leases: WHERE status='sending' AND lease_until < now.
            models.Index(
                fields=["lease_until"], condition=Q(status="sending"), name="reminder_lease"
            ),
            # planning.reconcile cancel step and the admin delivery log: one patient's rows.
            models.Index(fields=["patient", "status"], name="reminder_patient_status"),
            # escalated_labs_for_centers: labs whose overdue ladder reached the coordinators.
            # Partial, so it stays small however long the sent history grows.
            models.Index(
                fields=["scheduled_lab"],
                condition=Q(kind="overdue_coordinator", status__in=["sent", "sending"]),
                name="reminder_escalated_lab",
            ),
            # failed_reminders_for_centers: the worklist's failed sends per center.
            models.Index(
                fields=["center", "send_at"], condition=Q(status="failed"), name="reminder_failed"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} → {self.recipient_email} ({self.get_status_display()})"

    @property
    def recipient(self):
        return self.guardian if self.guardian_id else self.user

    @property
    def recipient_email(self):
        recipient = self.recipient
        return recipient.email if recipient else ""

    @property
    def recipient_address(self):
        """Where a send goes: the email address, or for a text the number sms.dispatch read."""
        if self.channel == Channel.SMS:
            return str(getattr(self, "sms_to", None) or "")  # a PhoneNumber: as E.164 text
        return self.recipient_email


class Outcome(models.TextChoices):
    # Written before the message is handed to the relay and completed after: a row still
    # "unknown" belongs to a worker that died in between (the relay may have accepted it).
    UNKNOWN = "unknown", _("Handed to the relay: outcome unknown")
    SENT = "sent", _("Sent")
    RETRY = "retry", _("Transient error: will retry")
    FAILED = "failed", _("Permanent error: gave up")
    SKIPPED = "skipped", _("No longer due: not sent")
    DEFERRED = "deferred", _("Not sent now: no attempt spent")


class DeliveryAttempt(models.Model):
    """Append-only: every send attempt, who it was to, when, and what happened."""

    # Looked up through attempt_reminder (reminder first): no index of its own.
    reminder = models.ForeignKey(
        Reminder, on_delete=models.CASCADE, related_name="attempt_log", db_index=False
    )
    attempted_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    to_email = models.EmailField(_("to"))
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error = models.TextField(blank=True)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    resend_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("re-send of"),
        help_text=_("The attempt whose outcome a crash left unknown."),
    )

    class Meta:
        ordering = ["reminder", "attempted_at", "pk"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        indexes = [models.Index(fields=["reminder", "attempted_at"], name="attempt_reminder")]

    def __str__(self):
        return f"{self.attempted_at:%Y-%m-%d %H:%M} {self.get_outcome_display()}"


class RelayState(models.TextChoices):
    UP = "up", _("Up")
    DOWN = "down", _("Down: sending paused")


MAIL_RELAY = 1
SMS_RELAY = 2  # the text-message provider (notifications.sms)


class Relay(models.Model):
    """The mail relay as every worker sees it: one row, the circuit breaker (breaker.py).
    The text-message provider has its own row (SMS_RELAY), the same breaker.

    Down: nobody claims rows until `retry_at`; then one worker at a time (`probe_until`, a
    lease on the probe) tries to connect. In the database, as every due time is: a Redis wipe
    or a worker restart forgets nothing.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    state = models.CharField(max_length=10, choices=RelayState.choices, default=RelayState.UP)
    down_since = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    probe_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    alerted = models.BooleanField(default=False)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("mail relay")
        verbose_name_plural = _("mail relay")
        constraints = [
            models.CheckConstraint(condition=Q(id__in=[1, 2]), name="relay_one_row_per_channel"),
            models.CheckConstraint(
                condition=Q(state="up") | Q(down_since__isnull=False, retry_at__isnull=False),
                name="relay_down_has_times",
            ),
        ]

    def __str__(self):
        return self.get_state_display()


from .sms.models import NumberEvent, NumberStatus, TextNumber  # noqa: E402, F401 (the app's models)
