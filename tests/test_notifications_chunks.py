"""Beat's "plan everyone" as chunks any worker can take; queues for planning, dispatch, alerts."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journey.models import OPEN_STAGES, Journey, Stage
from notifications import sweep, tasks
from notifications.models import COORDINATOR_KINDS, Kind, Reminder, Status
from tests.factories_notifications import Family

NOW = dt.datetime(2025, 3, 8, 12, tzinfo=dt.UTC)


@pytest.fixture
def families(db):
    center = Family().center
    children = [Family(center=center) for _ in range(7)]
    for family in children:
        family.lab(dt.date(2025, 3, 10))
    closed = Family(center=center)  # a closed journey: nothing to plan, not in any chunk's work
    closed.journey.stage = Stage.CLOSED
    closed.journey.save()
    return children


def test_ranges_cover_every_id_exactly_once():
    ids = [3, 4, 9, 10, 11, 20, 21]
    chunks = sweep.ranges(ids, 3)
    assert chunks == [(0, 9), (9, 20), (20, None)]
    for i in ids + [1, 15, 10**9]:  # listed ids, gaps and ids added after the fan-out
        assert sum(a < i and (b is None or i <= b) for a, b in chunks) == 1
    assert sweep.ranges([], 3) == [(0, None)]


@pytest.mark.parametrize("size", [1, 3, 4, 8, 9, 100])
def test_the_database_cuts_the_same_ranges_in_one_query(families, size):
    """GIVEN 8 children to plan (sizes dividing that exactly, or not, or more than all)
    THEN sweep_chunks() cuts what ranges() cuts over every id, reading one row per chunk."""
    with time_machine.travel(NOW, tick=False):
        sweep.reconcile()  # pending rows too: most children are on both sides of the union
    with CaptureQueriesContext(connection) as queries:
        chunks = sweep.sweep_chunks(size)
    assert len(queries) == 1
    assert chunks == sweep.ranges(sorted(sweep._all_patient_ids()), size)
    assert len(sweep._all_patient_ids()) == 8
    assert len(chunks) == -(-8 // size)


def test_children_with_only_pending_rows_are_in_a_chunk(families):
    """A closed journey's child keeps a chunk while it has pending rows to cancel."""
    with time_machine.travel(NOW, tick=False):
        sweep.reconcile()
        gone = families[-1]
        gone.journey.stage = Stage.WITHDRAWN
        gone.journey.save(update_fields=["stage"])
        chunks = sweep.sweep_chunks(1)
    open_ids = Journey.objects.filter(stage__in=OPEN_STAGES).values_list("patient_id", flat=True)
    assert gone.patient.pk not in open_ids
    assert chunks == sweep.ranges(sorted({*open_ids, gone.patient.pk}), 1)


def test_fan_out_publishes_chunks_covering_every_child_once(families, monkeypatch):
    """GIVEN 7 children to plan WHEN beat's plan_reminders() runs with chunks of 3
    THEN it publishes 3 chunk tasks whose ranges hold each child exactly once, and running
    them plans what one sweep over everyone would."""
    published = []
    monkeypatch.setattr(tasks.plan_chunk, "delay", lambda *args: published.append(args))
    with time_machine.travel(NOW, tick=False):
        summary = tasks.plan_reminders(chunk_size=3)
        wanted = sweep._all_patient_ids()
        assert summary["chunks"] == len(published) == 3
        for patient_id in wanted:
            holders = [(a, b) for a, b in published if a < patient_id <= (b or patient_id)]
            assert len(holders) == 1, patient_id
        for after, upto in published:
            tasks.plan_chunk(after, upto)
        from_chunks = set(Reminder.objects.values_list("key", flat=True))
        Reminder.objects.all().delete()
        sweep.reconcile()
    assert from_chunks == set(Reminder.objects.values_list("key", flat=True))
    assert Reminder.objects.filter(kind=Kind.LAB_REMINDER).count() == 2 * len(families)


def test_a_chunk_run_twice_creates_no_duplicates(families):
    """GIVEN a chunk planned once WHEN it runs again (a redelivery) THEN nothing changes."""
    with time_machine.travel(NOW, tick=False):
        (after, upto), *_ = sweep.sweep_chunks(size=100)
        first = tasks.plan_chunk(after, upto)
        rows = sorted(Reminder.objects.values_list("pk", "key", "send_at", "status"))
        again = tasks.plan_chunk(after, upto)
    assert first["created"] == len(rows) > 0
    assert (again["created"], again["updated"], again["cancelled"]) == (0, 0, 0)
    assert sorted(Reminder.objects.values_list("pk", "key", "send_at", "status")) == rows


def test_a_chunk_cancels_what_is_no_longer_wanted(families):
    """The range scope also reaches children whose journey closed (their pending rows)."""
    with time_machine.travel(NOW, tick=False):
        tasks.plan_chunk(0, None)
        gone = families[0]
        gone.journey.stage = Stage.WITHDRAWN
        gone.journey.save()
        counts = tasks.plan_chunk(0, None)
    assert counts["cancelled"] > 0
    assert not Reminder.objects.filter(patient=gone.patient, status=Status.PENDING).exists()


def test_tasks_go_to_their_queues():
    from config.celery import app

    def queue(name):
        return app.amqp.router.route({}, name)["queue"].name

    assert queue("notifications.tasks.plan_reminders") == "planning"
    assert queue("notifications.tasks.plan_chunk") == "planning"
    assert queue("notifications.tasks.dispatch_due") == "dispatch"
    assert queue("notifications.tasks.dispatch_alerts") == "alerts"


def test_guardian_reminders_and_coordinator_alerts_are_sent_by_separate_tasks(db, mailoutbox):
    """GIVEN a due guardian reminder and a due critical alert WHEN dispatch_due runs
    THEN only the guardian's goes; WHEN dispatch_alerts runs THEN the coordinator's goes."""
    from tests.factories_notifications import critical_result

    family = Family(father_tz=None)
    at = timezone.now() - dt.timedelta(minutes=1)
    critical_result(family.journey, at)
    family.lab(at.date() + dt.timedelta(days=2))
    sweep.reconcile([family.patient.pk], now=at)
    Reminder.objects.update(send_at=at)
    kinds = set(Reminder.objects.values_list("kind", flat=True))
    assert Kind.CRITICAL_RESULT in kinds and kinds - set(COORDINATOR_KINDS)
    tasks.dispatch_due()
    sent = set(Reminder.objects.filter(status=Status.SENT).values_list("kind", flat=True))
    assert sent and not sent & set(COORDINATOR_KINDS)
    tasks.dispatch_alerts()
    assert not Reminder.objects.filter(status=Status.PENDING, kind__in=COORDINATOR_KINDS).exists()
