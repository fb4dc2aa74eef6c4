"""Where a draw happens: the local labs a center's families use, and who sends the result.

A plan's default site (MonitoringPlan.default_lab, empty: the center) is set once by the
coordinator; a scheduled row follows it unless its own `site` says otherwise
(tracker.sites.place_for resolves it). Changing one draw's site leaves a DrawSiteChange.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ResultSender(models.TextChoices):
    LAB_INTERFACE = "interface", _("The lab, by interface")
    LAB_FAX = "fax_portal", _("The lab, by fax or portal")
    FAMILY = "family", _("The family")


class SiteChoice(models.TextChoices):
    DEFAULT = "", _("The family's usual site")
    CENTER = "center", _("The center")
    LOCAL_LAB = "local_lab", _("A local lab")


class LocalLab(models.Model):
    """A lab near a family's home that draws blood for a center's patients."""

    center = models.ForeignKey(
        "journey.Center", on_delete=models.PROTECT, related_name="local_labs"
    )
    name = models.CharField(_("name"), max_length=120)
    address = models.CharField(_("address"), max_length=300)
    phone = models.CharField(_("phone"), max_length=40)

    class Meta:
        ordering = ["center", "name"]
        verbose_name = _("local lab")
        verbose_name_plural = _("local labs")
        constraints = [
            models.UniqueConstraint(fields=["center", "name"], name="locallab_unique_name"),
        ]

    def __str__(self):
        return self.name


class DrawSiteChange(models.Model):
    """Append-only: a coordinator moved one draw (journey + due day) to another site."""

    journey = models.ForeignKey(
        "journey.Journey", on_delete=models.CASCADE, related_name="draw_site_changes"
    )
    due_on = models.DateField(_("due on"))
    site = models.CharField(_("site"), max_length=12, choices=SiteChoice.choices, blank=True)
    local_lab = models.ForeignKey(
        LocalLab, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    result_sender = models.CharField(
        _("who sends the result"), max_length=12, choices=ResultSender.choices, blank=True
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(_("when"))
    reason = models.CharField(_("why"), max_length=300)

    class Meta:
        ordering = ["-changed_at"]
        verbose_name = _("draw site change")
        verbose_name_plural = _("draw site changes")
        constraints = [
            models.CheckConstraint(
                condition=Q(site="local_lab", local_lab__isnull=False)
                | (~Q(site="local_lab") & Q(local_lab__isnull=True)),
                name="drawsitechange_lab_iff_local",
            ),
        ]

    def __str__(self):
        return f"{self.due_on}: {self.get_site_display()}"
