"""Benchmark: plan and dispatch reminders for N children; prints ONE JSON line.

    DATABASE_URL=postgres://... .venv/bin/python bench/reminders.py --patients 10000

Starts with VACUUM (earlier runs' rolled-back rows would slow this one), builds the children in
bulk inside a transaction that is rolled back at the end (the configured database is left as it
was; an empty one is migrated and given the catalogues first), ANALYZEs them, plans them
as beat's fan-out does (sweep.reconcile_range over ranges of sweep.RANGE_CHUNK children, one
task each in production), times the fan-out itself (sweep.sweep_chunks: the database cuts the
ranges) against reading every child's id into Python, and dispatches a sample over a local
aiosmtpd sink (its own process) against the SMTP FLOOR: raw smtplib sending the same sample's
emails, built beforehand, over one reused connection to the same sink. It also times, on the
same data: the planning FLOOR (PostgreSQL only: one INSERT ... SELECT writing the same outbox
rows, in a savepoint rolled back before planning), and the naive alternatives: the same
planning with one check-then-save per reminder (on a sample of children, in a savepoint
rolled back; compared as rows/s) and one Celery ETA task per reminder (apply_async(eta=...) on
kombu's memory transport).
"""

import argparse
import contextlib
import datetime as dt
import json
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, prepare_database, setup_django  # noqa: E402

setup_django()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from journey import models as jm  # noqa: E402
from notifications import clock, dispatch, emails, services, sweep  # noqa: E402
from notifications import planning as p  # noqa: E402
from notifications.models import Reminder, Status  # noqa: E402
from tracker import models as tm  # noqa: E402
from tracker.services.plans import Label  # noqa: E402

DISPATCH_BATCH = 100


class Rollback(Exception):
    pass


def build(n, today):
    """n children, each with one guardian, an open journey and one lab due in two days."""
    center = jm.Center.objects.create(name=f"Bench {time.time()}", time_zone="America/New_York")
    therapy = jm.Therapy.objects.first()
    user = jm.User.objects.create(email=f"bench{time.time()}@example.org", time_zone="UTC")
    jm.Membership.objects.create(user=user, center=center)
    tag = int(time.time())
    guardians = jm.Guardian.objects.bulk_create(
        jm.Guardian(center=center, full_name=f"G{i}", email=f"b{tag}.{i}@example.org",
                    time_zone=("America/New_York", "Europe/London", "Asia/Kolkata")[i % 3])
        for i in range(n)
    )  # fmt: skip
    born = today - dt.timedelta(days=400)
    patients = jm.Patient.objects.bulk_create(
        jm.Patient(center=center, first_name="Kid", last_name=str(i), date_of_birth=born)
        for i in range(n)
    )
    jm.Guardianship.objects.bulk_create(
        jm.Guardianship(guardian=g, patient=p, is_primary=True, role=jm.Guardianship.Role.PRIMARY)
        for g, p in zip(guardians, patients, strict=True)
    )
    now = timezone.now()
    journeys = jm.Journey.objects.bulk_create(
        jm.Journey(patient=p, center=center, therapy=therapy, stage=jm.Stage.MONITORING,
                   stage_entered_at=now)
        for p in patients
    )  # fmt: skip
    plans = tm.MonitoringPlan.objects.bulk_create(
        tm.MonitoringPlan(journey=j, therapy=therapy, **Label.of_therapy(therapy).plan_fields())
        for j in journeys
    )
    versions = tm.PlanVersion.objects.bulk_create(
        tm.PlanVersion(plan=p, number=1, infusion_date=today, created_at=now, reason="bench")
        for p in plans
    )
    items = tm.PlanItem.objects.bulk_create(
        tm.PlanItem(plan=p, code="lab", kind=tm.ItemKind.LAB, title="Lab") for p in plans
    )
    due = today + dt.timedelta(days=2)
    tm.ScheduledLab.objects.bulk_create(
        tm.ScheduledLab(item=i, journey=j, sequence=1, due_on=due, window_start=due,
                        window_end=due, version=v)
        for i, j, v in zip(items, journeys, versions, strict=True)
    )  # fmt: skip
    return [p.pk for p in patients]


