"""Fault tests on real services: PostgreSQL (skip_locked races), Redis and a real Celery worker.

Locally they skip without the services; in CI (CI=true) a missing service fails the run.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from notifications import dispatch
from notifications.models import Reminder, Status
from tests.conftest import require_service
from tests.factories_notifications import due_reminders, smtp  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
CELERY = Path(sys.executable).with_name("celery")  # the venv running the tests
QUEUES = "planning,dispatch,alerts,celery"  # every queue of CELERY_TASK_ROUTES, as make demo
pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def require_postgres():
    require_service("PostgreSQL", connection.vendor == "postgresql")


@pytest.fixture
def redis_db():
    """The Redis DB of REDIS_URL, emptied before and after (flushdb on that DB only)."""
    url = os.environ.get("REDIS_URL", "")
    client = None
    if url:
        import redis

        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=1)
            client.ping()
        except redis.RedisError:
            client = None
    require_service("Redis", client is not None)
    client.flushdb()
    yield client
    client.flushdb()


def report(name, **figures):
    """Print the figures the final report quotes (pytest -s shows them)."""
    print(f"\n[{name}] " + " ".join(f"{k}={v}" for k, v in figures.items()), file=sys.stderr)


def test_two_workers_racing_over_1000_rows_send_each_once(smtp):  # noqa: F811
    """GIVEN 1,000 due rows WHEN two workers claim with skip_locked at the same time
    THEN every reminder is sent exactly once."""
    require_postgres()
    due_reminders(1000)
    totals, start = [], threading.Barrier(2)

    def worker():
        start.wait()
        try:
            totals.append(dispatch.dispatch_due(max_batches=1000, batch_size=25))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    ids = Counter(smtp.sink.ids())
    duplicates = sum(n - 1 for n in ids.values())
    report("race", rows=1000, delivered=len(ids), duplicates=duplicates,
           per_worker=[t.sent for t in totals])  # fmt: skip
    assert len(ids) == 1000 and duplicates == 0
    assert all(t.sent > 0 for t in totals), "both workers took part"
    assert Reminder.objects.filter(status=Status.SENT).count() == 1000


def _worker_env(smtp_port, extra=None):
    db = connection.settings_dict
    env = (
        os.environ
        | (extra or {})
        | {
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "DJANGO_CONN_MAX_AGE": "0",
        }
    )
    return env


def _start_worker(smtp_port, name="kill-test", env=None):
    return subprocess.Popen(
        [str(CELERY), "-A", "config", "worker", "--pool=solo", "-l", "WARNING"]
        + ["--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"{name}@%h"]
        + ["-Q", QUEUES],
        cwd=ROOT,
        env=_worker_env(smtp_port, env),
        start_new_session=True,  # its own process group: we kill exactly what we started
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _stop(process, sig=signal.SIGTERM):
    if process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(30)


def test_worker_killed_mid_batch_delivers_everything_after_restart(smtp, redis_db):  # noqa: F811
    """GIVEN a real worker sending 200 reminders WHEN it is SIGKILLed mid-batch and restarted
    (after the lease) THEN every reminder is delivered; re-sends carry the same Message-ID."""
    require_postgres()
    from notifications.tasks import dispatch_due as task

    due_reminders(200)
    smtp.sink.delay = 0.02
    worker = _start_worker(smtp.port)
    try:
        task.delay()
        assert _wait(lambda: len(smtp.sink.messages) >= 40), worker.stderr.read1().decode()
        _stop(worker, signal.SIGKILL)
        sent_before_kill = len(smtp.sink.messages)
        stuck = Reminder.objects.filter(status=Status.SENDING).count()
        # Time passes beyond the lease (5 minutes): the rows the dead worker held are free again.
        Reminder.objects.filter(status=Status.SENDING).update(lease_until=timezone.now())
        smtp.sink.delay = 0
        worker = _start_worker(smtp.port)
        task.delay()
        assert _wait(lambda: not Reminder.objects.exclude(status=Status.SENT).exists(), 90)
    finally:
        _stop(worker)
    ids = Counter(smtp.sink.ids())
    resends = sum(n - 1 for n in ids.values())
    report("sigkill", rows=200, sent_before_kill=sent_before_kill, stuck_in_sending=stuck,
           delivered=len(ids), resends=resends, messages=len(smtp.sink.messages))  # fmt: skip
    assert len(ids) == 200, "every reminder delivered"
    assert resends <= 1, "at most the message in flight when the worker died goes out again"
    rows = Reminder.objects.all()
    assert {r.message_id for r in rows} == set(ids), "re-sends carry the same Message-ID"


def test_two_worker_processes_drain_the_outbox_once(smtp, redis_db):  # noqa: F811
    """GIVEN 600 due reminders WHEN two Celery workers, separate processes on the same Redis
    and PostgreSQL, take dispatch tasks side by side THEN each reminder is sent exactly once."""
    require_postgres()
    from notifications.tasks import dispatch_due as task

    due_reminders(600)
    smtp.sink.delay = 0.005
    workers = [_start_worker(smtp.port, name) for name in ("drain-a", "drain-b")]
    try:
        for _ in range(12):  # more ticks than needed, as several beats' worth would be
            task.delay()
        drained = _wait(lambda: not Reminder.objects.exclude(status=Status.SENT).exists(), 120)
        assert drained, workers[0].stderr.read1().decode()
    finally:
        for worker in workers:
            _stop(worker)
    ids = Counter(smtp.sink.ids())
    duplicates = sum(n - 1 for n in ids.values())
    report("two-processes", rows=600, delivered=len(ids), duplicates=duplicates)
    assert len(ids) == 600 and duplicates == 0


def test_redis_flushed_between_planning_and_dispatch_loses_nothing(smtp, redis_db):  # noqa: F811
    """GIVEN reminders planned and a dispatch task queued WHEN Redis is wiped
    THEN the rows are still in the outbox and the next beat tick delivers them all."""
    require_postgres()
    from notifications.tasks import dispatch_due as task

    due_reminders(50)
    task.delay()
    assert redis_db.dbsize() > 0
    redis_db.flushdb()  # the queued task is gone
    assert Reminder.objects.filter(status=Status.PENDING).count() == 50
    worker = _start_worker(smtp.port)
    try:
        task.delay()  # what the next beat tick sends
        assert _wait(lambda: Reminder.objects.filter(status=Status.SENT).count() == 50, 60)
    finally:
        _stop(worker)
    ids = Counter(smtp.sink.ids())
    report("redis-flush", rows=50, delivered=len(ids), duplicates=sum(n - 1 for n in ids.values()))
    assert len(ids) == 50 and max(ids.values()) == 1


def test_beat_schedule_names_real_tasks():
    from config.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
        assert entry["options"]["expires"] < entry["schedule"]


def _hold_key(want):
    """A second connection inserts `want`'s key and keeps its transaction open: a planner
    inserting the same key waits (unique index) until that transaction ends."""
    import psycopg

    db = connection.settings_dict
    holder = psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None,
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
    )  # fmt: skip
    r = want.recipient
    holder.execute(
        "INSERT INTO notifications_reminder (public_id, key, kind, guardian_id, user_id,"
        " center_id, patient_id, journey_id, scheduled_lab_id, due_on, rung, send_at, time_zone,"
        " status, attempts, last_error, message_id, created_at, updated_at) VALUES"
        " (gen_random_uuid(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " 'pending', 0, '', '', now(), now())",
        [want.key, want.kind, r.id if r.role == "g" else None, r.id if r.role == "u" else None,
         want.center_id, want.patient_id, want.journey_id, want.scheduled_lab_id, want.due_on,
         want.rung, want.send_at, r.time_zone],
    )  # fmt: skip
    return holder


def _planner_waiting():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE %s",
            ["%INSERT INTO notifications_reminder%"],
        )
        return cursor.fetchone()[0] > 0


def test_worker_killed_mid_chunk_its_chunk_is_redelivered_to_another(smtp, redis_db):  # noqa: F811
    """GIVEN beat's plan_reminders fanned out into 3 chunks of 10 children and worker A
    SIGKILLed in the middle of the second chunk (held on one key by another transaction)
    WHEN worker B starts (visibility timeout passed) THEN B gets the unacknowledged chunk
    again and the third one, and the outbox is complete with no duplicates."""
    require_postgres()
    import datetime as dt

    from notifications import planning, sweep
    from notifications.tasks import plan_reminders
    from tests.factories_notifications import Family

    families = [Family() for _ in range(30)]
    for family in families:
        family.lab(timezone.localdate() + dt.timedelta(days=2))
    ids = [f.patient.pk for f in families]
    held = families[15]  # in the second chunk
    (inputs,) = sweep.load_inputs([held.patient.pk], timezone.now())
    holder = _hold_key(planning.plan_patient(inputs, timezone.now())[0])
    env = {"CELERY_VISIBILITY_TIMEOUT": "2"}
    worker = _start_worker(smtp.port, "chunk-a", env)
    try:
        plan_reminders.delay(chunk_size=10)  # what beat sends, in smaller chunks
        assert _wait(_planner_waiting, 60), worker.stderr.read1().decode()
        _stop(worker, signal.SIGKILL)  # mid-chunk: the message was never acknowledged
        holder.rollback()
        before = _planned(ids)
        assert before == set(ids[:10]), "chunk 1 committed; chunk 2 died; chunk 3 not started"
        assert redis_db.hlen("unacked") == 1, "the killed chunk is held by the broker"
        time.sleep(2.5)  # past the visibility timeout
        worker = _start_worker(smtp.port, "chunk-b", env)
        done = _wait(lambda: _planned(ids) == set(ids) and redis_db.hlen("unacked") == 0, 90)
        assert done, worker.stderr.read1().decode()
    finally:
        holder.close()
        _stop(worker)
    again = sweep.reconcile(ids)  # what a full re-plan would still add: nothing
    rows = Reminder.objects.filter(patient_id__in=ids)
    keys = Counter(rows.values_list("key", flat=True))
    report(
        "chunk-sigkill",
        children=30,
        chunks=3,
        planned_before_kill=len(before),
        rows=rows.count(),
        missing=again.created,
        duplicates=sum(n - 1 for n in keys.values()),
    )
    assert again.created == 0 and again.updated == 0, "the outbox is complete"
    assert rows.count() == again.desired == 30 * 6  # 2 reminders, 2 nudges, other, coordinator
    assert max(keys.values()) == 1


def _planned(ids):
    rows = Reminder.objects.filter(patient_id__in=ids)
    return set(rows.values_list("patient_id", flat=True).distinct())
