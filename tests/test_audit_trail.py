"""The audit trail: every change that matters leaves a record with who, when, before/after, why."""

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditRecord, Event
from journey import services
from journey.models import (
    EligibilityCheck,
    InfusionDateChange,
    Invitation,
    Journey,
    Patient,
    PortalAccessChange,
    Stage,
    StageChange,
    Therapy,
)
from journey.portal import invitations
from notifications.models import DeliveryAttempt, Outcome, Reminder
from tests import factories as f
from tests import factories_tracker as ft
from tests.conftest import otp_login
from tests.factories_notifications import due_reminders
from tracker import services as tracker_services
from tracker.models import LabResult, MonitoringPlan, PlanVersion


def records_for(model, **filters):
    ct = ContentType.objects.get_for_model(model)
    return AuditRecord.objects.filter(content_type=ct, **filters).order_by("pk")


@pytest.fixture
def journey_a(center_a, coordinator_a):
    patient = f.PatientFactory(center=center_a)
    therapy = Therapy.objects.get(slug="zolgensma")
    return services.open_journey(patient, by=coordinator_a, therapy=therapy, reason="referral")


def test_stage_move_records_who_before_after_and_why(journey_a, coordinator_a):
    services.move_stage(
        journey_a, Stage.PRE_TREATMENT, by=coordinator_a, reason="labs booked", override_reason="ok"
    )
    change = StageChange.objects.filter(journey=journey_a).latest("moved_at")
    created = records_for(StageChange, object_id=change.pk).get()
    assert created.event == Event.CREATED
    assert created.actor == coordinator_a
    assert created.patient_id == journey_a.patient_id
    assert created.reason == "labs booked"
    assert created.after["to_stage"] == Stage.PRE_TREATMENT
    moved = records_for(Journey, object_id=journey_a.pk, event=Event.UPDATED).last()
    assert moved.before["stage"] == Stage.DIAGNOSIS_CONFIRMED
    assert moved.after["stage"] == Stage.PRE_TREATMENT


def test_eligibility_run_is_recorded(journey_a, coordinator_a):
    check = services.run_eligibility(journey_a, by=coordinator_a)
    record = records_for(EligibilityCheck, object_id=check.pk).get()
    assert record.actor == coordinator_a
    assert record.after["verdict"] == check.verdict
    assert record.patient_id == journey_a.patient_id


def test_infusion_date_change_and_plan_version_are_recorded(db, coordinator_a):
    j = ft.planned_journey(by=coordinator_a)
    ft.set_day0(j, dt.date(2026, 1, 12), by=coordinator_a, reason="bed available later")
    change = InfusionDateChange.objects.get(journey=j)
    record = records_for(InfusionDateChange, object_id=change.pk).get()
    assert record.actor == coordinator_a and record.reason == "bed available later"
    assert record.after["new_date"] == "2026-01-12"
    journey_diff = records_for(Journey, object_id=j.pk, event=Event.UPDATED).last()
    assert journey_diff.before["infusion_date"] == "2026-01-05"
    assert journey_diff.after["infusion_date"] == "2026-01-12"
    versions = records_for(PlanVersion, patient_id=j.patient_id)
    assert versions.count() == PlanVersion.objects.filter(plan__journey=j).count() >= 1
    assert versions.last().actor == coordinator_a


def test_result_entry_and_correction_are_recorded(db, coordinator_a):
    j = ft.planned_journey(by=coordinator_a)
    collected = timezone.make_aware(dt.datetime(2026, 1, 19, 9))
    tracker_services.record_results(j, collected, [("PLT", "120", "10^9/L")], by=coordinator_a)
    result = LabResult.objects.get(journey=j)
    entered = records_for(LabResult, object_id=result.pk, event=Event.CREATED).get()
    assert entered.actor == coordinator_a and entered.after["value_entered"] == "120"
    new = tracker_services.correct_result(
        result, "210", "10^9/L", by=coordinator_a, reason="typo in the value"
    )
    correction = records_for(LabResult, object_id=new.pk).get()
    assert correction.reason == "typo in the value"
    assert correction.after["value_entered"] == "210"
    superseded = records_for(LabResult, object_id=result.pk, event=Event.UPDATED).get()
    assert superseded.before["superseded_at"] is None
    assert superseded.after["superseded_at"]


