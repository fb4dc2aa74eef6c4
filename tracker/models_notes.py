"""A coordinator's plain-language note for the family, on one result or on one draw.

"ALT is a little higher, as expected in week 3; no change to the steroid." The family reads it
beside the result (or the draw's day) on the labs page; it is never emailed (emails carry no
results). A note is corrected, never rewritten: every text it ever had is a FamilyNoteRevision
row (who, when, why), and the note holds the current one. Staff-only review notes stay on the
result (LabResult.review_note) and never reach the family. Imported by tracker.models.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

NOTE_MAX = 1000


class FamilyNote(models.Model):
    """The current text of a note on one result (`result`) or one draw (`due_on`)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    journey = models.ForeignKey(
        "journey.Journey", on_delete=models.CASCADE, related_name="family_notes"
    )
    result = models.OneToOneField(
        "tracker.LabResult",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="family_note",
    )
    # A draw is a journey and a due day (tracker.draws).
    due_on = models.DateField(_("draw due on"), null=True, blank=True)
    text = models.TextField(_("note for the family"), max_length=NOTE_MAX)
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    written_at = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("note for the family")
        verbose_name_plural = _("notes for the family")
        constraints = [
            models.CheckConstraint(
                condition=Q(result__isnull=False, due_on__isnull=True)
                | Q(result__isnull=True, due_on__isnull=False),
                name="familynote_result_or_draw",
            ),
            # One note per draw (the family page and the draw page look it up by this key).
            models.UniqueConstraint(
                fields=["journey", "due_on"],
                condition=Q(due_on__isnull=False),
                name="familynote_one_per_draw",
            ),
            models.CheckConstraint(condition=~Q(text=""), name="familynote_has_text"),
        ]

    def __str__(self):
        return self.text[:60]


class FamilyNoteRevision(models.Model):
    """One text a note had, append-only: the first version and every correction."""

    note = models.ForeignKey(FamilyNote, on_delete=models.CASCADE, related_name="revisions")
    text = models.TextField(_("note for the family"), max_length=NOTE_MAX)
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    written_at = models.DateTimeField(_("written at"))
    reason = models.TextField(_("why changed"), blank=True)

    class Meta:
        ordering = ["note", "written_at", "pk"]
        verbose_name = _("note revision")
        verbose_name_plural = _("note revisions")
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="familynoterev_has_text")]

    def __str__(self):
        return f"{self.written_at:%Y-%m-%d %H:%M}: {self.text[:60]}"
