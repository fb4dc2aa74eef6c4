"""A journey that ends closes its open labs, and none opens again.

GIVEN a planned journey with labs overdue, labs due this week, a lab missed and an abnormal
      result nobody has reviewed
WHEN  the coordinator ends the journey (withdrawn, closed or not eligible)
THEN  its open labs are cancelled in the same transaction, at the move's time, with a reason
      naming the stage; a missed lab keeps its outcome; the worklist's lab lists no longer show
      it, while the abnormal result stays on the review list until someone reviews it; and
      when cancelling fails, the journey stays open.
"""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from journey import services as journey_services
from journey.models import Stage
from journey.signals import journey_ended
from tests import factories_tracker as ft
from tracker import services
from tracker.models import ScheduledLab
from tracker.services import worklist

TODAY = dt.date(2026, 11, 26)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 26, 15, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def planned(center_a):
    j = ft.planned_journey(dt.date(2026, 11, 1), center=center_a)
    collected = timezone.make_aware(dt.datetime(2026, 11, 8, 9))
    services.record_results(j, collected, [("ALT", "400", "U/L")], by=None, now=collected)
    return j


def _listed(user, journey):
    lists = {
        "overdue": worklist.overdue_labs(user, TODAY),
        "due": worklist.labs_due_soon(user, TODAY - dt.timedelta(days=14)),
        "review": worklist.results_awaiting_review(user),
    }
    return {name for name, rows in lists.items() if rows.filter(journey=journey).exists()}


@pytest.mark.parametrize("stage", [Stage.WITHDRAWN, Stage.NOT_ELIGIBLE])
def test_ending_a_journey_closes_its_open_labs(planned, coordinator_a, stage):
    labs = ScheduledLab.objects.filter(journey=planned)
    missed = labs.overdue(TODAY).first()
    services.mark_missed(missed, by=coordinator_a, reason="The family could not come")
    overdue = set(labs.overdue(TODAY).values_list("pk", flat=True))
    ahead = set(labs.open().exclude(pk__in=overdue).values_list("pk", flat=True))
    assert overdue and ahead
    change = journey_services.move_stage(
        planned, stage, by=coordinator_a, reason="Family moved abroad", override_reason="Moved"
    )
    assert not labs.open().exists()
    # Overdue when it ended: missed, as they were; the others: cancelled.
    assert {
        (lab.missed_at, lab.missed_by_id, lab.missed_reason, lab.cancelled_at)
        for lab in labs.filter(pk__in=overdue)
    } == {
        (
            change.moved_at,
            coordinator_a.pk,
            f"Not done before the journey ended: {stage.label}.",
            None,
        )
    }
    assert {
        (lab.cancelled_at, lab.cancel_reason, lab.missed_at) for lab in labs.filter(pk__in=ahead)
    } == {(change.moved_at, f"The journey ended: {stage.label}.", None)}
    missed.refresh_from_db()
    assert missed.missed_reason == "The family could not come"  # its outcome stays


def test_the_worklist_drops_the_journey(planned, coordinator_a):
    assert _listed(coordinator_a, planned) == {"overdue", "due", "review"}
    journey_services.move_stage(planned, Stage.WITHDRAWN, by=coordinator_a, reason="Left")
    assert _listed(coordinator_a, planned) == set()


def test_when_cancelling_fails_the_journey_stays_open(planned, coordinator_a):
    def fail(**kwargs):
        raise RuntimeError("update failed")

    journey_ended.connect(fail, dispatch_uid="test.fail")
    try:
        with pytest.raises(RuntimeError):
            journey_services.move_stage(planned, Stage.WITHDRAWN, by=coordinator_a, reason="x")
    finally:
        journey_ended.disconnect(dispatch_uid="test.fail")
    planned.refresh_from_db()
    assert planned.is_open and planned.stage_changes.count() == 0
    assert ScheduledLab.objects.filter(journey=planned).open().exists()


def test_a_forward_move_cancels_nothing(planned, coordinator_a):
    open_before = ScheduledLab.objects.filter(journey=planned).open().count()
    journey_services.move_stage(planned, Stage.PRE_TREATMENT, by=coordinator_a, reason="Ready")
    assert ScheduledLab.objects.filter(journey=planned).open().count() == open_before


def test_an_ended_journey_gets_no_new_labs(planned, coordinator_a):
    """A plan redrawn after the end (a retry), an extra draw of an exit rule for a result
    entered late, a done draw whose result was entered in error: none opens a lab."""
    labs = ScheduledLab.objects.filter(journey=planned)
    collected = timezone.make_aware(dt.datetime(2026, 11, 22, 9))
    liver = [("ALT", "999", "U/L"), ("AST", "40", "U/L"), ("TBIL", "0.5", "mg/dL")]
    liver.append(("INR", "1.0", "ratio"))
    [result, *_rest] = services.record_results(planned, collected, liver, by=coordinator_a)
    assert ScheduledLab.objects.filter(journey=planned, results=result, done_at__isnull=False)
    journey_services.move_stage(planned, Stage.WITHDRAWN, by=coordinator_a, reason="Left")
    assert services.generate_plan(planned, reason="retry") is None
    new = services.correct_result(result, "1000", result.unit, by=coordinator_a, reason="typo")
    services.mark_entered_in_error(new, by=coordinator_a, reason="wrong child")
    assert not labs.open().exists()