# The floor: the same outbox rows as the sweep, from ONE INSERT ... SELECT in PostgreSQL.
# Approximations (exact for the bench's data, where nobody has a Preference row): default
# preferences (lead 1 day, 09:00, no quiet hours, no snooze, every kind on); the primary guardian
# is the one flagged is_primary; send_at = (local date + time '09:00') AT TIME ZONE zone, i.e.
# PostgreSQL's own reading of a DST gap/fold instead of clock.send_at's; no one-day grace filter.
FLOOR_SQL = """
WITH j AS (
    SELECT id, patient_id, center_id FROM journey_journey
    WHERE patient_id = ANY(%(patients)s) AND stage = ANY(%(stages)s)
), test AS (
    SELECT s.id, s.journey_id, s.due_on, s.window_end, j.patient_id, j.center_id
    FROM tracker_scheduledlab s JOIN j ON j.id = s.journey_id
    JOIN tracker_planitem i ON i.id = s.item_id
    WHERE s.done_at IS NULL AND s.missed_at IS NULL AND s.cancelled_at IS NULL
      AND i.kind = ANY(%(kinds)s) AND NOT i.inpatient
      AND s.due_on <= %(horizon)s AND s.window_end >= %(oldest)s
), lab AS (  -- one per draw (journey, due day): its row whose window closes last
    SELECT DISTINCT ON (journey_id, due_on) * FROM test
    ORDER BY journey_id, due_on, window_end DESC, id
), g AS (
    SELECT gs.patient_id, gs.guardian_id, gs.is_primary, gd.time_zone
    FROM journey_guardianship gs JOIN journey_guardian gd ON gd.id = gs.guardian_id
    WHERE gs.patient_id = ANY(%(patients)s)
), c AS (
    SELECT m.center_id, m.user_id, u.time_zone
    FROM journey_membership m JOIN journey_user u ON u.id = m.user_id
    WHERE m.role = 'coordinator' AND u.is_active AND m.center_id IN (SELECT center_id FROM j)
), want AS (
    SELECT 'g' || g.guardian_id AS who, 'lab_reminder' AS kind, g.guardian_id, NULL::bigint
           AS user_id, lab.*, lab.due_on AS day, 0 AS rung, lab.due_on - 1 AS at_day, g.time_zone
    FROM lab JOIN g ON g.patient_id = lab.patient_id
    UNION ALL
    SELECT 'g' || g.guardian_id, 'overdue_nudge', g.guardian_id, NULL, lab.*,
           lab.window_end + r, r, lab.window_end + r, g.time_zone
    FROM lab JOIN g ON g.patient_id = lab.patient_id AND g.is_primary
    CROSS JOIN generate_series(1, %(nudges)s) AS r
    UNION ALL
    SELECT 'g' || g.guardian_id, 'overdue_other_guardian', g.guardian_id, NULL, lab.*,
           lab.window_end + %(nudges)s + 1, %(nudges)s + 1, lab.window_end + %(nudges)s + 1,
           g.time_zone
    FROM lab JOIN g ON g.patient_id = lab.patient_id AND NOT g.is_primary
    UNION ALL
    SELECT 'u' || c.user_id, 'overdue_coordinator', NULL, c.user_id, lab.*,
           lab.window_end + %(nudges)s + 2, %(nudges)s + 2, lab.window_end + %(nudges)s + 2,
           c.time_zone
    FROM lab JOIN c ON c.center_id = lab.center_id
)
INSERT INTO notifications_reminder (
    public_id, key, kind, guardian_id, user_id, center_id, patient_id, journey_id,
    scheduled_lab_id, step_id, result_id, due_on, rung, send_at, time_zone, status, attempts,
    last_error, lease_until, lease_token, sent_at, message_id, created_at, updated_at)
SELECT gen_random_uuid(), who || ':' || kind || ':draw' || journey_id || '.'
       || to_char(due_on, 'YYYYMMDD') || ':' || to_char(day, 'YYYY-MM-DD'),
       kind, guardian_id, user_id, center_id, patient_id, journey_id, id, NULL, NULL, day, rung,
       (at_day + time '09:00') AT TIME ZONE time_zone, time_zone, 'pending', 0, '', NULL, NULL,
       NULL, '', now(), now()
FROM want
ON CONFLICT DO NOTHING
RETURNING key, send_at
"""


def floor(ids, now):
    """Time the INSERT ... SELECT floor in a savepoint that is rolled back: {key: send_at}."""
    if connection.vendor != "postgresql":
        return None, None
    from journey.models import OPEN_STAGES

    today = now.date()
    params = {
        "patients": ids,
        "stages": [str(s) for s in OPEN_STAGES],
        "kinds": [str(k) for k in services.REMINDED_KINDS],
        "horizon": today + services.HORIZON,
        "oldest": today - dt.timedelta(days=services.nudges() + 4),
        "nudges": services.nudges(),
    }
    times = []
    for _ in range(2):  # the faster of two runs: the first also warms the caches for the sweep
        sid = transaction.savepoint()
        with connection.cursor() as cursor:
            start = time.perf_counter()
            cursor.execute(FLOOR_SQL, params)
            rows = dict(cursor.fetchall())
            times.append(time.perf_counter() - start)
        transaction.savepoint_rollback(sid)
    log(f"floor runs: {', '.join(f'{t:.3f}' for t in times)} s")
    return rows, min(times)


