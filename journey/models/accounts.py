"""Portal accounts: invitations (one-time links) and the history of a guardian's access."""

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def hash_token(raw_token):
    """Only this digest is stored: a leaked database does not hand out working links."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet):
    def open(self):
        """Neither accepted nor revoked (it may still have expired)."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)


class Invitation(models.Model):
    """A one-time link that lets a guardian set a password and reach the portal."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    guardian = models.ForeignKey(
        "journey.Guardian", on_delete=models.CASCADE, related_name="invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    email = models.EmailField(_("sent to"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("portal invitation")
        verbose_name_plural = _("portal invitations")
        constraints = [
            # Re-sending revokes the old link first: at most one link works at a time.
            models.UniqueConstraint(
                fields=["guardian"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_guardian",
            ),
        ]

    def __str__(self):
        return f"{self.email} ({self.created_at:%Y-%m-%d})"

    def is_usable(self, now=None):
        now = now or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at

    def status(self, now=None):
        now = now or timezone.now()
        if self.accepted_at:
            return _("accepted")
        if self.revoked_at:
            return _("revoked")
        if now >= self.expires_at:
            return _("expired")
        return _("waiting")


class PortalAccessChange(models.Model):
    """Append-only: every invitation sent, accepted or revoked, and every access revocation."""

    class Action(models.TextChoices):
        INVITED = "invited", _("Invitation sent")
        INVITATION_REVOKED = "invitation_revoked", _("Invitation revoked")
        ACCEPTED = "accepted", _("Invitation accepted")
        ACCESS_REVOKED = "access_revoked", _("Portal access revoked")
        RESTRICTED = "restricted", _("Access restricted by the care team")
        RESTRICTION_ENDED = "restriction_ended", _("Restriction lifted")
        AGE_POLICY = "age_policy", _("Access changed by the age policy")
        ADULT_GUARDIANSHIP = "adult_guardianship", _("Adult guardianship recorded")

    guardian = models.ForeignKey(
        "journey.Guardian", on_delete=models.CASCADE, related_name="access_changes"
    )
    action = models.CharField(_("what"), max_length=30, choices=Action.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("when"))

    class Meta:
        ordering = ["guardian", "at", "pk"]
        verbose_name = _("portal access change")
        verbose_name_plural = _("portal access history")

    def __str__(self):
        return f"{self.get_action_display()} {self.at:%Y-%m-%d}"
