"""Plans can't drift from the journey.

GIVEN a child's journey with a therapy and day 0
WHEN  the therapy is chosen or changed, a plan draw fails, or a row is fixed by hand in psql
THEN  the plan is drawn (again) from the journey's therapy and day 0: at once by the signal's
      receiver, by the redraw task when that failed, and by the hourly drift check for the rest.
"""

import copy
import datetime as dt
import io
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import OperationalError, connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from journey.models import Journey, Stage
from journey.services import choose_therapy
from tests import factories as f
from tests import factories_tracker as ft
from tracker import services
from tracker.models import MonitoringPlan, PlanReview, PlanVersion, ReviewStatus, ScheduledLab
from tracker.schedule import LTFU_CODE
from tracker.services import drift, label_review, plans
from tracker.tasks import redraw_plan, repair_plans

D0 = dt.date(2026, 1, 5)
REPAIRED = "Repaired: plan did not match the journey"
pytestmark = pytest.mark.django_db


def _plan(journey):
    return MonitoringPlan.objects.get(journey=journey)


def _latest(journey):
    return PlanVersion.objects.filter(plan__journey=journey).order_by("-number").first()


def _open_codes(journey):
    rows = ScheduledLab.objects.filter(journey=journey).open()
    return set(rows.values_list("item__code", flat=True))


def _day(n, day0=D0):
    return day0 + dt.timedelta(days=n)


def _choose(journey, therapy, by):
    with TestCase.captureOnCommitCallbacks(execute=True):
        choose_therapy(Journey.objects.get(pk=journey.pk), therapy, by=by)


