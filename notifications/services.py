"""Reminder use cases: preferences, snooze, re-planning in the request, coordinator views.

The sweep itself (reconcile: the outbox made to match the plan, chunk by chunk, in bulk) lives
in sweep.py; its entry points are re-exported here for callers that know them as services.*.
"""

import datetime as dt
import logging
import uuid

from django.core import signing
from django.db import DatabaseError, transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone

from journey.models import Guardianship
from tracker.models import ScheduledLab

from . import messages
from .emails import PREFERENCES_SALT
from .models import (
    MAX_SNOOZE_DAYS,
    CenterNotificationSettings,
    DeliveryAttempt,
    Kind,
    Preference,
    Reminder,
    Status,
)
from .sweep import (  # noqa: F401 - the sweep's entry points, re-exported
    CHUNK,
    HORIZON,
    REMINDED_KINDS,
    Counts,
    apply_plan,
    load_inputs,
    nudges,
    patient_ids_for,
    reconcile,
    to_prefs,
)

log = logging.getLogger(__name__)


# ---- guardians' choices ----

# What a guardian may set on their own Preference (the portal's form): never snoozed_until.
PREFERENCE_FIELDS = (
    "lab_reminders",
    "overdue_nudges",
    "stage_notes",
    "step_reminders",
    "lead_days",
    "local_hour",
    "quiet_start",
    "quiet_end",
    "minimal",
    "lab_channel",
    "messages_channel",
    "stage_channel",
)
EMAIL_SWITCHES = ("lab_reminders", "overdue_nudges", "stage_notes", "step_reminders")


def preference_for(guardian, patient):
    """The guardian's saved choices for this child, or an unsaved row holding the defaults."""
    pref = Preference.objects.filter(guardian=guardian, patient=patient).first()
    return pref or Preference(guardian=guardian, patient=patient)


def save_preferences(guardian, patient, values, time_zone=None, now=None):
    """Save a guardian's choices for one child (and their own time zone), then re-plan at once.

    Saving the rows fires the usual after-commit hooks (Preference and Guardian post_save ->
    plan_reminders for the children concerned). We also re-plan here, in the request, so the
    page the family lands on already shows the new send times.
    """
    unknown = set(values) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ValueError(f"Not a guardian's choice: {sorted(unknown)}")
    with transaction.atomic():
        pref, _ = Preference.objects.get_or_create(guardian=guardian, patient=patient)
        for name, value in values.items():
            setattr(pref, name, value)
        pref.save(update_fields=[*values, "updated_at"])
        zone_moved = bool(time_zone) and time_zone != guardian.time_zone
        if zone_moved:
            guardian.time_zone = time_zone
            guardian.save(update_fields=["time_zone"])
    ids = {patient.pk}
    if zone_moved:
        ids |= patient_ids_for(guardian_ids=[guardian.pk])
    replan_now(ids, now)
    return pref


def stop_emails(guardian, patient, now=None):
    """Turn off every reminder email about this child for this guardian (unsubscribe link)."""
    return save_preferences(guardian, patient, dict.fromkeys(EMAIL_SWITCHES, False), now=now)


def snooze(guardian, patient, days, now=None):
    """Pause a guardian's non-critical reminders for one child for 1 to 7 days (defers them)."""
    if not 1 <= days <= MAX_SNOOZE_DAYS:
        raise ValueError(f"Snooze for 1 to {MAX_SNOOZE_DAYS} days.")
    now = now or timezone.now()
    pref, _ = Preference.objects.get_or_create(guardian=guardian, patient=patient)
    pref.snoozed_until = now + dt.timedelta(days=days)
    pref.save(update_fields=["snoozed_until", "updated_at"])
    return pref


def unsnooze(guardian, patient):
    """End a snooze now: the deferred reminders go back to their own times."""
    pref = Preference.objects.filter(
        guardian=guardian, patient=patient, snoozed_until__isnull=False
    ).first()
    if pref is not None:
        pref.snoozed_until = None
        pref.save(update_fields=["snoozed_until", "updated_at"])
    return pref


def pause_reminders(guardian, patient, days, now=None):
    """The portal's snooze: snooze() (ValueError outside 1-7 days), then re-plan at once."""
    pref = snooze(guardian, patient, days, now=now)
    replan_now({patient.pk}, now)
    return pref


