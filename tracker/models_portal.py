"""Portal-only state of the tracker: the families' private calendar links.

Kept out of models.py (the tracker's core) and imported at its end so Django registers it.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["CalendarFeed"]


class CalendarFeed(models.Model):
    """One guardian's private calendar link for one child.

    The URL carries a signed form of `key` (tracker.calendar.feed_token), so the database alone
    does not give the links away. Regenerating revokes the old row and adds a new one; revoked
    rows stay as the record of which links once worked.
    """

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    guardian = models.ForeignKey(
        "journey.Guardian", on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("calendar link")
        verbose_name_plural = _("calendar links")
        constraints = [
            # The calendar page's "current link" look-up, and no two live links per pair.
            models.UniqueConstraint(
                fields=["guardian", "patient"],
                condition=Q(revoked_at__isnull=True),
                name="calendarfeed_one_active",
            ),
        ]

    def __str__(self):
        return f"{self.guardian} / {self.patient}"

    @property
    def is_active(self):
        return self.revoked_at is None
