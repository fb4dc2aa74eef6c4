"""Scheduled labs and results carry their journey's center (the worklist's indexes lead with it).

GIVEN labs and results made by every path (a drawn plan, an extra draw of an exit rule, a
      recorded, corrected or batch-recorded result, save() or bulk_create() without a center)
THEN  each row's center is its journey's;
WHEN  the child is handed over to another center
THEN  the rows move with the journeys in the same transaction (or nothing moves), and the
      worklist shows them to the new center only; on PostgreSQL the database refuses a
      copy that disagrees with its journey's center, and carries a journey's move along.
"""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journey import followup
from journey.models import CenterTransfer, Journey
from journey.signals import journeys_moved
from tests import factories as f
from tests import factories_notifications as fn
from tests import factories_tracker as ft
from tests.test_exit_rules import NORMAL_LIVER, _draw, _journey, _rows
from tracker import services
from tracker.models import Flag, LabResult, LabTest, ScheduledLab
from tracker.services import Collection, record_collections, worklist

pytestmark = pytest.mark.django_db


def _centers(journey):
    """{center_id} of the journey's labs and of its results."""
    labs = set(ScheduledLab.objects.filter(journey=journey).values_list("center_id", flat=True))
    results = set(LabResult.objects.filter(journey=journey).values_list("center_id", flat=True))
    return labs, results


def test_a_drawn_plan_an_extra_draw_and_recorded_results_carry_the_journey_center():
    j = _journey()
    _draw(j, 84, dict(NORMAL_LIVER, TBIL="2.0"))  # results, and an extra draw (exit rule)
    assert _rows(j, "liver-panel")[-1].extension
    assert _centers(j) == ({j.center_id}, {j.center_id})


def test_a_correction_and_a_batch_carry_the_journey_center(coordinator_a):
    j = _journey()
    [result, *_rest] = _draw(j, 7, NORMAL_LIVER)
    new = services.correct_result(result, "25", "U/L", by=coordinator_a, reason="typo")
    collected = timezone.make_aware(dt.datetime(2026, 1, 19, 9))
    [batch] = record_collections(
        [Collection(j.pk, collected, [("ALT", "20", "U/L")])], by=coordinator_a
    )
    assert batch.error is None
    assert {new.center_id, *(r.center_id for r in batch.results)} == {j.center_id}
    assert _centers(j)[1] == {j.center_id}


def test_save_without_a_center_takes_the_journey_center():
    lab = fn.LabFactory(center=None)
    journey = Journey.objects.get(pk=lab.journey_id)
    test, at = LabTest.objects.order_by("pk").first(), timezone.now()
    result = LabResult.objects.create(
        journey_id=journey.pk, test=test, value_entered="1", unit_entered=test.unit, value=1,
        unit=test.unit, collected_at=at, entered_at=at, flag=Flag.NORMAL,
    )  # fmt: skip
    assert lab.center_id == result.center_id == journey.center_id


def test_bulk_create_fills_the_centers_in_one_query():
    lab = fn.LabFactory()
    journey = Journey.objects.get(pk=lab.journey_id)  # not cached on the rows below
    fields = {"item_id": lab.item_id, "version_id": lab.version_id, "due_on": lab.due_on}
    fields.update(window_start=lab.window_start, window_end=lab.window_end)
    rows = [ScheduledLab(journey_id=journey.pk, sequence=n, **fields) for n in (50, 51)]
    with CaptureQueriesContext(connection) as queries:
        ScheduledLab.objects.bulk_create(rows)
    assert len(queries) == 2  # the journeys' centers, the INSERT
    assert {row.center_id for row in rows} == {journey.center_id}
    cached = [ScheduledLab(journey=journey, sequence=52, **fields)]
    with CaptureQueriesContext(connection) as queries:
        ScheduledLab.objects.bulk_create(cached)
    assert len(queries) == 1 and cached[0].center_id == journey.center_id


@pytest.fixture
def planned(center_a):
    j = ft.planned_journey(dt.date(2026, 11, 1), center=center_a)
    _results(j)
    return j


def _results(j):
    collected = timezone.make_aware(dt.datetime(2026, 11, 8, 9))
    services.record_results(j, collected, [("ALT", "400", "U/L")], by=None, now=collected)


def test_a_transfer_moves_labs_and_results_in_its_own_transaction(planned, center_a, center_b):
    other = ft.planned_journey(dt.date(2026, 11, 1), center=center_a)  # stays
    with transaction.atomic():
        followup.transfer_patient(planned.patient, center_b, by=None, reason="moved")
        # Before any commit: the same transaction, not an on-commit callback.
        assert _centers(planned) == ({center_b.pk}, {center_b.pk})
    assert ScheduledLab.objects.filter(journey=other).exclude(center=center_a).count() == 0


def test_a_failed_move_of_the_rows_undoes_the_transfer(planned, center_b):
    def fail(**kwargs):
        raise RuntimeError("update failed")

    journeys_moved.connect(fail, dispatch_uid="test.fail")
    try:
        with pytest.raises(RuntimeError):
            followup.transfer_patient(planned.patient, center_b, by=None, reason="moved")
    finally:
        journeys_moved.disconnect(dispatch_uid="test.fail")
    planned.refresh_from_db()
    assert planned.center_id != center_b.pk
    assert not CenterTransfer.objects.filter(patient=planned.patient).exists()


def _listed(user, journey, today=dt.date(2026, 11, 26)):
    """Which of the three lists show a row of the journey."""
    lists = {
        "overdue": worklist.overdue_labs(user, today),
        "due": worklist.labs_due_soon(user, dt.date(2026, 11, 12)),
        "review": worklist.results_awaiting_review(user),
    }
    return {name for name, rows in lists.items() if rows.filter(journey=journey).exists()}


def test_after_a_transfer_the_worklist_shows_the_rows_to_the_new_center_only(
    planned, center_b, coordinator_a, coordinator_b
):
    assert _listed(coordinator_a, planned) == {"overdue", "due", "review"}
    followup.transfer_patient(planned.patient, center_b, by=None, reason="moved")
    assert _listed(coordinator_a, planned) == set()
    assert _listed(coordinator_b, planned) == {"overdue", "due", "review"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="tracker 0015's PostgreSQL key")
def test_the_database_refuses_a_row_whose_center_disagrees_with_its_journey(planned, center_b):
    """(journey, center) is a foreign key to the journey's (id, center) on PostgreSQL: a
    copy that disagrees, written by a bug that skips the signal, fails at commit."""
    for model in (ScheduledLab, LabResult):
        with pytest.raises(IntegrityError), transaction.atomic():
            model.objects.filter(journey=planned).update(center=center_b)
            connection.check_constraints()  # the deferred check, now rather than at commit
    assert _centers(planned) == ({planned.center_id}, {planned.center_id})


@pytest.mark.skipif(connection.vendor != "postgresql", reason="tracker 0015's PostgreSQL key")
def test_moving_a_journey_carries_its_rows_center_along(planned, center_b):
    """ON UPDATE CASCADE: the journey's new center reaches its rows, signal or not."""
    Journey.objects.filter(pk=planned.pk).update(center=center_b)
    assert _centers(planned) == ({center_b.pk}, {center_b.pk})


def test_the_worklist_queries_do_not_change_with_a_second_center(planned, coordinator_a):
    """The sections stay one statement each, whatever other centers hold."""
    f.CoordinatorFactory(center=ft.planned_journey(dt.date(2026, 11, 1)).center)
    with CaptureQueriesContext(connection) as queries:
        assert _listed(coordinator_a, planned) == {"overdue", "due", "review"}
    assert len(queries) == 4  # the user's centers, then one per list
