"""Results arriving from lab systems: who may send, their local codes, the inbox, each result.

The inbox keeps every message as received (bytes), before any answer is given; each
observation of a message becomes one InboundResult that says what became of it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from journey.models.people import validate_time_zone


class LabSender(models.Model):
    """A lab system allowed to send results to one center (HL7 MSH-4, or a FHIR token's lab)."""

    center = models.ForeignKey(
        "journey.Center", on_delete=models.PROTECT, related_name="lab_senders"
    )
    name = models.CharField(_("name"), max_length=200)
    sending_facility = models.CharField(
        _("sending facility"),
        max_length=180,
        unique=True,
        help_text=_("As the lab writes it in MSH-4 (the first part)."),
    )
    assigning_authority = models.CharField(
        _("assigning authority of the medical record number"),
        max_length=60,
        help_text=_("PID-3's identifiers from this authority are the center's record numbers."),
    )
    time_zone = models.CharField(
        _("time zone of the lab"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    active = models.BooleanField(_("accepting results"), default=True)
    # FHIR API token: only its SHA-256 is kept (interfaces/tokens.py); shown once when issued.
    api_token_hash = models.CharField(
        _("API token (hashed)"), max_length=64, blank=True, editable=False
    )
    api_token_issued_at = models.DateTimeField(
        _("API token issued at"), null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("lab system")
        verbose_name_plural = _("lab systems")
        constraints = [
            models.UniqueConstraint(
                fields=["api_token_hash"],
                condition=~Q(api_token_hash=""),
                name="labsender_token_unique",
            )
        ]

    def __str__(self):
        return self.name


class LocalCode(models.Model):
    """A lab's own test code (not LOINC) and the catalogue test it means."""

    sender = models.ForeignKey(LabSender, on_delete=models.CASCADE, related_name="local_codes")
    code = models.CharField(_("lab's code"), max_length=60)
    test = models.ForeignKey(
        "tracker.LabTest", on_delete=models.PROTECT, related_name="+", verbose_name=_("test")
    )

    class Meta:
        ordering = ["sender", "code"]
        verbose_name = _("lab's local code")
        verbose_name_plural = _("lab's local codes")
        constraints = [
            models.UniqueConstraint(fields=["sender", "code"], name="localcode_once_per_lab")
        ]

    def __str__(self):
        return f"{self.code} = {self.test.code}"


class Source(models.TextChoices):
    HL7V2 = "hl7v2", _("HL7 v2")
    FHIR = "fhir", _("FHIR R4")


class Channel(models.TextChoices):
    MLLP = "mllp", _("MLLP listener")
    FOLDER = "folder", _("Drop folder")
    HTTP = "http", _("HTTP")


class MessageStatus(models.TextChoices):
    RECEIVED = "received", _("Received, waiting")
    PROCESSED = "processed", _("Processed")
    ERROR = "error", _("Error (answered AE)")
    REJECTED = "rejected", _("Rejected (answered AR)")


class InboundMessage(models.Model):
    """One message as received, stored before the answer (ACK) is sent."""

    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    sender = models.CharField(_("sending facility"), max_length=180, blank=True)
    control_id = models.CharField(_("message id"), max_length=199, blank=True)
    lab = models.ForeignKey(
        LabSender, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    received_at = models.DateTimeField(_("received at"))
    size = models.PositiveIntegerField(_("size in bytes"))
    raw = models.BinaryField(_("message as received"))
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.RECEIVED
    )
    ack_code = models.CharField(_("answer"), max_length=2)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        constraints = [
            # Idempotency: a re-sent message (same sender, same id) is the same row.
            models.UniqueConstraint(
                fields=["source", "sender", "control_id"],
                condition=~Q(control_id=""),
                name="inbound_once_per_sender_id",
            ),
            models.CheckConstraint(
                condition=Q(status__in=MessageStatus.values), name="inbound_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(ack_code__in=["AA", "AE", "AR"]), name="inbound_ack_valid"
            ),
        ]
        indexes = [
            # The sweep: messages still waiting for their task.
            models.Index(
                fields=["received_at"],
                condition=Q(status="received"),
                name="inbound_waiting",
            ),
        ]

    def __str__(self):
        return f"{self.sender} {self.control_id}".strip() or f"#{self.pk}"


class ResultState(models.TextChoices):
    RECORDED = "recorded", _("Recorded")
    UNMATCHED = "unmatched", _("Not matched: waiting for a coordinator")
    PRELIMINARY = "preliminary", _("Preliminary (not recorded until final)")
    CANCELLED = "cancelled", _("Cancelled by the lab")
    REJECTED = "rejected", _("Rejected by a coordinator")


class Problem(models.TextChoices):
    NONE = "", _("None")
    PATIENT = "patient", _("Patient not found")
    TEST = "test", _("Test not known")
    UNIT = "unit", _("Unit not known")
    VALUE = "value", _("Value not usable")
    OTHER = "other", _("Other")


class InboundResult(models.Model):
    """One observation (OBX) of a message and what became of it."""

    # No index of its own: inbound_result_once leads with the message.
    message = models.ForeignKey(
        InboundMessage, on_delete=models.PROTECT, related_name="results", db_index=False
    )
    center = models.ForeignKey(
        "journey.Center", on_delete=models.PROTECT, related_name="+", verbose_name=_("center")
    )
    position = models.PositiveIntegerField(_("position in the message"))
    patient_ids = models.CharField(_("patient identifiers as sent"), max_length=250)
    record_number = models.CharField(
        _("record number (lab's authority)"), max_length=60, blank=True
    )
    patient_name = models.CharField(_("patient name as sent"), max_length=200, blank=True)
    birth_date = models.DateField(_("birth date as sent"), null=True, blank=True)
    order_id = models.CharField(_("lab's order number"), max_length=100, blank=True)
    code = models.CharField(_("test code as sent"), max_length=60, blank=True)
    code_text = models.CharField(_("test name as sent"), max_length=200, blank=True)
    value = models.CharField(_("value as sent"), max_length=200, blank=True)
    unit = models.CharField(_("unit as sent"), max_length=40, blank=True)
    reference_range = models.CharField(_("lab's reference range"), max_length=60, blank=True)
    result_status = models.CharField(_("lab's result status"), max_length=2, blank=True)
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)
    test = models.ForeignKey(
        "tracker.LabTest", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    journey = models.ForeignKey(
        "journey.Journey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lab_result = models.ForeignKey(
        "tracker.LabResult", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(_("state"), max_length=12, choices=ResultState.choices)
    problem = models.CharField(_("problem"), max_length=10, choices=Problem.choices, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.CharField(_("why rejected"), max_length=500, blank=True)

    class Meta:
        ordering = ["message", "position"]
        verbose_name = _("lab system result")
        verbose_name_plural = _("lab system results")
        constraints = [
            models.UniqueConstraint(fields=["message", "position"], name="inbound_result_once"),
            models.CheckConstraint(
                condition=Q(state__in=ResultState.values), name="inbound_result_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state="recorded") | Q(lab_result__isnull=False),
                name="inbound_recorded_has_result",
            ),
            models.CheckConstraint(
                condition=~Q(state="unmatched") | ~Q(problem=""),
                name="inbound_unmatched_says_why",
            ),
            models.CheckConstraint(
                condition=~Q(state="rejected") | ~Q(resolution=""),
                name="inbound_rejected_says_why",
            ),
        ]
        indexes = [
            # The worklist's unmatched queue, one center's, oldest first.
            models.Index(
                fields=["center", "id"], condition=Q(state="unmatched"), name="inbound_unmatched"
            ),
            # A correction (OBX-11 C) finds the result it supersedes.
            models.Index(fields=["order_id", "code"], name="inbound_by_order"),
        ]

    def __str__(self):
        return f"{self.code_text or self.code} {self.value} {self.unit}".strip()
