"""The use cases: a family sends a report, a coordinator answers it."""

import datetime as dt
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from journey.models import Journey
from journey.portal import words

from . import signals
from .models import Status, SymptomReport

# Hours to the "respond by" deadline (settings.REPORTS_RESPONSE_HOURS overrides).
DEFAULT_RESPONSE_HOURS = {"urgent": 1, "other": 24}


def response_hours(urgent):
    hours = getattr(settings, "REPORTS_RESPONSE_HOURS", DEFAULT_RESPONSE_HOURS)
    return hours["urgent" if urgent else "other"]


def latest_journey(patient):
    """The child's latest journey (its therapy has the "call now" signs), or None."""
    journeys = Journey.objects.filter(patient=patient).select_related("therapy")
    return journeys.order_by("-opened_at", "-pk").first()


def sign_entries(journey, today):
    """The therapy's "call now" entries a family may tick, when they apply (as on the card)."""
    if journey is None or journey.therapy is None or not words.signs_due(journey, today):
        return []
    return [e for e in journey.therapy.urgent_symptoms or [] if words.urgent_line(e)]


def submit_report(guardian, patient, journey, signs, text, language="", now=None):
    """Save the family's report; urgent when a sign is ticked. Higher apps hear it on commit."""
    now = now or timezone.now()
    urgent = bool(signs)
    with transaction.atomic():
        report = SymptomReport.objects.create(
            patient=patient,
            journey=journey,
            center_id=patient.center_id,
            guardian=guardian,
            signs=list(signs),
            urgent=urgent,
            text=text.strip(),
            language=language,
            created_at=now,
            respond_by=now + dt.timedelta(hours=response_hours(urgent)),
        )
        transaction.on_commit(
            partial(signals.report_submitted.send, sender=SymptomReport, report=report)
        )
    return report


def answer_report(report, by, note="", now=None):
    """Mark an open report answered (who, when, what was done); False if it was already."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = SymptomReport.objects.select_for_update().get(pk=report.pk)
        if locked.status != Status.OPEN:
            return False
        locked.status, locked.answered_by, locked.answered_at = Status.ANSWERED, by, now
        locked.answer_note = note.strip()
        locked.save(update_fields=["status", "answered_by", "answered_at", "answer_note"])
        transaction.on_commit(
            partial(signals.report_answered.send, sender=SymptomReport, report=locked, by=by)
        )
    return True
