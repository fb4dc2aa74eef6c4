"""Reminder use cases: reconcile the outbox with the plan, preferences, snooze, coordinator views.

reconcile() is the sweep: it loads the inputs for a chunk of children in a constant number of
queries, asks planning.py what should exist, and makes the outbox match IN BULK: one INSERT
(ignore_conflicts on the unique key), one UPDATE for moved instants, one UPDATE to cancel.
Sent rows are history and are never touched.
"""

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, fields

from django.conf import settings
from django.core import signing
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from journey.models import (
    OPEN_STAGES,
    ChecklistStep,
    Guardianship,
    Journey,
    Membership,
    Responsible,
    StageChange,
)
from tracker.models import CRITICAL_FLAGS, ItemKind, LabResult, ScheduledLab

from . import planning as p
from .emails import PREFERENCES_SALT
from .models import (
    MAX_SNOOZE_DAYS,
    CenterNotificationSettings,
    Kind,
    Preference,
    Reminder,
    Status,
)

CHUNK = 500  # children per reconcile round: bounds the IN lists and the memory used
HORIZON = dt.timedelta(days=14)  # labs and steps this far ahead show in the delivery log
REMINDED_KINDS = [ItemKind.LAB, ItemKind.VISIT]

log = logging.getLogger(__name__)


@dataclass
class Counts:
    desired: int = 0
    created: int = 0
    updated: int = 0
    cancelled: int = 0

    def __add__(self, other):
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def nudges():
    return getattr(settings, "NOTIFICATIONS_OVERDUE_NUDGES", p.DEFAULT_NUDGES)


def reconcile(patient_ids=None, now=None, chunk=CHUNK):
    """Make the outbox match the plan for these children (None: all, plus the digests)."""
    now = now or timezone.now()
    ids = sorted(set(patient_ids) if patient_ids is not None else _all_patient_ids())
    counts = Counts()
    for start in range(0, len(ids), chunk):
        counts += _reconcile_chunk(ids[start : start + chunk], now)
    if patient_ids is None:
        counts += _reconcile_digests(now)
    return counts


def patient_ids_for(journey_ids=(), guardian_ids=()):
    """The children behind journeys and guardians (signal handlers pass those)."""
    ids = set(Journey.objects.filter(pk__in=journey_ids).values_list("patient_id", flat=True))
    ids |= set(
        Guardianship.objects.filter(guardian_id__in=guardian_ids).values_list(
            "patient_id", flat=True
        )
    )
    return ids


def _all_patient_ids():
    """Children with an open journey, and children with pending rows (to cancel them)."""
    open_ids = Journey.objects.filter(stage__in=OPEN_STAGES).values_list("patient_id", flat=True)
    pending = Reminder.objects.filter(status=Status.PENDING, patient__isnull=False)
    return set(open_ids) | set(pending.values_list("patient_id", flat=True).distinct())


def _reconcile_chunk(patient_ids, now):
    desired = []
    for inputs in load_inputs(patient_ids, now):
        desired += p.plan_patient(inputs, now, nudges())
    scope = Reminder.objects.filter(patient_id__in=patient_ids)
    return apply_plan(desired, scope, now)


def _reconcile_digests(now):
    rows = Membership.objects.filter(
        role=Membership.Role.COORDINATOR, user__is_active=True
    ).values_list("center_id", "user_id", "user__time_zone")
    coordinators = [(c, p.Recipient("u", u, tz)) for c, u, tz in rows]
    desired = p.plan_digests(coordinators, now)
    return apply_plan(desired, Reminder.objects.filter(kind=Kind.DAILY_DIGEST), now)


def apply_plan(desired, scope, now):
    """Insert missing rows, move or revive changed ones, cancel unwanted pending ones in `scope`."""
    by_key = {d.key: d for d in desired}
    existing = Reminder.objects.filter(key__in=list(by_key)).only(
        "pk", "key", "status", "send_at", "time_zone", "attempts"
    )
    changed, seen = [], set()
    for row in existing:
        seen.add(row.key)
        if _refresh(row, by_key[row.key], now):
            changed.append(row)
    new = [d for key, d in by_key.items() if key not in seen]
    _insert_new(new, now)
    if changed:
        # Only rows still pending or cancelled: never overwrite a row a worker holds now.
        Reminder.objects.filter(status__in=[Status.PENDING, Status.CANCELLED]).bulk_update(
            changed, ["send_at", "time_zone", "status", "attempts", "updated_at"]
        )
    cancelled = (
        scope.filter(status=Status.PENDING)
        .exclude(key__in=list(by_key))
        .update(status=Status.CANCELLED, updated_at=now)
    )
    return Counts(len(desired), len(new), len(changed), cancelled)


