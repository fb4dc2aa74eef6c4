"""The sweep: make the outbox match the plan, for a chunk of children at a time, in bulk.

A chunk is either a list of children (signal handlers: a few ids) or a RANGE of patient ids
`after < patient_id <= upto` (beat's "plan everyone": tasks.plan_reminders fans out one
tasks.plan_chunk per range, so any worker can take any chunk). Per chunk, in one transaction:
one query per kind of input, one for the outbox rows that may collide with the plan, one
INSERT ... ON CONFLICT DO NOTHING on the unique key, and an UPDATE only when a row moves or is
no longer wanted. Running a chunk twice changes nothing (the key is UNIQUE). Sent rows are
history and are never touched.
"""

import datetime as dt
from dataclasses import dataclass, fields

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from journey import access
from journey.models import (
    OPEN_STAGES,
    ChecklistStep,
    Guardianship,
    Journey,
    Membership,
    Responsible,
    StageChange,
)
from reports.models import Status as ReportStatus
from reports.models import SymptomReport
from tracker.models import CRITICAL_FLAGS, ItemKind, LabResult, ScheduledLab

from . import planning as p
from .models import (
    MESSAGE_KINDS,
    PLANNED_APART,
    SELF_PLANNED_KINDS,
    CancelReason,
    Kind,
    Preference,
    Reminder,
    Status,
)

# `now` (here and in all of notifications) is an aware datetime, never a callable: required by
# the pure and internal functions, the keyword now=None (= timezone.now()) on entry points.
CHUNK = 500  # children per round when ids are listed: bounds the IN lists
RANGE_CHUNK = 2000  # children per range chunk (one task): a few seconds of work, redelivered whole
HORIZON = dt.timedelta(days=14)  # labs and steps this far ahead show in the delivery log
REMINDED_KINDS = [ItemKind.LAB, ItemKind.VISIT]


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
    if patient_ids is None:
        counts = Counts()
        for after, upto in sweep_chunks():
            counts += reconcile_range(after, upto, now)
        return counts + reconcile_digests(now)
    ids = sorted(set(patient_ids))
    counts = Counts()
    for start in range(0, len(ids), chunk):
        counts += _reconcile(Patients(ids=ids[start : start + chunk]), now)
    return counts


def reconcile_range(after, upto, now=None):
    """One range chunk: the children with after < patient_id <= upto (upto None: no end)."""
    return _reconcile(Patients(after=after, upto=upto), now or timezone.now())


def sweep_chunks(size=RANGE_CHUNK):
    """(after, upto) ranges of `size` children to plan, covering every patient id exactly once.

    Contiguous and disjoint: the first starts after 0, each next one after the previous upto,
    the last has no end (children added after the fan-out land in it).
    """
    return _between(_chunk_bounds(size))


