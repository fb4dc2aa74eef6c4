"""Who on the care team looks after which family, and the record of each hand-over when a
coordinator leaves. Rules in journey/staffing.py."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class CareAssignment(models.Model):
    """The coordinator a family is assigned to (at most one)."""

    patient = models.OneToOneField(
        "journey.Patient",
        on_delete=models.CASCADE,
        related_name="care_assignment",
        verbose_name=_("patient"),
    )
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="care_assignments",
        verbose_name=_("coordinator"),
    )
    assigned_at = models.DateTimeField(_("assigned at"), auto_now=True)

    class Meta:
        ordering = ["patient"]
        verbose_name = _("assigned coordinator")
        verbose_name_plural = _("assigned coordinators")
        indexes = [
            # A coordinator's families (hand-over, orphan check).
            models.Index(fields=["coordinator"], name="careassignment_coordinator"),
        ]

    def __str__(self):
        return f"{self.patient} → {self.coordinator}"


class StaffHandover(models.Model):
    """An append-only record: a leaving coordinator's families (and registered items, e.g.
    open message threads) moved to a colleague."""

    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    moved_at = models.DateTimeField()
    families = models.PositiveIntegerField(default=0)
    # Other items moved, counted by kind ({"threads": 2}): the kinds higher apps register with
    # journey.staffing.register_held_items (journey names none of them).
    items = models.JSONField(_("other items moved"), default=dict, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["-moved_at", "-pk"]
        verbose_name = _("coordinator hand-over")
        verbose_name_plural = _("coordinator hand-overs")
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_user=F("to_user")), name="staffhandover_other_user"
            ),
        ]

    def __str__(self):
        return f"{self.from_user} → {self.to_user}"