def _refresh(row, want, now):
    """Bring an existing row in line with what is wanted; True if it changed."""
    if row.status == Status.CANCELLED:
        row.status, row.attempts = Status.PENDING, 0
    elif row.status != Status.PENDING or row.attempts:
        return False  # sent, in flight, failed, or backing off: leave it alone
    elif row.time_zone == want.recipient.time_zone and _same_instant(row, want, now):
        return False
    row.send_at, row.time_zone, row.updated_at = want.send_at, want.recipient.time_zone, now
    return True


def _same_instant(row, want, now):
    # Both already due: the row goes out within a minute anyway; rewriting "now" each sweep
    # would only churn the table.
    current, wanted = row.send_at, want.send_at
    return current == wanted or (current <= now and wanted <= now)


# The INSERT of apply_plan on PostgreSQL: one statement, one array per column, instead of
# building a model instance per row and letting bulk_create prepare every value (the sweep's
# biggest Python cost). Same columns and values as bulk_create(ignore_conflicts=True) would write.
_INSERT_SQL = """
INSERT INTO {table} (
    public_id, key, kind, guardian_id, user_id, center_id, patient_id, journey_id,
    scheduled_lab_id, step_id, result_id, due_on, rung, send_at, time_zone, status, attempts,
    last_error, lease_until, lease_token, sent_at, message_id, created_at, updated_at)
SELECT gen_random_uuid(), r.*, %s, 0, '', NULL, NULL, NULL, '', %s, %s
FROM unnest(%s::varchar[], %s::varchar[], %s::bigint[], %s::bigint[], %s::bigint[],
            %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::date[],
            %s::smallint[], %s::timestamptz[], %s::varchar[]) AS r
ON CONFLICT DO NOTHING
"""


