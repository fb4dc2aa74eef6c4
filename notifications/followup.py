"""Follow-up emails and the signs only the outbox sees.

- Each open contact check (journey.followup) gets one email to its guardian, at their hour on
  the day it was asked; an answered one's unsent email is cancelled.
- A guardian's reminder that failed for good (a bounce) or three overdue nudges sent for draws
  still not done ("unanswered") ask the family to confirm their details and mark the child at
  risk (journey.followup.mark_at_risk: one open mark per reason).
- A hand-over to another center (journey.signals.patient_transferred) tells each guardian at
  once.
All rows go through the outbox (apply_plan on their own kind), so a run twice sends nothing twice.
"""

import datetime as dt

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from journey import followup
from journey.models import (
    CheckReason,
    ContactConfirmation,
    FollowUpRisk,
    Guardianship,
    Patient,
    RiskReason,
)

from . import planning as p
from .clock import local_today, send_at
from .models import Kind, Reminder, Status
from .sweep import apply_plan

RECENT_FAILURES = dt.timedelta(days=7)
UNANSWERED_NUDGES = 3
UNANSWERED_WITHIN = dt.timedelta(days=90)
NUDGE_KINDS = [Kind.OVERDUE_NUDGE, Kind.OVERDUE_OTHER_GUARDIAN]


def plan_checks(checks, now):
    """Pure: (check id, patient id, center id, guardian id, guardian zone, asked at) -> the
    emails wanted, at the reminder hour of the guardian's day the check was asked (at once if
    that hour has passed)."""
    out = []
    for check_id, patient_id, center_id, guardian_id, zone, asked_at in checks:
        recipient = p.Recipient("g", guardian_id, zone)
        day = local_today(zone, asked_at)
        at = max(send_at(zone, day, dt.time(p.DEFAULT_HOUR)), asked_at)
        key = p.make_key(recipient, Kind.CONTACT_CHECK, f"check{check_id}", day)
        out.append(
            p.Desired(key, Kind.CONTACT_CHECK, recipient, center_id, day, at, patient_id=patient_id)
        )
    return out


def reconcile_checks(now=None):
    """Make the outbox's contact-check emails match the open checks (idempotent)."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=followup.LINK_DAYS)
    checks = ContactConfirmation.objects.filter(
        answered_at__isnull=True, requested_at__gte=since
    ).values_list(
        "pk", "patient_id", "patient__center_id", "guardian_id", "guardian__time_zone",
        "requested_at",
    )  # fmt: skip
    desired = plan_checks(list(checks), now)
    with transaction.atomic():
        return apply_plan(desired, Reminder.objects.filter(kind=Kind.CONTACT_CHECK), now)


def bounced_children(now):
    """{child: latest failure} for guardians' emails that failed for good lately (one query)."""
    failed = Reminder.objects.filter(
        status=Status.FAILED,
        guardian__isnull=False,
        patient__isnull=False,
        updated_at__gte=now - RECENT_FAILURES,
    )
    return dict(failed.values("patient_id").annotate(last=Max("updated_at")).values_list(
        "patient_id", "last"
    ))  # fmt: skip


def silent_children(now):
    """{child: latest nudge} for UNANSWERED_NUDGES overdue nudges sent lately for draws still
    not done (one query)."""
    nudged = (
        Reminder.objects.filter(
            kind__in=NUDGE_KINDS,
            status=Status.SENT,
            sent_at__gte=now - UNANSWERED_WITHIN,
            scheduled_lab__done_at__isnull=True,
        )
        .values("patient_id")
        .annotate(n=Count("pk"), last=Max("sent_at"))
        .filter(n__gte=UNANSWERED_NUDGES)
    )
    return {row["patient_id"]: row["last"] for row in nudged}


def _resolved_after(reason, since_by_child):
    """The children whose mark for `reason` was resolved after the sign was seen: the family
    was reached since, so the same old bounce or nudges mark nobody again (one query)."""
    resolved = FollowUpRisk.objects.filter(
        reason=reason, patient_id__in=since_by_child, resolved_at__isnull=False
    ).values_list("patient_id", "resolved_at")
    return {child for child, at in resolved if at >= since_by_child[child]}


def watch_families(now=None):
    """Bounces and silence: ask for the details again and mark the child at risk."""
    now = now or timezone.now()
    marked = 0
    for reason, check_reason, ids in [
        (RiskReason.BOUNCED, CheckReason.BOUNCED, bounced_children(now)),
        (RiskReason.UNANSWERED, CheckReason.UNANSWERED, silent_children(now)),
    ]:
        ids = set(ids) - _resolved_after(reason, ids)
        for patient in Patient.objects.filter(pk__in=ids):
            if followup.mark_at_risk(patient.pk, reason, now=now) is not None:
                followup.request_check(patient, check_reason, now)
                marked += 1
    return marked


def on_patient_transferred(sender, transfer, **kwargs):
    """Tell each guardian, at once, that the child's care moved (no health information), and
    move the child's unsent reminders to the new center."""
    now = timezone.now()
    links = Guardianship.objects.filter(patient_id=transfer.patient_id).values_list(
        "guardian_id", "guardian__time_zone"
    )
    rows = []
    for guardian_id, zone in links:
        recipient = p.Recipient("g", guardian_id, zone)
        day = timezone.localdate(now)
        rows.append(
            Reminder(
                key=p.make_key(recipient, Kind.CENTER_CHANGED, f"transfer{transfer.pk}", day),
                kind=Kind.CENTER_CHANGED,
                guardian_id=guardian_id,
                center_id=transfer.to_center_id,
                patient_id=transfer.patient_id,
                due_on=day,
                send_at=now,
                time_zone=zone,
            )
        )
    Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    # Reminders still to send now come from the new center (its name, its coordinators' lists).
    Reminder.objects.filter(patient_id=transfer.patient_id, status=Status.PENDING).update(
        center_id=transfer.to_center_id
    )
