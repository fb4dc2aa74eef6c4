"""Notes for the family on a result or a draw: written, corrected (the old text stays), never
emailed. One note per result and per draw; every text is a FamilyNoteRevision (who, when, why).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journey.inputs import require_reason
from journey.models import Journey

from ..models import FamilyNote, FamilyNoteRevision, ScheduledLab
from ..models_notes import NOTE_MAX


def _text(text):
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the note for the family.")})
    if len(text) > NOTE_MAX:
        raise ValidationError(
            {"text": _("Keep the note under %(max)s characters.") % {"max": NOTE_MAX}}
        )
    return text


def draw_exists(journey, due_on):
    """A draw is the journey's rows due that day (not cancelled; tracker.draws)."""
    rows = ScheduledLab.objects.filter(journey=journey, due_on=due_on, cancelled_at__isnull=True)
    return rows.exists()


def write_note(journey, *, text, by, result=None, due_on=None, reason="", now=None):
    """Write the family's note on `result` or on the draw of `due_on`, or correct it.

    A first note needs no reason; a change of an existing note needs one, and the old text
    stays as a revision. The same text again changes nothing. Returns the FamilyNote."""
    if (result is None) == (due_on is None):
        raise ValueError("a note is on one result or one draw")
    text, now = _text(text), now or timezone.now()
    if result is not None and (result.journey_id != journey.pk or not result.is_current):
        raise ValidationError(_("This result no longer counts: write on the current one."))
    if due_on is not None and not draw_exists(journey, due_on):
        raise ValidationError(_("There is no draw on this day."))
    with transaction.atomic():
        # One writer per journey at a time: two first notes on one draw cannot both be created.
        Journey.objects.select_for_update().filter(pk=journey.pk).first()
        key = {"result": result} if result is not None else {"due_on": due_on}
        note = FamilyNote.objects.filter(journey=journey, **key).first()
        if note is not None and note.text == text:
            return note
        if note is None:
            note = FamilyNote.objects.create(
                journey=journey, text=text, written_by=by, written_at=now, **key
            )
            reason = (reason or "").strip()
        else:
            reason = require_reason(reason)
            note.text, note.written_by, note.written_at = text, by, now
            note.save(update_fields=["text", "written_by", "written_at"])
        FamilyNoteRevision.objects.create(
            note=note, text=text, written_by=by, written_at=now, reason=reason
        )
    return note
