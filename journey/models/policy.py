"""A center's own eligibility policy: which of the catalogue's center-policy criteria it applies."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .catalogue import CriterionOrigin


class CenterCriterionSetting(models.Model):
    """One center's on/off switch for one center-policy criterion, with the latest who/when/why.

    No row means off: a center-policy criterion applies only where a center turned it on.
    Every change is kept by the audit trail (before/after, actor, reason).
    """

    center = models.ForeignKey(
        "journey.Center",
        on_delete=models.CASCADE,
        related_name="criterion_settings",
        verbose_name=_("center"),
    )
    criterion = models.ForeignKey(
        "journey.EligibilityCriterion",
        on_delete=models.CASCADE,
        related_name="center_settings",
        limit_choices_to={"origin": CriterionOrigin.CENTER},
        verbose_name=_("center-policy criterion"),
    )
    enabled = models.BooleanField(_("applied at this center"), default=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed at"))
    reason = models.TextField(_("why"))

    class Meta:
        ordering = ["center", "criterion"]
        verbose_name = _("center eligibility policy")
        verbose_name_plural = _("center eligibility policies")
        constraints = [
            models.UniqueConstraint(
                fields=["center", "criterion"],
                name="centercriterion_unique",
                violation_error_message=_("This center already has a setting for this rule."),
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="centercriterion_reason_given"),
        ]

    def __str__(self):
        state = _("applied") if self.enabled else _("not applied")
        return f"{self.center}: {self.criterion} ({state})"

    def clean(self):
        super().clean()
        criterion = self.criterion if self.criterion_id else None
        if criterion is not None and criterion.origin != CriterionOrigin.CENTER:
            raise ValidationError(
                {"criterion": _("Only center-policy criteria can be turned on or off by a center.")}
            )