def _chunk_bounds(size):
    """Every size-th child id in order (never the last one), counted in one query.

    The database numbers the children, so the fan-out reads one id per chunk, not every id.
    """
    children, params = _children_to_plan().query.sql_with_params()
    sql = (
        "SELECT patient_id FROM ("
        " SELECT patient_id, ROW_NUMBER() OVER (ORDER BY patient_id) AS n,"
        " COUNT(*) OVER () AS total"
        f" FROM ({children}) AS children"
        ") AS numbered WHERE n %% %s = 0 AND n < total ORDER BY patient_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, size])
        return [row[0] for row in cursor.fetchall()]


def ranges(ids, size, after=0, upto=None):
    """Split sorted ids into (after, upto) ranges of `size` ids, from `after` to `upto`."""
    return _between([ids[i - 1] for i in range(size, len(ids), size)], after, upto)


def _between(bounds, after=0, upto=None):
    """(after, b1), (b1, b2), ... (bn, upto): the ranges that sorted bounds cut."""
    return list(zip([after, *bounds], [*bounds, upto], strict=True))


def patient_ids_for(journey_ids=(), guardian_ids=()):
    """The children behind journeys and guardians (signal handlers pass those)."""
    ids = set(Journey.objects.filter(pk__in=journey_ids).values_list("patient_id", flat=True))
    ids |= set(
        Guardianship.objects.filter(guardian_id__in=guardian_ids).values_list(
            "patient_id", flat=True
        )
    )
    return ids


def _children_sources():
    """Children with an open journey, and children with pending rows (to cancel them)."""
    open_ids = Journey.objects.filter(stage__in=OPEN_STAGES).order_by()
    pending = Reminder.objects.filter(status=Status.PENDING, patient__isnull=False).order_by()
    return open_ids.values_list("patient_id", flat=True), pending.values_list(
        "patient_id", flat=True
    )


def _children_to_plan():
    """The children to plan, as one query (a UNION of both sources)."""
    open_ids, pending = _children_sources()
    return open_ids.union(pending)


def _all_patient_ids():
    """The same children read into Python, two queries (what the fan-out did; tests, bench)."""
    open_ids, pending = _children_sources()
    return set(open_ids) | set(pending.distinct())


@dataclass(frozen=True)
class Patients:
    """Which children a chunk covers: listed ids, or the range after < id <= upto."""

    ids: list | None = None
    after: int = 0
    upto: int | None = None

    def where(self, path="patient_id"):
        """Filter keywords on `path` (a patient id column, possibly across a join)."""
        if self.ids is not None:
            return {f"{path}__in": self.ids}
        bounds = {f"{path}__gt": self.after}
        if self.upto is not None:
            bounds[f"{path}__lte"] = self.upto
        return bounds


def _reconcile(patients, now):
    with transaction.atomic():  # a chunk is all or nothing (a killed worker leaves no half)
        desired = []
        for inputs in load_inputs(patients, now):
            desired += p.plan_patient(inputs, now, nudges())
        # Rows planned elsewhere: per thread (notifications.messages), PLANNED_APART and the
        # birthday notices (notifications.custody).
        scope = Reminder.objects.filter(**patients.where()).exclude(
            kind__in=[*MESSAGE_KINDS, *PLANNED_APART, *SELF_PLANNED_KINDS]
        )
        return apply_plan(desired, scope, now)


def reconcile_digests(now=None):
    now = now or timezone.now()
    rows = Membership.objects.filter(
        role=Membership.Role.COORDINATOR, user__is_active=True
    ).values_list("center_id", "user_id", "user__time_zone")
    coordinators = [(c, p.Recipient("u", u, tz)) for c, u, tz in rows]
    desired = p.plan_digests(coordinators, now)
    with transaction.atomic():
        return apply_plan(desired, Reminder.objects.filter(kind=Kind.DAILY_DIGEST), now)


_EXISTING = (
    "pk",
    "key",
    "status",
    "send_at",
    "time_zone",
    "attempts",
    "scheduled_lab_id",
    "cancel_reason",
)


def apply_plan(desired, scope, now):
    """Insert missing rows, move or revive changed ones, cancel unwanted pending ones in `scope`.

    Every Desired row of a chunk belongs to `scope`, and its key ends with its due date: the
    rows it can collide with are the scope's rows due on or after the earliest wanted day. With
    the scope's pending rows (candidates for cancelling) that is one query on the (patient,
    status) index, never a list of keys.
    """
    by_key = {d.key: d for d in desired}
    looked_at = Q(status=Status.PENDING)
    if desired:
        looked_at |= Q(due_on__gte=min(d.due_on for d in desired))
    changed, seen, unwanted = [], set(), []
    for row in scope.filter(looked_at).only(*_EXISTING):
        want = by_key.get(row.key)
        if want is None:
            if row.status == Status.PENDING:
                unwanted.append(row.pk)
            continue
        seen.add(row.key)
        if _refresh(row, want, now):
            changed.append(row)
    new = [d for key, d in by_key.items() if key not in seen and d.create]
    created = _insert_new(new, now)
    if changed:
        # Only rows still pending or cancelled: never overwrite a row a worker holds now.
        Reminder.objects.filter(status__in=[Status.PENDING, Status.CANCELLED]).bulk_update(
            changed,
            ["send_at", "time_zone", "scheduled_lab", "status", "attempts", "cancel_reason"]
            + ["updated_at"],
        )
    cancelled = 0
    if unwanted:
        cancelled = Reminder.objects.filter(pk__in=unwanted, status=Status.PENDING).update(
            status=Status.CANCELLED, updated_at=now
        )
    return Counts(len(desired), created, len(changed), cancelled)


def _refresh(row, want, now):
    """Bring an existing row in line with what is wanted; True if it changed."""
    if row.status == Status.CANCELLED and row.cancel_reason == CancelReason.DAY_PASSED:
        return False  # dispatch found its day gone (the plan's grace day is for retries)
    if row.status == Status.CANCELLED:
        row.status, row.attempts, row.cancel_reason = Status.PENDING, 0, ""
    elif row.status != Status.PENDING or row.attempts:
        return False  # sent, in flight, failed, or backing off: leave it alone
    elif (
        row.time_zone == want.recipient.time_zone
        and row.scheduled_lab_id == want.scheduled_lab_id
        and _same_instant(row, want, now)
    ):
        return False
    row.send_at, row.time_zone, row.updated_at = want.send_at, want.recipient.time_zone, now
    # A draw's reminder points at one of its open rows: another one once that row is done.
    row.scheduled_lab_id = want.scheduled_lab_id
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
    scheduled_lab_id, step_id, result_id, due_on, rung, send_at, time_zone, channel, status,
    attempts, last_error, lease_until, lease_token, sent_at, message_id, created_at, updated_at)
