"""The coordinator's answers to the unmatched queue: match to a child, try again, reject."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journey import access
from journey.inputs import require_reason
from journey.models import OPEN_STAGES, Journey

from .models import InboundResult, Problem, ResultState
from .processing import settle


def unmatched_for(user):
    """The unmatched results of the user's centers, oldest first."""
    rows = InboundResult.objects.filter(state=ResultState.UNMATCHED)
    return access.scope_to_centers(rows, user, "center").order_by("pk")


def candidates(item, name="", born=None):
    """Open journeys at the item's center, by name and/or birth date (what the lab sent).
    The caller has checked that the user works at that center."""
    journeys = Journey.objects.filter(center=item.center_id, stage__in=OPEN_STAGES)
    for word in name.split()[:4]:
        journeys = journeys.filter(patient__first_name__icontains=word) | journeys.filter(
            patient__last_name__icontains=word
        )
    if born:
        journeys = journeys.filter(patient__date_of_birth=born)
    return journeys.select_related("patient").order_by("patient__last_name", "pk")[:20]


def match(item, journey, *, by, now=None):
    """Record the item (and its waiting siblings from the same child and message) on journey."""
    now = now or timezone.now()
    if journey.center_id != item.center_id or journey.stage not in OPEN_STAGES:
        raise PermissionDenied
    with transaction.atomic():
        rows = list(
            InboundResult.objects.select_for_update(of=("self",))
            .select_related("message__lab", "test")
            .filter(
                message=item.message_id,
                state=ResultState.UNMATCHED,
                problem=Problem.PATIENT,
                patient_ids=item.patient_ids,
            )
        )
        rows = rows or [item]
        for row in rows:
            row.journey = journey
            _resolved(row, by, now)
        settle(rows, by=by, now=now)
    return rows


def retry(item, *, by, now=None):
    """Try again after a mapping was added (a local code, the child's record number)."""
    now = now or timezone.now()
    with transaction.atomic():
        row = InboundResult.objects.select_for_update().get(pk=item.pk)
        _resolved(row, by, now)
        settle([row], by=by, now=now)
    return row


def reject(item, reason, *, by, now=None):
    reason = require_reason(reason, "resolution")
    updated = InboundResult.objects.filter(pk=item.pk, state=ResultState.UNMATCHED).update(
        state=ResultState.REJECTED,
        resolution=reason[:500],
        resolved_by=by,
        resolved_at=now or timezone.now(),
    )
    if updated != 1:
        raise ValidationError(_("This result is no longer waiting."))


def _resolved(row, by, now):
    row.resolved_by, row.resolved_at = by, now