def timed(fn):
    connection.queries_log.clear()  # a full log (9,000 entries) would count nothing
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
    return result, elapsed, len(queries)


def check_floor(floor_rows, ids):
    """The floor must write the sweep's rows: same keys; say how many send_at differ."""
    planned = dict(
        Reminder.objects.filter(patient_id__in=ids).values_list("key", "send_at").iterator()
    )
    if planned.keys() != floor_rows.keys():
        raise SystemExit(
            f"floor wrote {len(floor_rows)} rows, the sweep {len(planned)}: "
            f"{len(planned.keys() ^ floor_rows.keys())} keys differ"
        )
    moved = sum(planned[k] != floor_rows[k] for k in planned)
    log(f"floor: {len(floor_rows)} rows, same keys; send_at differs on {moved}")


def naive_per_row(ids, now):
    """The same planning, then one check-then-save per reminder: (rows, rows/s), rolled back."""
    clock.send_at.cache_clear()
    sid = transaction.savepoint()
    start = time.perf_counter()
    rows = 0
    for inputs in sweep.load_inputs(ids, now):
        for want in p.plan_patient(inputs, now, sweep.nudges()):
            if not Reminder.objects.filter(key=want.key).exists():
                sweep._new_row(want, now).save()
                rows += 1
    elapsed = time.perf_counter() - start
    transaction.savepoint_rollback(sid)
    clock.send_at.cache_clear()  # the sweep starts as cold as the baseline did
    return rows, rows / elapsed


def plan(ids, now):
    """Plan as beat's fan-out does: one reconcile_range per chunk of RANGE_CHUNK children."""
    if ids[-1] - ids[0] + 1 != len(ids):  # someone else's children in between: list the ids
        log("bench children are not contiguous ids: planning them as listed chunks")
        return services.reconcile(ids, now=now), 0
    chunks = sweep.ranges(ids, sweep.RANGE_CHUNK, after=ids[0] - 1, upto=ids[-1])
    counts = sweep.Counts()
    for after, upto in chunks:
        counts += sweep.reconcile_range(after, upto, now)
    return counts, len(chunks)


def vacuum():
    """Clear what earlier runs left behind: each rolls back its rows, whose dead index entries
    slow the next run's scans until autovacuum comes (4.5 M of them after five runs at 100k)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM")


def analyze(*models):
    """Planner statistics for what this transaction wrote (all tables when none are named),
    as autovacuum keeps them in production: without them PostgreSQL plans for empty tables."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def fan_out():
    """Beat's fan-out over everyone: (chunks, seconds, queries), and seconds reading every id.

    sweep.sweep_chunks() has the database cut the ranges; the baseline reads every child's id
    into Python and cuts the same ranges there. Each runs twice, alternately; the faster counts.
    """
    every_id = lambda: sweep.ranges(sorted(sweep._all_patient_ids()), sweep.RANGE_CHUNK)  # noqa: E731
    runs = [(timed(every_id), timed(sweep.sweep_chunks)) for _ in range(2)]
    (same, _, _), (chunks, _, cut_q) = runs[0]
    if chunks != same:
        log("the fan-out's ranges differ from the ranges over every id")
        sys.exit(1)
    every_id_s = min(baseline[1] for baseline, _ in runs)
    cut_s = min(cut[1] for _, cut in runs)
    return len(chunks), cut_s, cut_q, every_id_s


def eta_task_rate(sample):
    """One Celery ETA task per reminder on kombu's in-memory transport."""
    from celery import Celery

    app = Celery("bench-eta", broker="memory://")

    @app.task
    def remind(reminder_id):
        return reminder_id

    rows = list(Reminder.objects.filter(status=Status.PENDING).values_list("pk", "send_at"))
    rows = rows[:sample]
    start = time.perf_counter()
    with app.connection_for_write() as conn, app.producer_or_acquire() as producer:
        del conn
        for pk, eta in rows:
            remind.apply_async((pk,), eta=eta, producer=producer)
    return len(rows) / (time.perf_counter() - start)


@contextlib.contextmanager
def smtp_sink():
    """An aiosmtpd sink (accepts and drops every message) in its own process on 127.0.0.1: the
    port. Its own process, as a real SMTP server: in ours it would share the GIL and charge its
    parsing to both measurements alike."""
    from tests.factories_notifications import free_port

    port = free_port()
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"]
    server = subprocess.Popen([*command, "-l", f"127.0.0.1:{port}"], stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):  # up in well under a second
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            time.sleep(0.05)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def ready_made(rows):
    """The sample's emails as bytes (envelope sender, recipients, message), built untimed."""
    out = []
    for row in rows:
        message = emails.build(row, **dispatch._batch_context([row]).for_row(row))
        data = message.message().as_bytes(linesep="\r\n")  # as Django's SMTP backend sends it
        out.append((message.from_email, message.recipients(), data))
    return out


