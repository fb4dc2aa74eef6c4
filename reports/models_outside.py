"""A result from a local lab, sent by the family: typed (test, value, unit, date, lab) or a
photo or PDF of the report, or both.

It is never a LabResult until a coordinator verifies it: until then no flag, exit rule, chart,
worklist list or email reads it. Verifying records the real result through tracker's service
and links it here (`result`); rejecting keeps the reason. The file lives in private storage
(settings.WAYPOINT_PRIVATE_MEDIA_ROOT, outside the web root) under a random name.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from journey.uploads import FileType, PrivateStorage, private_storage  # noqa: F401 (migrations)

MAX_VALUE = 20
MAX_LAB_NAME = 120
MAX_FILE_NAME = 120
MAX_VERIFY_NOTE = 500


def random_name(instance, filename):
    """A random name with the extension of the checked type: the family's name is never stored."""
    return f"outside/{uuid.uuid4().hex}.{instance.file_type}"


class OutsideStatus(models.TextChoices):
    PENDING = "pending", _("Reported by family, not verified")
    VERIFIED = "verified", _("Verified as sent")
    CORRECTED = "corrected", _("Verified with corrections")
    REJECTED = "rejected", _("Rejected")


class OutsideResult(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "journey.Patient",
        on_delete=models.CASCADE,
        related_name="outside_results",
        verbose_name=_("patient"),
    )
    journey = models.ForeignKey("journey.Journey", on_delete=models.CASCADE, related_name="+")
    center = models.ForeignKey("journey.Center", on_delete=models.CASCADE, related_name="+")
    guardian = models.ForeignKey(
        "journey.Guardian",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    test = models.ForeignKey(
        "tracker.LabTest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("test"),
    )
    value = models.CharField(_("value as sent"), max_length=MAX_VALUE, blank=True)
    unit = models.CharField(_("unit as sent"), max_length=MAX_VALUE, blank=True)
    collected_on = models.DateField(_("collection date as sent"), null=True, blank=True)
    lab_name = models.CharField(_("lab"), max_length=MAX_LAB_NAME, blank=True)
    file = models.FileField(
        _("report file"), storage=private_storage, upload_to=random_name, blank=True
    )
    file_type = models.CharField(_("file type"), max_length=3, choices=FileType.choices, blank=True)
    # Shown to staff only ("lab-report.pdf"); the stored file has a random name.
    file_name = models.CharField(_("file name as sent"), max_length=MAX_FILE_NAME, blank=True)
    created_at = models.DateTimeField(_("sent at"))
    status = models.CharField(
        _("status"), max_length=10, choices=OutsideStatus.choices, default=OutsideStatus.PENDING
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checked by"),
    )
    verified_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    verify_note = models.CharField(_("why"), max_length=MAX_VERIFY_NOTE, blank=True)
    result = models.ForeignKey(
        "tracker.LabResult",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded result"),
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("outside result")
        verbose_name_plural = _("outside results")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OutsideStatus.values), name="outside_status_valid"
            ),
            # Something was sent: a typed result or a file.
            models.CheckConstraint(
                condition=Q(test__isnull=False) | ~Q(file=""), name="outside_not_empty"
            ),
            # A typed result is whole: test, value, unit and date together.
            models.CheckConstraint(
                condition=Q(test__isnull=True)
                | (~Q(value="") & ~Q(unit="") & Q(collected_on__isnull=False)),
                name="outside_typed_whole",
            ),
            models.CheckConstraint(
                condition=Q(file="") | ~Q(file_type=""), name="outside_file_has_type"
            ),
            models.CheckConstraint(
                condition=Q(
                    status="pending",
                    verified_at__isnull=True,
                    verified_by__isnull=True,
                    result__isnull=True,
                )
                | Q(
                    status__in=["verified", "corrected"],
                    verified_at__isnull=False,
                    result__isnull=False,
                )
                | (Q(status="rejected", verified_at__isnull=False, result__isnull=True))
                & ~Q(verify_note=""),
                name="outside_checked_consistent",
            ),
        ]
        indexes = [
            # worklist.outside_results: WHERE status='pending' AND center IN (...) ORDER BY
            # created_at. Partial: only the few waiting, never the checked history.
            models.Index(
                fields=["center", "created_at"],
                condition=Q(status="pending"),
                name="outside_pending_by_time",
            ),
            # The family's labs page: this child's reports not checked yet.
            models.Index(fields=["patient", "created_at"], name="outside_patient_time"),
        ]

    def __str__(self):
        return f"{self.patient} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_pending(self):
        return self.status == OutsideStatus.PENDING
