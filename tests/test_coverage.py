"""Insurance and access: what an approval covers, the move to "infusion scheduled" it guards
(refused, allowed, overridden with a reason the history and the audit trail keep), the
records on the journey page, and who may see them."""

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditRecord
from journey import coverage, services
from journey.models import (
    AccessArrangement,
    Appeal,
    AppealOutcome,
    ArrangementKind,
    AuthorizationStatus,
    InsuranceCoverage,
    PriorAuthorization,
    Stage,
    StageChange,
    TravelSupport,
)
from tests import factories as f
from tests.admin_journey import change_form_data, client_a, journey_a, journey_b, url, zolgensma

__all__ = ["client_a", "journey_a", "journey_b", "zolgensma"]  # fixtures

DECIDED = dt.date(2026, 1, 5)
UNTIL = dt.date(2026, 6, 30)


def approve(journey, decided=DECIDED, until=UNTIL, **extra):
    payer = InsuranceCoverage.objects.create(journey=journey, payer="Acme Health", member_id="M1")
    return PriorAuthorization.objects.create(
        journey=journey,
        coverage=payer,
        status=AuthorizationStatus.APPROVED,
        submitted_on=decided - dt.timedelta(days=10),
        decision_on=decided,
        approval_number="PA-77",
        approved_until=until,
        units=1,
        **extra,
    )


def at_insurance(journey, by):
    """The journey at "insurance and access" with every step done (no other reason needed)."""
    services.move_stage(journey, Stage.INSURANCE, by=by, reason="labs done", override_reason="t")
    journey.steps.update(done_on=timezone.localdate(), done_by=by)
    journey.refresh_from_db()
    return journey


# ---- what an approval covers ----


def test_an_approval_covers_the_days_from_its_decision_to_its_end(journey_a):
    approve(journey_a)
    assert coverage.authorization_covers(journey_a, DECIDED)
    assert coverage.authorization_covers(journey_a, UNTIL)
    assert not coverage.authorization_covers(journey_a, DECIDED - dt.timedelta(days=1))
    assert not coverage.authorization_covers(journey_a, UNTIL + dt.timedelta(days=1))


@pytest.mark.parametrize(
    "status", [AuthorizationStatus.SUBMITTED, AuthorizationStatus.DENIED, "withdrawn"]
)
def test_only_an_approved_authorization_covers(journey_a, status):
    PriorAuthorization.objects.create(
        journey=journey_a, status=status, decision_on=DECIDED, approved_until=UNTIL
    )
    assert not coverage.authorization_covers(journey_a, DECIDED)


def test_another_journeys_approval_covers_nothing(journey_a, journey_b):
    approve(journey_b)
    assert not coverage.authorization_covers(journey_a, DECIDED)


