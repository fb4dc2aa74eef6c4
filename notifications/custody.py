"""Age transitions told ahead: the emails of journey.custody.ages' notices.

For each new notice (60 or 14 days before a birthday that changes access) one outbox row per
guardian who may see the child and per coordinator of the center, sent from 09:00 in the
recipient's zone. The email names the day and says to log in for what changes and what to do:
no diagnosis, no therapy, no result. The rows' keys name the notice: a re-run adds nothing.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from journey import access
from journey.custody import ages
from journey.models import Membership

from . import clock
from .models import Kind, Reminder

SEND_HOUR = dt.time(9, 0)


def age_transitions(now=None):
    """The daily sweep: notices recorded and told, changes applied. Returns the new steps."""
    now = now or timezone.now()
    return ages.sweep(now, tell=lambda notice: tell(notice, now))


def tell(notice, now):
    """Outbox rows for one notice, in the notice's transaction (inserted once per key)."""
    patient = notice.patient
    rows = [
        _row(notice, now, Kind.AGE_CHANGE_FAMILY, guardian_id=g_id, zone=zone, tag=f"g{g_id}")
        for g_id, zone in access.links_with_access(now)
        .filter(patient=patient)
        .values_list("guardian_id", "guardian__time_zone")
    ]
    coordinators = Membership.objects.filter(
        center_id=patient.center_id, role=Membership.Role.COORDINATOR, user__is_active=True
    ).values_list("user_id", "user__time_zone")
    rows += [
        _row(notice, now, Kind.AGE_CHANGE_COORDINATOR, user_id=u_id, zone=zone, tag=f"u{u_id}")
        for u_id, zone in coordinators
    ]
    with transaction.atomic():
        Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    return rows


def _row(notice, now, kind, *, zone, tag, guardian_id=None, user_id=None):
    today = clock.local_today(zone, now)
    return Reminder(
        key=f"{tag}:{kind}:age{notice.pk}:{notice.birthday.isoformat()}",
        kind=kind,
        guardian_id=guardian_id,
        user_id=user_id,
        center_id=notice.patient.center_id,
        patient_id=notice.patient_id,
        due_on=notice.birthday,
        send_at=clock.send_at(zone, today, SEND_HOUR, earliest=now),
        time_zone=zone,
    )