def smtp_floor(port, messages):
    """Seconds for raw smtplib to send these ready-made messages over one reused connection."""
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=dispatch.SMTP_TIMEOUT) as client:
        for sender, recipients, data in messages:
            client.sendmail(sender, recipients, data)
    return time.perf_counter() - start


def dispatch_sample(sample, slices=4):
    """Dispatch `sample` due rows over the sink, and the SMTP floor on the same messages.

    Interleaved in `slices` (floor, dispatch, floor, dispatch ...) and summed, so a burst of
    load on the shared cores falls on both alike. Returns sent, dispatch seconds and queries,
    and the floor's messages per second.
    """
    ids = list(Reminder.objects.filter(status=Status.PENDING).values_list("pk", flat=True)[:sample])
    Reminder.objects.filter(pk__in=ids).update(send_at=timezone.now())
    rows = Reminder.objects.filter(pk__in=ids).select_related(*dispatch.ROW_RELATED)
    messages = ready_made(rows)
    per = -(-len(messages) // slices)
    floor_s = dispatch_s = 0.0
    sent = queries = 0
    with smtp_sink() as port:
        for start in range(0, len(messages), per):
            floor_s += smtp_floor(port, messages[start : start + per])
            totals, elapsed, count = timed(
                lambda: dispatch.dispatch_due(
                    max_batches=-(-per // DISPATCH_BATCH), batch_size=DISPATCH_BATCH, budget=10**6
                )
            )
            sent, dispatch_s, queries = sent + totals.sent, dispatch_s + elapsed, queries + count
    log(f"smtp floor: {floor_s:.3f} s, dispatch: {dispatch_s:.3f} s for {len(messages)}")
    return sent, dispatch_s, queries, len(messages) / floor_s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=2_000, help="rows for dispatch and ETA")
    parser.add_argument(
        "--per-row-children", type=int, default=5_000,
        help="children for the per-row baseline (capped at --patients)",
    )  # fmt: skip
    args = parser.parse_args()
    prepare_database()
    vacuum()
    settings.DEBUG = True  # let CaptureQueriesContext count
    result = {}
    try:
        with transaction.atomic():
            ids = build(args.patients, timezone.localdate())
            analyze()
            now = timezone.now()
            floor_rows, floor_s = floor(ids, now)
            sample_ids = ids[: args.per_row_children]
            per_row_rows, per_row = naive_per_row(sample_ids, now)
            (counts, chunks), plan_s, plan_q = timed(lambda: plan(ids, now))
            plan_rate = counts.created / plan_s
            if floor_rows is not None:
                check_floor(floor_rows, ids)
            analyze(Reminder)
            fan_chunks, fan_s, fan_q, every_id_s = fan_out()
            sent, dispatch_s, dispatch_q, smtp_rate = dispatch_sample(args.sample)
            dispatch_rate = sent / dispatch_s
            eta = eta_task_rate(args.sample)
            batches = -(-sent // DISPATCH_BATCH)
            result = {
                "patients": args.patients,
                "reminders": counts.created,
                "plan_s": round(plan_s, 3),
                "plan_rows_per_s": round(plan_rate),
                "plan_queries": plan_q,
                "plan_chunks": chunks,
                "plan_chunk_children": sweep.RANGE_CHUNK,
                "plan_queries_per_chunk": round(plan_q / max(chunks, 1), 1),
                "fan_out_chunks": fan_chunks,
                "fan_out_s": round(fan_s, 3),
                "fan_out_queries": fan_q,
                "fan_out_every_id_s": round(every_id_s, 3),
                "dispatch_msgs_per_s": round(dispatch_rate),
                "dispatch_queries": dispatch_q,
                "dispatch_sample": sent,
                "dispatch_batch": DISPATCH_BATCH,
                "dispatch_queries_per_batch": round(dispatch_q / max(batches, 1), 1),
                "smtp_floor_msgs_per_s": round(smtp_rate),
                "ratio_vs_smtp_floor": round(dispatch_rate / smtp_rate, 2),
                "per_row_children": len(sample_ids),
                "per_row_rows": per_row_rows,
                "per_row_rows_per_s": round(per_row),
                "ratio_vs_per_row": round(plan_rate / per_row, 1),
                "ratio_vs_eta_tasks": round(plan_rate / eta, 1),
                "floor_s": None if floor_s is None else round(floor_s, 3),
                "floor_rows_per_s": None if floor_s is None else round(len(floor_rows) / floor_s),
                "ratio_vs_floor": None if floor_s is None else round(plan_s / floor_s, 1),
                "database": connection.vendor,
            }
            raise Rollback
    except Rollback:
        pass
    print(json.dumps(result))


if __name__ == "__main__":
    main()