def _fails_once(exc=None):
    """A generate_plan that raises `exc` (a lock timeout) on its first call, then draws."""
    exc = exc or OperationalError("could not obtain lock")
    real = plans.generate_plan
    calls = []

    def draw(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise exc
        return real(*args, **kwargs)

    return mock.patch.object(plans, "generate_plan", side_effect=draw), calls


@pytest.fixture
def run_tasks_eagerly(monkeypatch):
    """.delay() runs the task at once, retries included (what a worker would do later)."""
    monkeypatch.setattr(redraw_plan, "delay", lambda *a, **kw: redraw_plan.apply(a, kw))


# ---------------------------------------------------------------- choosing or changing a therapy


def test_choosing_a_therapy_on_a_journey_with_day0_draws_the_plan(coordinator_a):
    patient = f.PatientFactory(date_of_birth=dt.date(2025, 6, 1))
    journey = f.JourneyFactory(patient=patient, infusion_date=D0)
    therapy = ft.therapy(name="Genevia")
    _choose(journey, therapy, coordinator_a)
    plan = _plan(journey)
    assert plan.therapy == therapy and plan.schedule == therapy.monitoring_schedule
    version = _latest(journey)
    assert (version.number, version.created_by, version.reason) == (
        1,
        coordinator_a,
        "Therapy changed to Genevia",
    )
    platelets = ScheduledLab.objects.filter(journey=journey, item__code="platelets")
    assert platelets.order_by("sequence").first().due_on == _day(7)


def test_choosing_a_therapy_without_day0_draws_nothing_yet(coordinator_a):
    journey = f.JourneyFactory()
    _choose(journey, ft.therapy(), coordinator_a)
    assert not MonitoringPlan.objects.filter(journey=journey).exists()


def test_changing_the_therapy_redraws_the_plan_and_keeps_done_and_missed_rows(coordinator_a):
    journey = ft.planned_journey(D0)
    troponin = ScheduledLab.objects.filter(journey=journey, item__code="troponin")
    done, missed = troponin.get(sequence=1), troponin.get(sequence=2)
    services.complete_visit(done, by=coordinator_a)
    services.mark_missed(missed, by=coordinator_a, reason="family away")
    liver_7 = ScheduledLab.objects.get(journey=journey, item__code="liver-panel", sequence=1)
    other = ft.therapy(ft.BEQVEZ_SCHEDULE, name="Fixogene")

    _choose(journey, other, coordinator_a)

    plan = _plan(journey)
    assert plan.therapy == other and plan.schedule == ft.BEQVEZ_SCHEDULE
    version = _latest(journey)
    assert (version.number, version.created_by) == (2, coordinator_a)
    assert version.reason == "Therapy changed to Fixogene"
    assert _open_codes(journey) == {"baseline-labs", "liver-fix", LTFU_CODE}
    liver_7.refresh_from_db()
    assert liver_7.cancelled_at and liver_7.cancel_reason == "Therapy changed to Fixogene"
    done.refresh_from_db()
    missed.refresh_from_db()
    assert (done.done_at is not None, done.cancelled_at, done.due_on) == (True, None, _day(7))
    assert (missed.missed_at is not None, missed.cancelled_at) == (True, None)
    weekly = ScheduledLab.objects.filter(journey=journey, item__code="liver-fix")
    assert [lab.due_on for lab in weekly.order_by("sequence")][:2] == [_day(7), _day(14)]
    assert drift.find_drift() == []


# ---------------------------------------------------------------- a failed draw is retried


def test_a_draw_that_fails_in_the_receiver_is_retried_by_the_task(coordinator_a, run_tasks_eagerly):
    journey = ft.journey()
    patch, calls = _fails_once()
    with patch, TestCase.captureOnCommitCallbacks(execute=True):
        ft.set_day0(journey, D0, coordinator_a, reason="date agreed")  # the request succeeds
    assert len(calls) == 2  # the receiver's draw failed; the task's drew the plan
    version = _latest(journey)
    assert (version.created_by, version.reason) == (coordinator_a, "date agreed")
    assert ScheduledLab.objects.filter(journey=journey).exists()


def test_the_task_retries_a_transient_error_and_succeeds():
    journey = ft.journey()
    Journey.objects.filter(pk=journey.pk).update(infusion_date=D0)
    patch, calls = _fails_once()
    with patch:
        result = redraw_plan.apply((journey.pk,), {"reason": "again"})
    assert result.successful() and len(calls) == 2
    assert _latest(journey).reason == "again"


def test_the_task_does_not_retry_a_permanent_error():
    journey = ft.journey()
    patch, calls = _fails_once(KeyError("title"))
    with patch:
        result = redraw_plan.apply((journey.pk,))
    assert result.failed() and len(calls) == 1


def test_the_task_exits_quietly_when_the_journey_is_gone():
    assert redraw_plan.apply((987654,)).successful()


def test_a_lost_broker_does_not_fail_the_request_and_the_check_repairs_it(coordinator_a):
    journey = ft.journey()
    patch, _calls = _fails_once()
    broker_down = mock.patch.object(redraw_plan, "delay", side_effect=OSError("no broker"))
    with patch, broker_down, TestCase.captureOnCommitCallbacks(execute=True):
        ft.set_day0(journey, D0, coordinator_a, reason="date agreed")
    assert [(d.journey_id, d.kind) for d in drift.find_drift()] == [(journey.pk, drift.MISSING)]
    assert vars(drift.repair_drift()) == {"found": 1, "repaired": 1, "failed": 0, "left": 0}
    assert (_latest(journey).created_by, _latest(journey).reason) == (None, REPAIRED)


# ---------------------------------------------------------------- the drift check


def _healthy(n):
    return [ft.planned_journey(D0) for _ in range(n)]


def _drifted():
    """One journey per kind of drift, each made as a psql fix would (no signal fires)."""
    missing = ft.journey()
    Journey.objects.filter(pk=missing.pk).update(infusion_date=D0)
    other_therapy = ft.planned_journey(D0)
    new_therapy = ft.therapy(ft.BEQVEZ_SCHEDULE)
    Journey.objects.filter(pk=other_therapy.pk).update(therapy=new_therapy)
    moved = ft.planned_journey(D0)
    Journey.objects.filter(pk=moved.pk).update(infusion_date=_day(10))
    return {missing.pk: drift.MISSING, other_therapy.pk: drift.THERAPY, moved.pk: drift.DAY0}


def test_the_check_finds_nothing_on_a_healthy_set():
    _healthy(3)
    closed = ft.journey()  # an ended journey is not judged
    Journey.objects.filter(pk=closed.pk).update(infusion_date=D0, stage=Stage.CLOSED)
    no_day0 = ft.planned_journey(D0)  # day 0 cleared: nothing to draw from
    Journey.objects.filter(pk=no_day0.pk).update(infusion_date=None)
    assert drift.find_drift() == []
    counts = repair_plans.apply().get()
    assert counts == {"found": 0, "repaired": 0, "failed": 0, "left": 0}


def test_the_check_finds_each_kind_of_drift_and_repairs_it():
    healthy = _healthy(2)
    wanted = _drifted()
    found = drift.find_drift()
    assert {d.journey_id: d.kind for d in found} == wanted
    assert all(d.public_id for d in found)

    assert repair_plans.apply().get() == {"found": 3, "repaired": 3, "failed": 0, "left": 0}

    assert drift.find_drift() == []
    by_kind = {kind: Journey.objects.get(pk=pk) for pk, kind in wanted.items()}
    for journey in by_kind.values():
        version = _latest(journey)
        assert (version.created_by, version.reason) == (None, REPAIRED)
        assert version.infusion_date == journey.infusion_date
    assert _plan(by_kind[drift.THERAPY]).therapy_id == by_kind[drift.THERAPY].therapy_id
    assert _open_codes(by_kind[drift.THERAPY]) == {"baseline-labs", "liver-fix", LTFU_CODE}
    moved = ScheduledLab.objects.get(
        journey=by_kind[drift.DAY0], item__code="platelets", sequence=1
    )
    assert moved.due_on == _day(17)
    assert all(_latest(j).number == 1 for j in healthy)  # untouched
    assert vars(drift.repair_drift()) == {"found": 0, "repaired": 0, "failed": 0, "left": 0}


def test_a_version_with_another_day0_but_matching_rows_is_repaired_once():
    """Rows already match day 0 (nothing to move): the repair still records a version, so the
    check does not find the journey again every hour."""
    journey = ft.planned_journey(D0)
    PlanVersion.objects.filter(plan__journey=journey).update(infusion_date=_day(3))
    assert [d.kind for d in drift.find_drift()] == [drift.DAY0]
    version = drift.repair(journey.pk)
    assert (version.number, version.infusion_date, version.reason) == (2, D0, REPAIRED)
    assert drift.find_drift() == []
    assert drift.repair(journey.pk) is None  # nothing left to repair


def test_one_failing_repair_does_not_stop_the_others():
    wanted = _drifted()
    first = min(wanted)
    real = plans.generate_plan

    def draw(journey, **kwargs):
        if journey.pk == first:
            raise ValueError("broken label")
        return real(journey, **kwargs)

    with mock.patch.object(drift, "generate_plan", side_effect=draw):
        counts = drift.repair_drift()
    assert vars(counts) == {"found": 3, "repaired": 2, "failed": 1, "left": 0}
    assert [d.journey_id for d in drift.find_drift()] == [first]


def test_a_limit_leaves_the_rest_for_the_next_run():
    _drifted()
    assert vars(drift.repair_drift(limit=2)) == {"found": 3, "repaired": 2, "failed": 0, "left": 1}
    assert len(drift.find_drift()) == 1


@pytest.mark.parametrize("n", [2, 20])
def test_the_check_costs_one_query_for_2_or_20_journeys(n):
    _healthy(n)
    for _ in range(n // 2):
        _drifted()
    with CaptureQueriesContext(connection) as queries:
        found = drift.find_drift()
    assert len(found) == 3 * (n // 2)
    assert len(queries) == 1


def test_the_command_lists_on_dry_run_then_repairs():
    wanted = _drifted()
    out = io.StringIO()
    call_command("repair_plans", "--dry-run", "--no-progress", stdout=out)
    text = out.getvalue()
    for pk, kind in wanted.items():
        assert f"journey {pk} (" in text and f"): {kind}" in text
    assert "3 journeys whose plan does not match them." in text
    assert len(drift.find_drift()) == 3  # the dry run changed nothing
    out = io.StringIO()
    call_command("repair_plans", "--no-progress", stdout=out)
    assert "3 found, 3 repaired, 0 failed, 0 left for the next run." in out.getvalue()
    assert drift.find_drift() == []


def test_beat_runs_the_check_hourly_with_expires(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["plans-repair"]
    assert entry["task"] == repair_plans.name == "tracker.tasks.repair_plans"
    assert entry["schedule"] == 3600.0
    assert 0 < entry["options"]["expires"] < 3600


# ---------------------------------------------------------------- label reviews of the old therapy


def _pending_review(journey):
    therapy = journey.therapy
    schedule = copy.deepcopy(therapy.monitoring_schedule)
    schedule[-1]["segments"] = [{"days": [45], "window_days": 2}]
    therapy.monitoring_schedule, therapy.label_as_of = schedule, dt.date(2026, 3, 1)
    with TestCase.captureOnCommitCallbacks(execute=True):
        therapy.save()
    return PlanReview.objects.get(journey=journey, status=ReviewStatus.PENDING)


def test_a_therapy_change_closes_the_old_therapys_pending_review(coordinator_a):
    journey = ft.planned_journey(D0)
    review = _pending_review(journey)
    _choose(journey, ft.therapy(ft.BEQVEZ_SCHEDULE), coordinator_a)
    review.refresh_from_db()
    assert review.status == ReviewStatus.KEPT and review.decided_at
    assert review.reason == "The child's therapy changed: this label no longer applies."
    with pytest.raises(ValidationError):
        label_review.apply_review(review, by=coordinator_a)
    assert _plan(journey).schedule == ft.BEQVEZ_SCHEDULE


def test_the_old_therapys_review_cannot_be_applied_before_the_plan_is_redrawn(coordinator_a):
    """The redraw failed (or the therapy was fixed in psql): the plan is still on the old
    therapy, and applying the old label must not put it on the new therapy's plan."""
    journey = ft.planned_journey(D0)
    review = _pending_review(journey)
    new_therapy = ft.therapy(ft.BEQVEZ_SCHEDULE)
    Journey.objects.filter(pk=journey.pk).update(therapy=new_therapy)
    with pytest.raises(ValidationError):
        label_review.apply_review(review, by=coordinator_a)
    review.refresh_from_db()
    assert review.status == ReviewStatus.PENDING
    assert _plan(journey).therapy_id == journey.therapy_id  # the old one, untouched
    drift.repair_drift()
    review.refresh_from_db()
    assert review.status == ReviewStatus.KEPT
    assert (_plan(journey).therapy, _plan(journey).schedule) == (new_therapy, ft.BEQVEZ_SCHEDULE)