def test_invitation_and_revocation_are_recorded(center_a, coordinator_a):
    guardian = f.GuardianFactory(center=center_a)
    invitation, _raw = invitations.invite(guardian, by=coordinator_a)
    invited = records_for(Invitation, object_id=invitation.pk).get()
    assert invited.actor == coordinator_a and invited.guardian_id == guardian.pk
    assert "token_hash" not in invited.changes
    invitations.revoke_invitation(guardian, by=coordinator_a)
    actions = [r.after["action"] for r in records_for(PortalAccessChange)]
    A = PortalAccessChange.Action
    assert actions == [A.INVITED, A.INVITATION_REVOKED]
    assert {r.actor for r in records_for(PortalAccessChange)} == {coordinator_a}


def test_reminder_send_and_failure_are_recorded(db):
    due_reminders(1)
    reminder = Reminder.objects.first()
    now = timezone.now()
    for outcome in (Outcome.SENT, Outcome.FAILED):
        DeliveryAttempt.objects.create(
            reminder=reminder, attempted_at=now, to_email="a@example.org", outcome=outcome
        )
    records = records_for(DeliveryAttempt)
    assert [r.after["outcome"] for r in records] == [Outcome.SENT, Outcome.FAILED]
    assert {r.patient_id for r in records} == {reminder.patient_id}


def test_logins_and_failed_logins_are_recorded(client, coordinator_a):
    coordinator_a.set_password("a long and calm password")
    coordinator_a.save()
    login = reverse("login")
    client.post(login, {"username": "coord.a@example.org", "password": "wrong"})
    client.post(login, {"username": "coord.a@example.org", "password": "a long and calm password"})
    failed = AuditRecord.objects.get(event=Event.LOGIN_FAILED)
    assert failed.object_repr == "coord.a@example.org" and failed.actor is None
    assert "wrong" not in str(failed.changes) + str(failed.additional_data)
    ok = AuditRecord.objects.get(event=Event.LOGIN)
    assert ok.actor == coordinator_a and ok.remote_addr == "127.0.0.1"


@pytest.mark.parametrize("page", ["patient", "journey", "move_stage", "eligibility"])
def test_staff_view_of_a_patient_record_is_recorded(client, coordinator_a, journey_a, page):
    otp_login(client, coordinator_a)
    urls = {
        "patient": reverse("admin:journey_patient_change", args=[journey_a.patient_id]),
        "journey": reverse("admin:journey_journey_change", args=[journey_a.pk]),
        "move_stage": reverse("admin:journey_journey_move_stage", args=[journey_a.pk]),
        "eligibility": reverse("admin:journey_journey_eligibility", args=[journey_a.pk]),
    }
    assert client.get(urls[page]).status_code == 200
    viewed = AuditRecord.objects.get(event=Event.VIEWED)
    assert viewed.actor == coordinator_a
    assert viewed.patient_id == journey_a.patient_id
    assert viewed.path == urls[page]


def test_plan_and_result_pages_are_recorded_as_views(client, coordinator_a, center_a):
    j = ft.planned_journey(by=coordinator_a)
    Patient.objects.filter(pk=j.patient_id).update(center=center_a)
    Journey.objects.filter(pk=j.pk).update(center=center_a)
    collected = timezone.make_aware(dt.datetime(2026, 1, 19, 9))
    tracker_services.record_results(j, collected, [("PLT", "120", "10^9/L")], by=coordinator_a)
    otp_login(client, coordinator_a)
    plan = MonitoringPlan.objects.get(journey=j)
    result = LabResult.objects.get(journey=j)
    for url in (
        reverse("admin:tracker_monitoringplan_change", args=[plan.pk]),
        reverse("admin:tracker_labresult_change", args=[result.pk]),
        reverse("admin:tracker_plan_print", args=[j.pk]),
    ):
        assert client.get(url).status_code == 200
    views = AuditRecord.objects.filter(event=Event.VIEWED)
    assert views.count() == 3
    assert {v.patient_id for v in views} == {j.patient_id}


def test_another_centers_page_is_a_404_and_no_view_is_recorded(client, coordinator_b, journey_a):
    otp_login(client, coordinator_b)
    url = reverse("admin:journey_patient_change", args=[journey_a.patient_id])
    assert client.get(url).status_code == 404
    assert not AuditRecord.objects.filter(event=Event.VIEWED).exists()


def test_a_change_records_the_requests_actor(coordinator_a, journey_a):
    """auditlog's middleware sets the actor for a request; set_actor does the same here."""
    from auditlog.context import set_actor

    patient = journey_a.patient
    patient.medical_record_number = "MRN-1"
    with set_actor(coordinator_a):
        patient.save()
    record = records_for(Patient, object_id=patient.pk, event=Event.UPDATED).get()
    assert record.actor == coordinator_a
    assert record.before["medical_record_number"] == ""
    assert record.after["medical_record_number"] == "MRN-1"
