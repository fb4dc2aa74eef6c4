"""Secure messages between a child's guardians and the care team of the child's center.

A thread belongs to one child and one center. Its state is a field (who it waits on, who has
it) changed only by conversations.services, each change leaving an append-only ThreadEvent.
Read state is per person (ReadMark). Attachments live in private storage under a random name.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from journey.uploads import FileType, PrivateStorage

MAX_SUBJECT = 120
MAX_BODY = 2000
MAX_FILE_NAME = 120


class ThreadStatus(models.TextChoices):
    CARE_TEAM = "care_team", _("Waiting on the care team")
    FAMILY = "family", _("Waiting on the family")
    CLOSED = "closed", _("Closed")


class EventKind(models.TextChoices):
    OPENED = "opened", _("Opened by the family")
    ASSIGNED = "assigned", _("Assigned")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


def private_storage():
    return PrivateStorage()


def random_name(instance, filename):
    """A random name with the checked type's extension: the sender's name is never stored."""
    return f"messages/{uuid.uuid4().hex}.{instance.file_type}"


class Thread(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "journey.Patient",
        on_delete=models.CASCADE,
        related_name="message_threads",
        verbose_name=_("patient"),
    )
    # The child's center when the family wrote: whose coordinators answer (scoping, inbox).
    center = models.ForeignKey("journey.Center", on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(_("subject"), max_length=MAX_SUBJECT)
    status = models.CharField(
        _("status"), max_length=10, choices=ThreadStatus.choices, default=ThreadStatus.CARE_TEAM
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    created_at = models.DateTimeField(_("started at"))
    last_message_at = models.DateTimeField(_("last message at"))
    # The response-time clock: set when the family writes and the team owes an answer, counted
    # in the center's business hours (conversations.hours); cleared by the team's reply.
    respond_by = models.DateTimeField(_("respond by"), null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-pk"]
        verbose_name = _("message thread")
        verbose_name_plural = _("message threads")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ThreadStatus.values), name="thread_status_valid"
            ),
            # The clock runs exactly while the thread waits on the care team.
            models.CheckConstraint(
                condition=Q(status="care_team", respond_by__isnull=False)
                | (~Q(status="care_team") & Q(respond_by__isnull=True)),
                name="thread_clock_while_waiting",
            ),
        ]
        indexes = [
            # worklist.overdue_threads: WHERE status='care_team' AND center IN (...) AND
            # respond_by < now ORDER BY respond_by. Partial: only threads waiting on the team.
            models.Index(
                fields=["center", "respond_by"],
                condition=Q(status="care_team"),
                name="thread_waiting_by_deadline",
            ),
            # The family's list: one child's threads, latest first.
            models.Index(fields=["patient", "-last_message_at"], name="thread_patient_latest"),
        ]

    def __str__(self):
        return f"{self.patient} · {self.subject}"

    def is_overdue(self, now):
        return self.respond_by is not None and self.respond_by < now


class Message(models.Model):
    """Append-only: what one person wrote (and attached) in a thread."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("written by"),
    )
    # The guardian who wrote (family side), or None for the care team.
    guardian = models.ForeignKey(
        "journey.Guardian", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_family = models.BooleanField(_("from the family"))
    body = models.TextField(_("message"), max_length=MAX_BODY, blank=True)
    created_at = models.DateTimeField(_("sent at"))
    file = models.FileField(
        _("attachment"), storage=private_storage, upload_to=random_name, blank=True
    )
    file_type = models.CharField(_("file type"), max_length=3, choices=FileType.choices, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.CheckConstraint(condition=~Q(body="") | ~Q(file=""), name="message_not_empty"),
            models.CheckConstraint(
                condition=Q(file="") | ~Q(file_type=""), name="message_file_has_type"
            ),
        ]
        indexes = [models.Index(fields=["thread", "created_at"], name="message_thread_time")]

    def __str__(self):
        return f"{self.thread_id} · {self.created_at:%Y-%m-%d %H:%M}"


class ReadMark(models.Model):
    """Up to when one person has read one thread."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="read_marks")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="readmark_one_per_person")
        ]

    def __str__(self):
        return f"{self.user_id} read {self.thread_id} at {self.read_at:%Y-%m-%d %H:%M}"


class ThreadEvent(models.Model):
    """Append-only: each change of a thread's state (opened, assigned, closed, reopened)."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("what"), max_length=10, choices=EventKind.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("thread event")
        verbose_name_plural = _("thread events")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="event_kind_valid")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.at:%Y-%m-%d %H:%M}"


class BusinessHours(models.Model):
    """When a center's care team answers messages; no row means the defaults."""

    center = models.OneToOneField(
        "journey.Center", on_delete=models.CASCADE, related_name="business_hours"
    )
    opens = models.TimeField(_("opens"), default=dt.time(9))
    closes = models.TimeField(_("closes"), default=dt.time(17))
    # ISO weekdays the team works, Monday=1 ("12345": Monday to Friday).
    weekdays = models.CharField(_("working days"), max_length=7, default="12345")
    response_hours = models.PositiveSmallIntegerField(
        _("answer within (business hours)"), default=8
    )

    class Meta:
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")
        constraints = [
            models.CheckConstraint(condition=Q(opens__lt=models.F("closes")), name="hours_open"),
            models.CheckConstraint(
                condition=Q(weekdays__regex=r"^[1-7]{1,7}$"), name="hours_weekdays_valid"
            ),
            models.CheckConstraint(condition=Q(response_hours__gte=1), name="hours_response"),
        ]

    def __str__(self):
        return str(self.center)
