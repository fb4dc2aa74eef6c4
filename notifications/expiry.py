"""Coordinators reminded before a payer's approval ends: 60, 30 and 7 days before "approved
until", at 09:00 in the center's zone, one email per coordinator of the center and rung.

Planned with the digests (tasks.fan_out): one query for the approvals, one for the
coordinators, then apply_plan on the kind's rows. The key names the authorization, the rung
and "approved until", so a run twice changes nothing, and a new end date (a renewal typed
over the old one) cancels the pending rows of the old date. Only each open journey's approval
lasting longest counts: a renewal recorded as a new row silences the old one's reminders.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from journey.coverage import EXPIRY_REMINDER_DAYS
from journey.models import OPEN_STAGES, AuthorizationStatus, Membership, PriorAuthorization

from . import planning as p
from .clock import local_today, send_at
from .models import Kind, Reminder
from .sweep import apply_plan

AHEAD = max(EXPIRY_REMINDER_DAYS)


def plan_expiry(approvals, coordinators, now):
    """Pure: the reminders wanted for these approvals.

    `approvals`: (authorization id, journey id, patient id, center id, center zone, approved
    until); `coordinators`: center id -> [user ids]. A rung whose day has passed in the
    center's zone is not created any more (an approval typed in 20 days before its end gets
    only the 7-day one); a row already made stays wanted through its grace day."""
    out = []
    for auth_id, journey_id, patient_id, center_id, zone, until in approvals:
        today = local_today(zone, now)
        for days in EXPIRY_REMINDER_DAYS:
            day = until - dt.timedelta(days=days)
            if day + p.GRACE < today:
                continue
            at = send_at(zone, day, dt.time(p.COORDINATOR_HOUR))
            for user_id in coordinators.get(center_id, []):
                recipient = p.Recipient("u", user_id, zone)
                key = p.make_key(
                    recipient, Kind.AUTHORIZATION_EXPIRING, f"auth{auth_id}.d{days}", until
                )
                out.append(
                    p.Desired(key, Kind.AUTHORIZATION_EXPIRING, recipient, center_id, until, at,
                              patient_id=patient_id, journey_id=journey_id, rung=days,
                              create=day >= today)
                )  # fmt: skip
    return out


def load_approvals(now):
    """Each open journey's longest approval ending within the reminder horizon (one query)."""
    today = now.date()
    rows = (
        PriorAuthorization.objects.filter(
            status=AuthorizationStatus.APPROVED,
            journey__stage__in=OPEN_STAGES,
            approved_until__gte=today - dt.timedelta(days=2),
        )
        .order_by("journey_id", "-approved_until", "-pk")
        .values_list(
            "pk",
            "journey_id",
            "journey__patient_id",
            "journey__center_id",
            "journey__center__time_zone",
            "approved_until",
        )
    )
    latest = {}
    for row in rows:
        latest.setdefault(row[1], row)
    horizon = today + dt.timedelta(days=AHEAD + 2)
    return [row for row in latest.values() if row[5] <= horizon]


def load_coordinators(center_ids):
    rows = Membership.objects.filter(
        center_id__in=center_ids, role=Membership.Role.COORDINATOR, user__is_active=True
    ).values_list("center_id", "user_id")
    out = {}
    for center_id, user_id in rows:
        out.setdefault(center_id, []).append(user_id)
    return out


def reconcile_expiry(now=None):
    """Make the outbox's approval reminders match the approvals (idempotent)."""
    now = now or timezone.now()
    approvals = load_approvals(now)
    coordinators = load_coordinators({row[3] for row in approvals})
    desired = plan_expiry(approvals, coordinators, now)
    with transaction.atomic():
        scope = Reminder.objects.filter(kind=Kind.AUTHORIZATION_EXPIRING)
        return apply_plan(desired, scope, now)
