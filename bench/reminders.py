"""Benchmark: plan and dispatch reminders for N children; prints ONE JSON line.

    DATABASE_URL=postgres://... .venv/bin/python bench/reminders.py --patients 10000

Builds the children in bulk inside a transaction that is rolled back at the end (the configured
database is left as it was), plans with services.reconcile, dispatches a sample over a local
aiosmtpd sink, and times, on the same data, the naive alternatives: one ORM save per reminder
and one Celery ETA task per reminder (apply_async(eta=...) on kombu's in-memory transport).
"""

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from journey import models as jm  # noqa: E402
from notifications import dispatch, services  # noqa: E402
from notifications.models import Reminder, Status  # noqa: E402
from tracker import models as tm  # noqa: E402


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
        jm.Guardianship(guardian=g, patient=p, is_primary=True)
        for g, p in zip(guardians, patients, strict=True)
    )
    now = timezone.now()
    journeys = jm.Journey.objects.bulk_create(
        jm.Journey(patient=p, center=center, therapy=therapy, stage=jm.Stage.MONITORING,
                   stage_entered_at=now)
        for p in patients
    )  # fmt: skip
    plans = tm.MonitoringPlan.objects.bulk_create(
        tm.MonitoringPlan(journey=j, therapy=therapy) for j in journeys
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


def timed(fn):
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
    return result, elapsed, len(queries)


def naive_per_row_rate(sample):
    """One ORM save per reminder (the check-then-insert loop we replaced)."""
    rows = list(Reminder.objects.filter(status=Status.PENDING)[:sample])
    start = time.perf_counter()
    for row in rows:
        row.pk, row.public_id, row.key = None, None, row.key + ":naive"
        import uuid

        row.public_id = uuid.uuid4()
        if not Reminder.objects.filter(key=row.key).exists():
            row.save()
    return len(rows) / (time.perf_counter() - start)


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


def dispatch_sample(sample):
    from tests.factories_notifications import SMTPServer, free_port

    server = SMTPServer(free_port())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    ids = Reminder.objects.filter(status=Status.PENDING).values_list("pk", flat=True)[:sample]
    Reminder.objects.filter(pk__in=list(ids)).update(send_at=timezone.now())
    try:
        totals, elapsed, queries = timed(
            lambda: dispatch.dispatch_due(max_batches=10**6, batch_size=100, budget=10**6)
        )
    finally:
        server.stop()
    return totals.sent, elapsed, queries


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=2_000, help="rows for dispatch and naive")
    args = parser.parse_args()
    settings.DEBUG = True  # let CaptureQueriesContext count
    result = {}
    try:
        with transaction.atomic():
            ids = build(args.patients, timezone.localdate())
            counts, plan_s, plan_q = timed(lambda: services.reconcile(ids))
            plan_rate = counts.created / plan_s
            sent, dispatch_s, dispatch_q = dispatch_sample(args.sample)
            per_row = naive_per_row_rate(args.sample)
            eta = eta_task_rate(args.sample)
            result = {
                "patients": args.patients,
                "reminders": counts.created,
                "plan_s": round(plan_s, 3),
                "plan_rows_per_s": round(plan_rate),
                "plan_queries": plan_q,
                "dispatch_msgs_per_s": round(sent / dispatch_s),
                "dispatch_queries": dispatch_q,
                "dispatch_sample": sent,
                "ratio_vs_per_row": round(plan_rate / per_row, 1),
                "ratio_vs_eta_tasks": round(plan_rate / eta, 1),
                "database": connection.vendor,
            }
            raise Rollback
    except Rollback:
        pass
    print(json.dumps(result))


if __name__ == "__main__":
    main()