@pytest.mark.parametrize(
    "fields",
    [
        {"decision_on": DECIDED, "approved_until": DECIDED - dt.timedelta(days=1)},
        {"units": 0},
        {"status": AuthorizationStatus.APPROVED, "decision_on": DECIDED},
        {"submitted_on": DECIDED, "decision_on": DECIDED - dt.timedelta(days=1)},
    ],
    ids=["ends-before-decision", "zero-units", "approved-without-end", "decided-before-sent"],
)
def test_the_database_refuses_an_impossible_authorization(journey_a, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        PriorAuthorization.objects.create(journey=journey_a, **fields)


def test_the_database_refuses_an_appeal_decided_before_it_was_filed(journey_a):
    denied = PriorAuthorization.objects.create(journey=journey_a, status="denied")
    with pytest.raises(IntegrityError), transaction.atomic():
        Appeal.objects.create(
            authorization=denied, filed_on=DECIDED, decided_on=DECIDED - dt.timedelta(days=1)
        )


# ---- the move to "infusion scheduled" ----


def test_scheduling_without_an_approval_is_refused_by_the_reason_field(journey_a, coordinator_a):
    at_insurance(journey_a, coordinator_a)
    with pytest.raises(ValidationError) as refused:
        services.move_stage(journey_a, Stage.INFUSION_SCHEDULED, by=coordinator_a, reason="go")
    assert (
        "No approved prior authorization covers" in refused.value.message_dict["override_reason"][0]
    )
    journey_a.refresh_from_db()
    assert journey_a.stage == Stage.INSURANCE


def test_an_approval_covering_today_lets_the_journey_be_scheduled(journey_a, coordinator_a):
    at_insurance(journey_a, coordinator_a)
    today = timezone.localdate()
    approval = approve(journey_a, decided=today, until=today + dt.timedelta(days=90))
    change = services.move_stage(journey_a, Stage.INFUSION_SCHEDULED, by=coordinator_a, reason="go")
    assert change.details["authorization"] == str(approval.public_id)
    assert change.override_reason == ""


def test_the_infusion_date_is_the_day_the_approval_must_cover(journey_a, coordinator_a):
    """GIVEN day 0 set after the approval's end WHEN scheduling THEN refused; an approval
    ending after day 0 lets it through."""
    at_insurance(journey_a, coordinator_a)
    today = timezone.localdate()
    approve(journey_a, decided=today, until=today + dt.timedelta(days=10))
    services.set_infusion_date(
        journey_a, today + dt.timedelta(days=30), by=coordinator_a, reason="booked"
    )
    with pytest.raises(ValidationError):
        services.move_stage(journey_a, Stage.INFUSION_SCHEDULED, by=coordinator_a, reason="go")
    approve(journey_a, decided=today, until=today + dt.timedelta(days=40))
    services.move_stage(journey_a, Stage.INFUSION_SCHEDULED, by=coordinator_a, reason="go")
    assert journey_a.stage == Stage.INFUSION_SCHEDULED


def test_an_expired_approval_does_not_count(journey_a, coordinator_a):
    at_insurance(journey_a, coordinator_a)
    today = timezone.localdate()
    approve(journey_a, decided=today - dt.timedelta(days=200), until=today - dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        services.move_stage(journey_a, Stage.INFUSION_SCHEDULED, by=coordinator_a, reason="go")


def test_an_override_is_kept_in_the_stage_history_and_the_audit_trail(journey_a, coordinator_a):
    at_insurance(journey_a, coordinator_a)
    change = services.move_stage(
        journey_a,
        Stage.INFUSION_SCHEDULED,
        by=coordinator_a,
        reason="go",
        override_reason="Payer confirmed by phone; letter follows",
    )
    assert change.override_reason == "Payer confirmed by phone; letter follows"
    assert change.details["authorization_overridden"] == timezone.localdate().isoformat()
    ct = ContentType.objects.get_for_model(StageChange)
    record = AuditRecord.objects.get(content_type=ct, object_id=change.pk)
    assert record.actor == coordinator_a
    assert record.after["override_reason"] == "Payer confirmed by phone; letter follows"


def test_moves_that_do_not_reach_scheduling_need_no_approval(journey_a, coordinator_a):
    at_insurance(journey_a, coordinator_a)
    services.move_stage(journey_a, Stage.PRE_TREATMENT, by=coordinator_a, reason="redo labs")
    services.move_stage(journey_a, Stage.WITHDRAWN, by=coordinator_a, reason="family decided")
    assert journey_a.stage == Stage.WITHDRAWN


def test_the_move_page_shows_the_refusal_by_the_reason_field(client_a, journey_a, coordinator_a):
    at_insurance(journey_a, coordinator_a)
    response = client_a.post(
        url("journey_move_stage", journey_a.pk),
        {"to_stage": Stage.INFUSION_SCHEDULED, "reason": "go", "override_reason": ""},
    )
    assert response.status_code == 200
    assert "No approved prior authorization covers" in str(
        response.context["form"].errors["override_reason"]
    )


# ---- the journey page ----


def test_the_journey_page_keeps_payer_authorization_arrangement_and_travel(client_a, journey_a):
    page = url("journey_change", journey_a.pk)
    data = change_form_data(client_a, page)
    data |= {
        "coverages-TOTAL_FORMS": "1",
        "coverages-0-payer": "Acme Health",
        "coverages-0-plan": "Gold",
        "coverages-0-member_id": "M-123",
        "coverages-0-is_primary": "on",
        "authorizations-TOTAL_FORMS": "1",
        "authorizations-0-status": AuthorizationStatus.APPROVED,
        "authorizations-0-submitted_on": "2026-01-02",
        "authorizations-0-decision_on": "2026-01-05",
        "authorizations-0-approval_number": "PA-1",
        "authorizations-0-approved_until": "2026-06-30",
        "authorizations-0-units": "1",
        "access_arrangements-TOTAL_FORMS": "1",
        "access_arrangements-0-kind": ArrangementKind.OUTCOMES_BASED,
        "access_arrangements-0-counterparty": "Maker Inc.",
        "travel_support-TOTAL_FORMS": "1",
        "travel_support-0-funder": "Family foundation",
        "travel_support-0-starts_on": "2026-07-01",
        "travel_support-0-ends_on": "2026-07-09",
        "travel_support-0-lodging": "on",
    }
    response = client_a.post(page, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert InsuranceCoverage.objects.get(journey=journey_a).member_id == "M-123"
    approval = PriorAuthorization.objects.get(journey=journey_a)
    assert (approval.approved_until, approval.units) == (UNTIL, 1)
    assert AccessArrangement.objects.get(journey=journey_a).kind == ArrangementKind.OUTCOMES_BASED
    assert TravelSupport.objects.get(journey=journey_a).lodging is True


def test_the_journey_page_explains_an_approval_ending_before_its_decision(client_a, journey_a):
    page = url("journey_change", journey_a.pk)
    data = change_form_data(client_a, page)
    data |= {
        "authorizations-TOTAL_FORMS": "1",
        "authorizations-0-status": AuthorizationStatus.APPROVED,
        "authorizations-0-decision_on": "2026-01-05",
        "authorizations-0-approved_until": "2026-01-04",
    }
    response = client_a.post(page, data)
    assert response.status_code == 200
    assert "“Approved until” cannot be before the decision." in response.content.decode()
    assert not PriorAuthorization.objects.exists()


def test_the_insurance_offered_for_an_authorization_is_the_journeys_own(
    client_a, journey_a, journey_b
):
    mine = InsuranceCoverage.objects.create(journey=journey_a, payer="Mine")
    InsuranceCoverage.objects.create(journey=journey_b, payer="Theirs")
    response = client_a.get(url("journey_change", journey_a.pk))
    formset = next(
        i.formset
        for i in response.context["inline_admin_formsets"]
        if i.formset.model is PriorAuthorization
    )
    assert list(formset.form.base_fields["coverage"].queryset) == [mine]


def test_appeals_are_kept_on_the_authorizations_page(client_a, journey_a):
    denied = PriorAuthorization.objects.create(journey=journey_a, status="denied")
    page = url("priorauthorization_change", denied.pk)
    data = change_form_data(client_a, page)
    data |= {
        "appeals-TOTAL_FORMS": "1",
        "appeals-0-level": "First level",
        "appeals-0-filed_on": "2026-02-01",
        "appeals-0-decided_on": "2026-03-01",
        "appeals-0-outcome": AppealOutcome.OVERTURNED,
    }
    assert client_a.post(page, data).status_code == 302
    assert denied.appeals.get().outcome == AppealOutcome.OVERTURNED


def test_another_centers_coordinator_gets_404_on_an_authorization(client, journey_a, center_b):
    from tests.conftest import otp_login

    denied = PriorAuthorization.objects.create(journey=journey_a, status="denied")
    otp_login(client, f.CoordinatorFactory(center=center_b))
    assert client.get(url("priorauthorization_change", denied.pk)).status_code == 404
    assert client.get(url("journey_change", journey_a.pk)).status_code == 404
    listing = client.get(url("priorauthorization_changelist"))
    assert listing.status_code == 200 and not listing.context["cl"].result_count


# ---- a new infusion date while scheduled ----


def _date_page(client, journey, day, tick=False):
    data = {"infusion_date": day.isoformat(), "reason": "moved by the family"}
    if tick:
        data["uncovered_ok"] = "on"
    return client.post(url("journey_infusion_date", journey.pk), data)


def test_a_new_infusion_date_outside_the_approval_asks_first(client_a, journey_a, coordinator_a):
    """GIVEN a journey scheduled under an approval ending in 90 days WHEN the coordinator moves
    day 0 past its end THEN refused by the box to tick, nothing saved; ticked with the reason,
    the date is saved and the change keeps the reason."""
    at_insurance(journey_a, coordinator_a)
    today = timezone.localdate()
    approve(journey_a, decided=today, until=today + dt.timedelta(days=90))
    services.move_stage(journey_a, Stage.INFUSION_SCHEDULED, by=coordinator_a, reason="go")
    inside, outside = today + dt.timedelta(days=30), today + dt.timedelta(days=120)
    assert _date_page(client_a, journey_a, inside).status_code == 302
    response = _date_page(client_a, journey_a, outside)
    assert response.status_code == 200
    errors = response.context["form"].errors["uncovered_ok"]
    assert "No approved prior authorization covers" in str(errors)
    journey_a.refresh_from_db()
    assert journey_a.infusion_date == inside
    assert _date_page(client_a, journey_a, outside, tick=True).status_code == 302
    journey_a.refresh_from_db()
    assert journey_a.infusion_date == outside
    assert journey_a.infusion_date_changes.latest("changed_at").reason == "moved by the family"
