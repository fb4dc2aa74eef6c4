"""A journey that ends closes its open labs; its abnormal results wait for review.

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
def test_ending_a_journey_cancels_its_open_labs(planned, coordinator_a, stage):
    labs = ScheduledLab.objects.filter(journey=planned)
    missed = labs.overdue(TODAY).first()
    services.mark_missed(missed, by=coordinator_a, reason="The family could not come")
    open_before = set(labs.open().values_list("pk", flat=True))
    assert open_before
    change = journey_services.move_stage(
        planned, stage, by=coordinator_a, reason="Family moved abroad", override_reason="Moved"
    )
    assert not labs.open().exists()
    cancelled = labs.filter(pk__in=open_before)
    assert {(lab.cancelled_at, lab.cancel_reason) for lab in cancelled} == {
        (change.moved_at, f"The journey ended: {stage.label}.")
    }
    missed.refresh_from_db()
    assert missed.missed_at and missed.cancelled_at is None  # its outcome stays


def test_the_worklist_drops_the_labs_and_keeps_the_result_until_reviewed(planned, coordinator_a):
    assert _listed(coordinator_a, planned) == {"overdue", "due", "review"}
    journey_services.move_stage(planned, Stage.WITHDRAWN, by=coordinator_a, reason="Left")
    assert _listed(coordinator_a, planned) == {"review"}
    result = worklist.results_awaiting_review(coordinator_a).get(journey=planned)
    services.review_result(result, by=coordinator_a, note="Seen; family informed")
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