SELECT gen_random_uuid(), r.*, %s, 0, '', NULL, NULL, NULL, '', %s, %s
FROM unnest(%b::varchar[], %b::varchar[], %b::bigint[], %b::bigint[], %b::bigint[],
            %b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[], %b::date[],
            %b::smallint[], %b::timestamptz[], %b::varchar[], %b::varchar[]) AS r
ON CONFLICT DO NOTHING
"""


def _insert_new(wanted, now):
    """Insert the rows for these Desired, skipping keys that appeared meanwhile; how many."""
    if not wanted:
        return 0
    if connection.vendor != "postgresql":
        rows = Reminder.objects.bulk_create(
            [_new_row(d, now) for d in wanted], ignore_conflicts=True
        )
        return len(rows)
    columns = [[] for _ in range(15)]
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
            d.channel,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    stamp = timezone.now()  # what auto_now/auto_now_add would have stored
    sql = _INSERT_SQL.format(table=Reminder._meta.db_table)
    with bound_cursor() as cursor:
        cursor.execute(sql, [Status.PENDING.value, stamp, stamp, *columns])
        return cursor.rowcount


def bound_cursor():
    """A cursor that sends parameters apart from the SQL (psycopg's server-side binding).

    Django's psycopg cursors quote every value into the SQL text on the client, which for 14
    arrays of thousands of values costs more than the INSERT itself. Wrapped like Django's own
    cursors, so the statement still shows in connection.queries and assertNumQueries. Unnamed
    statements only (Django sets prepare_threshold=None): safe behind pgbouncer's transaction
    pooling.
    """
    import psycopg

    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)
    return connection.make_cursor(raw)


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
        channel=want.channel,
        created_at=now,
        updated_at=now,
    )


# ---- loading the inputs: one query per kind of input, whatever the number of children ----


def load_inputs(patients, now):
    """planning.PatientInputs for these children (a Patients, or a list of patient ids)."""
    if not isinstance(patients, Patients):
        patients = Patients(ids=list(patients))
    journeys = list(
        Journey.objects.filter(stage__in=OPEN_STAGES, **patients.where()).values_list(
            "pk", "patient_id", "center_id", "stage"
        )
    )
    if not journeys:
        return []
    plans = {j: p.PatientInputs(pat, center, j) for j, pat, center, _ in journeys}
    # Rows hanging off a journey: the open journeys of these children, by a join on the
    # patient range (or a short id list), not a list of journey ids.
    of_journeys = patients.where("journey__patient_id") | {"journey__stage__in": OPEN_STAGES}
    _add_guardians(plans, patients)
    _add_coordinators(plans)
    _add_labs(plans, of_journeys, now)
    _add_steps(plans, of_journeys, {j: stage for j, _, _, stage in journeys}, now)
    _add_stage_notes(plans, of_journeys, now)
    _add_criticals(plans, of_journeys, now)
    _add_urgent_reports(plans, patients, now)
    return list(plans.values())


def _add_guardians(plans, patients):
    prefs = {
        (pref.guardian_id, pref.patient_id): pref
        for pref in Preference.objects.filter(**patients.where())
    }
    # Only guardians who may see the child now (a "no access" restriction stops reminders);
    # the number's status rides along (a LEFT JOIN): texts only to a confirmed number.
    links = (
        access.links_with_access()
        .filter(**patients.where())
        .values_list(
            "patient_id", "guardian_id", "guardian__time_zone", "is_primary",
            "guardian__text_number__status",
        )
    )  # fmt: skip
    by_patient = {}
    for patient_id, guardian_id, zone, primary, number in links:
        pref = p.to_prefs(prefs.get((guardian_id, patient_id)), number == "active")
        by_patient.setdefault(patient_id, []).append(
            p.Recipient("g", guardian_id, zone, pref, primary)
        )
    for inputs in plans.values():
        inputs.guardians = by_patient.get(inputs.patient_id, [])


to_prefs = p.to_prefs  # re-exported (services.to_prefs)


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


def _add_labs(plans, of_journeys, now):
    today = now.date()
    # The ladder runs nudges + 2 days after the window closes; +2 covers zones and grace.
    oldest = today - dt.timedelta(days=nudges() + 4)
    rows = (
        ScheduledLab.objects.open()
        .filter(
            item__kind__in=REMINDED_KINDS,
            due_on__lte=today + HORIZON,
            window_end__gte=oldest,
            **of_journeys,
        )
        .values_list("pk", "journey_id", "due_on", "window_end", "item__inpatient")
    )
    for pk, journey_id, due_on, window_end, inpatient in rows:
        plans[journey_id].labs.append(p.Lab(pk, due_on, window_end, inpatient, journey_id))


def _add_steps(plans, of_journeys, stages, now):
    today = now.date()
    rows = ChecklistStep.objects.filter(
        responsible=Responsible.FAMILY,
        done_on__isnull=True,
        due_on__gte=today - dt.timedelta(days=2),
        due_on__lte=today + HORIZON,
        **of_journeys,
    ).values_list("pk", "journey_id", "stage", "due_on")
    for pk, journey_id, stage, due_on in rows:
        if stages[journey_id] == stage:
            plans[journey_id].steps.append(p.Step(pk, due_on))


def _add_stage_notes(plans, of_journeys, now):
    rows = StageChange.objects.filter(moved_at__gte=now - p.RECENT, **of_journeys).values_list(
        "pk", "journey_id", "moved_at"
    )
    for pk, journey_id, moved_at in rows:
        plans[journey_id].stage_notes.append(p.StageNote(pk, moved_at))


def _add_criticals(plans, of_journeys, now):
    rows = (
        LabResult.objects.counting()
        .filter(flag__in=CRITICAL_FLAGS, entered_at__gte=now - p.RECENT, **of_journeys)
        .values_list("pk", "journey_id", "entered_at")
    )
    for pk, journey_id, entered_at in rows:
        plans[journey_id].criticals.append(p.Critical(pk, entered_at))


def _add_urgent_reports(plans, patients, now):
    """Open urgent reports (a report names its child, not always an open journey)."""
    journey_of = {inputs.patient_id: j for j, inputs in plans.items()}
    rows = SymptomReport.objects.filter(
        urgent=True, status=ReportStatus.OPEN, created_at__gte=now - p.RECENT, **patients.where()
    ).values_list("pk", "patient_id", "created_at")
    for pk, patient_id, created_at in rows:
        if patient_id in journey_of:
            plans[journey_of[patient_id]].urgent_reports.append(p.UrgentReport(pk, created_at))