def _insert_new(wanted, now):
    """Insert the rows for these Desired, skipping keys that appeared meanwhile."""
    if not wanted:
        return
    if connection.vendor != "postgresql":
        Reminder.objects.bulk_create([_new_row(d, now) for d in wanted], ignore_conflicts=True)
        return
    columns = [[] for _ in range(14)]
    for d in wanted:
        r = d.recipient
        guardian = r.role == "g"
        row = (
            d.key,
            d.kind,
            r.id if guardian else None,
            None if guardian else r.id,
            d.center_id,
            d.patient_id,
            d.journey_id,
            d.scheduled_lab_id,
            d.step_id,
            d.result_id,
            d.due_on,
            d.rung,
            d.send_at,
            r.time_zone,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    stamp = timezone.now()  # what auto_now/auto_now_add would have stored
    sql = _INSERT_SQL.format(table=Reminder._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [Status.PENDING.value, stamp, stamp, *columns])


def _new_row(want, now):
    recipient = want.recipient
    return Reminder(
        key=want.key,
        kind=want.kind,
        guardian_id=recipient.id if recipient.role == "g" else None,
        user_id=recipient.id if recipient.role == "u" else None,
        center_id=want.center_id,
        patient_id=want.patient_id,
        journey_id=want.journey_id,
        scheduled_lab_id=want.scheduled_lab_id,
        step_id=want.step_id,
        result_id=want.result_id,
        due_on=want.due_on,
        rung=want.rung,
        send_at=want.send_at,
        time_zone=recipient.time_zone,
        created_at=now,
        updated_at=now,
    )


# ---- loading the inputs: one query per kind of input, whatever the number of children ----


def load_inputs(patient_ids, now):
    journeys = list(
        Journey.objects.filter(patient_id__in=patient_ids, stage__in=OPEN_STAGES).values_list(
            "pk", "patient_id", "center_id", "stage"
        )
    )
    if not journeys:
        return []
    plans = {j: p.PatientInputs(pat, center, j) for j, pat, center, _ in journeys}
    _add_guardians(plans, patient_ids)
    _add_coordinators(plans)
    _add_labs(plans, now)
    _add_steps(plans, {j: stage for j, _, _, stage in journeys}, now)
    _add_stage_notes(plans, now)
    _add_criticals(plans, now)
    return list(plans.values())


def _add_guardians(plans, patient_ids):
    prefs = {
        (pref.guardian_id, pref.patient_id): pref
        for pref in Preference.objects.filter(patient_id__in=patient_ids)
    }
    links = Guardianship.objects.filter(patient_id__in=patient_ids).values_list(
        "patient_id", "guardian_id", "guardian__time_zone", "is_primary"
    )
    by_patient = {}
    for patient_id, guardian_id, zone, primary in links:
        pref = to_prefs(prefs.get((guardian_id, patient_id)))
        by_patient.setdefault(patient_id, []).append(
            p.Recipient("g", guardian_id, zone, pref, primary)
        )
    for inputs in plans.values():
        inputs.guardians = by_patient.get(inputs.patient_id, [])


def to_prefs(pref):
    """A Preference row (or None: defaults) as planning's immutable Prefs."""
    if pref is None:
        return p.Prefs()
    quiet = (pref.quiet_start, pref.quiet_end) if pref.quiet_start is not None else None
    return p.Prefs(
        lab_reminders=pref.lab_reminders,
        overdue_nudges=pref.overdue_nudges,
        stage_notes=pref.stage_notes,
        step_reminders=pref.step_reminders,
        lead_days=pref.lead_days,
        local_hour=pref.local_hour,
        quiet=quiet,
        snoozed_until=pref.snoozed_until,
    )


def _add_coordinators(plans):
    centers = {i.center_id for i in plans.values()}
    rows = Membership.objects.filter(
        center_id__in=centers, role=Membership.Role.COORDINATOR, user__is_active=True
    ).values_list("center_id", "user_id", "user__time_zone")
    by_center = {}
    for center_id, user_id, zone in rows:
        by_center.setdefault(center_id, []).append(p.Recipient("u", user_id, zone))
    for inputs in plans.values():
        inputs.coordinators = by_center.get(inputs.center_id, [])


def _add_labs(plans, now):
    today = now.date()
    # The ladder runs nudges + 2 days after the window closes; +2 covers zones and grace.
    oldest = today - dt.timedelta(days=nudges() + 4)
    rows = (
        ScheduledLab.objects.open()
        .filter(
            journey_id__in=list(plans),
            item__kind__in=REMINDED_KINDS,
            due_on__lte=today + HORIZON,
            window_end__gte=oldest,
        )
        .values_list("pk", "journey_id", "due_on", "window_end", "item__inpatient")
    )
    for pk, journey_id, due_on, window_end, inpatient in rows:
        plans[journey_id].labs.append(p.Lab(pk, due_on, window_end, inpatient))


def _add_steps(plans, stages, now):
    today = now.date()
    rows = ChecklistStep.objects.filter(
        journey_id__in=list(plans),
        responsible=Responsible.FAMILY,
        done_on__isnull=True,
        due_on__gte=today - dt.timedelta(days=2),
        due_on__lte=today + HORIZON,
    ).values_list("pk", "journey_id", "stage", "due_on")
    for pk, journey_id, stage, due_on in rows:
        if stages[journey_id] == stage:
            plans[journey_id].steps.append(p.Step(pk, due_on))


def _add_stage_notes(plans, now):
    rows = StageChange.objects.filter(
        journey_id__in=list(plans), moved_at__gte=now - p.RECENT
    ).values_list("pk", "journey_id", "moved_at")
    for pk, journey_id, moved_at in rows:
        plans[journey_id].stage_notes.append(p.StageNote(pk, moved_at))


def _add_criticals(plans, now):
    rows = (
        LabResult.objects.current()
        .filter(journey_id__in=list(plans), flag__in=CRITICAL_FLAGS, entered_at__gte=now - p.RECENT)
        .values_list("pk", "journey_id", "entered_at")
    )
    for pk, journey_id, entered_at in rows:
        plans[journey_id].criticals.append(p.Critical(pk, entered_at))


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
            return reconcile(patient_ids, now=now)
    except DatabaseError:
        log.warning("re-plan of %s failed; the queued task will catch up", patient_ids)
        return None


def upcoming_for(guardian, patient, limit=10):
    """The emails we plan to send this guardian about this child, soonest first (one query)."""
    return list(
        Reminder.objects.filter(guardian=guardian, patient=patient, status=Status.PENDING)
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
    """Open labs whose overdue ladder reached the coordinators (worklist "escalated")."""
    return ScheduledLab.objects.open().filter(
        journey__center_id__in=center_ids,
        pk__in=Reminder.objects.filter(
            kind=Kind.OVERDUE_COORDINATOR, status__in=[Status.SENT, Status.SENDING]
        ).values("scheduled_lab_id"),
    )


def delivery_log(patient):
    """One child's reminders, past and upcoming, with their attempts (admin and portal)."""
    return (
        Reminder.objects.filter(patient=patient)
        .select_related("guardian", "user")
        .prefetch_related("attempt_log")
        .order_by("-send_at")
    )
