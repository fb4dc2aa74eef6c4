"""Stage moves, checklist and infusion date: the rules of journey.services."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from journey import services, signals
from journey.models import (
    ChecklistStep,
    Journey,
    MarketStatus,
    Stage,
    StageChange,
    StepTemplate,
)
from tests import factories as f


@pytest.fixture
def therapy(db):
    return f.TherapyFactory(slug="testa", name="Testa")


@pytest.fixture
def templates(therapy):
    """Isolate from the loaded catalogue: a small set of step templates of our own."""
    StepTemplate.objects.all().delete()
    return [
        f.StepTemplateFactory(code="report", stage=Stage.DIAGNOSIS_CONFIRMED, title="Report"),
        f.StepTemplateFactory(
            code="counsel", stage=Stage.DIAGNOSIS_CONFIRMED, title="Counsel", required=False
        ),
        f.StepTemplateFactory(code="titer", stage=Stage.PRE_TREATMENT, title="Titer"),
        f.StepTemplateFactory(
            code=services.INFUSION_DATE_STEP, stage=Stage.INFUSION_SCHEDULED, title="Date"
        ),
    ]


@pytest.fixture
def journey(coordinator_a, center_a, therapy, templates):
    patient = f.PatientFactory(center=center_a)
    return services.open_journey(patient, by=coordinator_a, therapy=therapy)


def done(journey, *codes, by=None):
    journey.steps.filter(code__in=codes).update(done_on=dt.date.today(), done_by=by)


def test_open_journey_records_the_first_stage_and_lays_out_the_checklist(journey, coordinator_a):
    assert journey.stage == Stage.DIAGNOSIS_CONFIRMED
    change = journey.stage_changes.get()
    assert (change.from_stage, change.to_stage, change.moved_by) == (
        "",
        Stage.DIAGNOSIS_CONFIRMED,
        coordinator_a,
    )
    assert set(journey.steps.values_list("code", flat=True)) == {
        "report",
        "counsel",
        "titer",
        services.INFUSION_DATE_STEP,
    }
    # Only the current stage's steps are dated.
    assert journey.steps.get(code="report").due_on is not None
    assert journey.steps.get(code="titer").due_on is None


def test_checklist_is_idempotent(journey):
    before = list(journey.steps.values_list("pk", flat=True))
    services.ensure_checklist(journey)
    assert list(journey.steps.values_list("pk", flat=True)) == before


def test_steps_follow_the_therapy_filters(journey, coordinator_a):
    ex_vivo = f.TherapyFactory(slug="cells", name="Cells", delivery="ex_vivo")
    f.StepTemplateFactory(code="hiv", stage=Stage.PRE_TREATMENT, delivery="ex_vivo")
    services.choose_therapy(journey, ex_vivo, by=coordinator_a)
    assert journey.steps.filter(code="hiv").exists()
    services.choose_therapy(journey, f.TherapyFactory(slug="aav2", name="Aav2"), by=coordinator_a)
    assert not journey.steps.filter(code="hiv").exists()


def test_forward_move_needs_required_steps_done(journey, coordinator_a):
    with pytest.raises(ValidationError) as err:
        services.move_stage(journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="Ready")
    assert "Report" in str(err.value.message_dict["override_reason"])
    assert journey.stage_changes.count() == 1

    done(journey, "report")  # the optional "counsel" step does not block
    change = services.move_stage(journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="Ready")
    journey.refresh_from_db()
    assert journey.stage == Stage.PRE_TREATMENT
    assert (change.from_stage, change.to_stage, change.reason) == (
        Stage.DIAGNOSIS_CONFIRMED,
        Stage.PRE_TREATMENT,
        "Ready",
    )
    assert journey.steps.get(code="titer").due_on is not None


def test_skipping_forward_checks_every_skipped_stage(journey, coordinator_a):
    done(journey, "report")
    with pytest.raises(ValidationError) as err:
        services.move_stage(journey, Stage.INSURANCE, by=coordinator_a, reason="Fast track")
    assert "Titer" in str(err.value.message_dict["override_reason"])


def test_override_reason_allows_the_skip_and_is_recorded(journey, coordinator_a):
    change = services.move_stage(
        journey,
        Stage.INSURANCE,
        by=coordinator_a,
        reason="Fast track",
        override_reason="Titer done at referring hospital",
    )
    assert change.override_reason == "Titer done at referring hospital"
    assert set(change.details["skipped_steps"]) == {"report", "titer"}


def test_reason_is_required(journey, coordinator_a):
    done(journey, "report")
    with pytest.raises(ValidationError) as err:
        services.move_stage(journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="  ")
    assert "reason" in err.value.message_dict


def test_moving_back_is_allowed_with_a_reason(journey, coordinator_a):
    services.move_stage(journey, Stage.INSURANCE, by=coordinator_a, reason="x", override_reason="y")
    services.move_stage(journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="Denied; redo labs")
    journey.refresh_from_db()
    assert journey.stage == Stage.PRE_TREATMENT
    assert journey.stage_changes.count() == 3


def test_infusion_stage_needs_an_infusion_date(journey, coordinator_a):
    with pytest.raises(ValidationError) as err:
        services.move_stage(
            journey, Stage.INFUSION, by=coordinator_a, reason="x", override_reason="y"
        )
    assert "infusion date" in str(err.value.message_dict["to_stage"]).lower()


def test_cannot_move_without_a_therapy(coordinator_a, center_a, templates):
    journey = services.open_journey(f.PatientFactory(center=center_a), by=coordinator_a)
    with pytest.raises(ValidationError) as err:
        services.move_stage(
            journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="x", override_reason="y"
        )
    assert "therapy" in str(err.value.message_dict["to_stage"]).lower()


def test_exit_closes_the_journey_and_no_further_moves(journey, coordinator_a):
    services.move_stage(journey, Stage.WITHDRAWN, by=coordinator_a, reason="Family decided")
    journey.refresh_from_db()
    assert journey.closed_at is not None and not journey.is_open
    with pytest.raises(ValidationError):
        services.move_stage(journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="Back")


def test_not_eligible_needs_a_failing_check_or_an_override(journey, coordinator_a):
    with pytest.raises(ValidationError) as err:
        services.move_stage(journey, Stage.NOT_ELIGIBLE, by=coordinator_a, reason="No")
    assert "override_reason" in err.value.message_dict
    change = services.move_stage(
        journey, Stage.NOT_ELIGIBLE, by=coordinator_a, reason="No", override_reason="MRI"
    )
    assert change.to_stage == Stage.NOT_ELIGIBLE


def test_same_stage_is_rejected(journey, coordinator_a):
    with pytest.raises(ValidationError) as err:
        services.move_stage(journey, Stage.DIAGNOSIS_CONFIRMED, by=coordinator_a, reason="x")
    assert "to_stage" in err.value.message_dict


def test_second_open_journey_is_rejected_by_the_service(journey, coordinator_a):
    with pytest.raises(ValidationError):
        services.open_journey(journey.patient, by=coordinator_a)


def test_database_rejects_a_second_open_journey(journey):
    with pytest.raises(IntegrityError), transaction.atomic():
        Journey.objects.create(
            patient=journey.patient,
            center=journey.center,
            stage=Stage.PRE_TREATMENT,
            stage_entered_at=journey.stage_entered_at,
        )


def test_a_closed_journey_allows_a_new_one(journey, coordinator_a):
    services.move_stage(journey, Stage.WITHDRAWN, by=coordinator_a, reason="Paused")
    again = services.open_journey(journey.patient, by=coordinator_a)
    assert again.pk != journey.pk


def test_withdrawn_therapy_cannot_start_a_journey(coordinator_a, center_a):
    withdrawn = f.TherapyFactory(slug="gone", name="Gone", market_status=MarketStatus.WITHDRAWN)
    with pytest.raises(ValidationError) as err:
        services.open_journey(
            f.PatientFactory(center=center_a), by=coordinator_a, therapy=withdrawn
        )
    assert "therapy" in err.value.message_dict


def test_stage_changed_is_sent_after_commit(
    journey, coordinator_a, django_capture_on_commit_callbacks
):
    heard = []
    signals.stage_changed.connect(lambda **kw: heard.append(kw["change"]), weak=False)
    try:
        done(journey, "report")
        with django_capture_on_commit_callbacks(execute=True):
            change = services.move_stage(journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="x")
    finally:
        signals.stage_changed.receivers.clear()
    assert heard == [change]


def test_set_infusion_date_records_history_and_ticks_the_step(journey, coordinator_a):
    journey.patient.date_of_birth = dt.date(2025, 6, 1)
    journey.patient.save()
    with time_machine.travel(dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC)):
        change = services.set_infusion_date(
            journey, dt.date(2026, 4, 1), by=coordinator_a, reason="Product ready"
        )
    journey.refresh_from_db()
    assert journey.infusion_date == dt.date(2026, 4, 1)
    assert (change.old_date, change.new_date, change.changed_by) == (
        None,
        dt.date(2026, 4, 1),
        coordinator_a,
    )
    step = journey.steps.get(code=services.INFUSION_DATE_STEP)
    assert step.done_on == dt.date(2026, 3, 1) and step.done_by == coordinator_a
    # Same date again: nothing to record.
    assert (
        services.set_infusion_date(journey, dt.date(2026, 4, 1), by=coordinator_a, reason="x")
        is None
    )
    assert journey.infusion_date_changes.count() == 1


def test_infusion_date_before_birth_is_rejected(journey, coordinator_a):
    before_birth = journey.patient.date_of_birth - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as err:
        services.set_infusion_date(journey, before_birth, by=coordinator_a, reason="typo")
    assert "infusion_date" in err.value.message_dict


def test_complete_step_records_who_and_when(journey, coordinator_a):
    step = journey.steps.get(code="report")
    services.complete_step(step, by=coordinator_a, note="Report scanned")
    step.refresh_from_db()
    assert step.done_by == coordinator_a and step.done_on is not None


def test_step_done_by_without_date_violates_the_constraint(journey, coordinator_a):
    step = journey.steps.get(code="report")
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistStep.objects.filter(pk=step.pk).update(done_by=coordinator_a)


def test_stage_history_is_complete(journey, coordinator_a):
    done(journey, "report")
    services.move_stage(journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="a")
    services.move_stage(journey, Stage.WITHDRAWN, by=coordinator_a, reason="b")
    path = list(StageChange.objects.filter(journey=journey).values_list("to_stage", flat=True))
    assert path == [Stage.DIAGNOSIS_CONFIRMED, Stage.PRE_TREATMENT, Stage.WITHDRAWN]