def resume_reminders(guardian, patient, now=None):
    """The portal's "end the snooze now", re-planned at once."""
    pref = unsnooze(guardian, patient)
    replan_now({patient.pk}, now)
    return pref


def replan_now(patient_ids, now=None):
    """Reconcile these children in the request; on a database error leave it to the hooks.

    The post_save hooks have already queued plan_reminders after commit and the beat sweep
    runs every 5 minutes, so a failure here only delays the new times: never an error page.
    """
    try:
        with transaction.atomic():  # a savepoint: a failed re-plan leaves the saved choice
            counts = reconcile(patient_ids, now=now)
            # "A message is waiting" rows are planned per thread: a pending one follows too.
            messages.replan_children(patient_ids, now)
            return counts
    except DatabaseError:
        log.warning("re-plan of %s failed; the queued task will catch up", patient_ids)
        return None


def upcoming_for(guardian, patient, limit=10, now=None):
    """The emails we will send this guardian about this child, soonest first (one query).

    Future sends only: a row whose time has come is going out now (or was held back and is
    about something past), not "coming up".
    """
    now = now or timezone.now()
    return list(
        Reminder.objects.filter(
            guardian=guardian, patient=patient, status=Status.PENDING, send_at__gt=now
        )
        .select_related("scheduled_lab__item")
        .order_by("send_at", "pk")[:limit]
    )


def target_of_token(token):
    """The (guardian, child) of a List-Unsubscribe token (emails.preferences_url), else None.

    Forged, damaged or re-purposed tokens, and links whose guardian is no longer the child's,
    all answer None (the view's 404). The token does not expire: an old email must still work.
    """
    try:
        data = signing.loads(token, salt=PREFERENCES_SALT)
        guardian_id, patient_id = uuid.UUID(str(data["g"])), uuid.UUID(str(data["p"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return guardian_and_child(guardian_id, patient_id)


def name_for_link(guardian, patient):
    """The child's first name for the unsubscribe page, unless emails are kept minimal."""
    pref = Preference.objects.filter(guardian=guardian, patient=patient).first()
    center_minimal = CenterNotificationSettings.objects.filter(
        center_id=patient.center_id, minimal=True
    ).exists()
    return None if center_minimal or (pref and pref.minimal) else patient.first_name


def guardian_and_child(guardian_public_id, patient_public_id):
    """The (guardian, child) an unsubscribe link names, while still linked; else None.

    No login is involved (mail providers post the one-click unsubscribe without cookies), so
    the link itself is the key and the guardianship is re-checked on every use.
    """
    link = (
        Guardianship.objects.filter(
            guardian__public_id=guardian_public_id, patient__public_id=patient_public_id
        )
        .select_related("guardian", "patient__center")
        .first()
    )
    return (link.guardian, link.patient) if link else None


# ---- what coordinators see ----


def failed_reminders_for_centers(center_ids):
    """Reminders that gave up (permanent error or attempts exhausted), for the worklist."""
    return (
        Reminder.objects.filter(status=Status.FAILED, center_id__in=center_ids)
        .select_related("patient", "guardian", "user")
        .order_by("-send_at")
    )


def escalated_labs_for_centers(center_ids):
    """Open labs whose draw's overdue ladder reached the coordinators (worklist "escalated").

    The coordinator's email is one per draw and points at one of its rows: every open row of
    that draw (same journey, same due day) is escalated, even once that one row is done.
    """
    escalated = Reminder.objects.filter(
        kind=Kind.OVERDUE_COORDINATOR,
        status__in=[Status.SENT, Status.SENDING],
        journey_id=OuterRef("journey_id"),
        scheduled_lab__due_on=OuterRef("due_on"),
    )
    # The lab's own center (tracker copies the journey's): no join to the journeys.
    return ScheduledLab.objects.open().filter(Exists(escalated), center_id__in=center_ids)


_ATTEMPTS = DeliveryAttempt.objects.select_related("resend_of")  # a re-send shows what it repeats


def delivery_log(patient):
    """One child's reminders, past and upcoming, with their attempts (admin and portal)."""
    return (
        Reminder.objects.filter(patient=patient)
        .select_related("guardian", "user")
        .prefetch_related(
            Prefetch("attempt_log", DeliveryAttempt.objects.select_related("resend_of"))
        )
        .order_by("-send_at")
    )
