"""Handing a child over to another center (the family moved): the new center gets the child
with all history, the old one keeps read-only history, the guardians are told, the audit
trail records it; a third center sees nothing."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditRecord
from journey import followup, services
from journey.models import CenterTransfer, Stage, Therapy
from notifications.models import Kind, Reminder
from tests import factories as f
from tests.conftest import otp_login


@pytest.fixture
def moved(center_a, coordinator_a, center_b, django_capture_on_commit_callbacks):
    patient = f.PatientFactory(center=center_a, first_name="Alma", last_name="Zubiri")
    mother = f.GuardianFactory(center=center_a, email="mother@example.org", language="es")
    f.GuardianshipFactory(guardian=mother, patient=patient, is_primary=True)
    therapy = Therapy.objects.get(slug="zolgensma")
    journey = services.open_journey(patient, by=coordinator_a, therapy=therapy)
    Reminder.objects.create(
        key="pending", kind=Kind.STEP_DUE, guardian=mother, center=center_a, patient=patient,
        journey=journey, due_on=timezone.localdate(), send_at=timezone.now(), time_zone="UTC",
    )  # fmt: skip
    services.move_stage(
        journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="labs", override_reason="t"
    )
    with django_capture_on_commit_callbacks(execute=True):
        transfer = followup.transfer_patient(
            patient, center_b, by=coordinator_a, reason="The family moved to London"
        )
    return patient, journey, mother, transfer


def staff(client, user):
    otp_login(client, user)
    return client


def test_the_child_and_every_journey_move_to_the_new_center(moved, center_b, coordinator_a):
    patient, journey, _mother, transfer = moved
    patient.refresh_from_db()
    journey.refresh_from_db()
    assert patient.center == center_b and journey.center == center_b
    assert journey.stage_changes.count() == 2  # history travels with the journey
    assert (transfer.from_center.name, transfer.moved_by) == ("Center A", coordinator_a)


def test_the_new_centers_coordinator_works_on_the_child(client, moved, coordinator_b):
    patient, journey, _mother, _transfer = moved
    staff(client, coordinator_b)
    assert client.get(reverse("admin:journey_patient_change", args=[patient.pk])).status_code == 200
    assert client.get(reverse("admin:journey_journey_change", args=[journey.pk])).status_code == 200


def test_the_old_center_reads_the_history_but_not_the_child(client, moved, coordinator_a):
    patient, journey, _mother, transfer = moved
    staff(client, coordinator_a)
    assert client.get(reverse("admin:journey_patient_change", args=[patient.pk])).status_code == 404
    assert client.get(reverse("admin:journey_journey_change", args=[journey.pk])).status_code == 404
    page = client.get(reverse("admin:journey_centertransfer_change", args=[transfer.pk]))
    assert page.status_code == 200
    assert "Pre-treatment evaluation" in page.text and "The family moved to London" in page.text
    assert 'type="submit"' not in page.text.split('id="centertransfer_form"')[-1] or (
        not page.context["has_change_permission"]
    )


def test_a_third_center_sees_no_hand_over(client, moved):
    transfer = moved[3]
    staff(client, f.CoordinatorFactory(center=f.CenterFactory(name="Center C")))
    page = client.get(reverse("admin:journey_centertransfer_change", args=[transfer.pk]))
    assert page.status_code == 404
    listing = client.get(reverse("admin:journey_centertransfer_changelist"))
    assert listing.context["cl"].result_count == 0


def test_the_guardians_are_told_in_their_language_without_health_details(moved):
    _patient, _journey, mother, _transfer = moved
    assert Reminder.objects.get(key="pending").center.name == "Center B"  # unsent: moved too
    (row,) = Reminder.objects.filter(kind=Kind.CENTER_CHANGED)
    assert row.guardian == mother and row.center.name == "Center B"
    from notifications import emails

    message = emails.build(row)
    assert "Center B" in message.body and "Zolgensma" not in message.body
    assert "Alma" in message.subject and "Zubiri" not in message.body
    assert "ha pasado" in message.body  # Spanish


def test_the_audit_trail_records_the_hand_over(moved, coordinator_a):
    transfer = moved[3]
    ct = ContentType.objects.get_for_model(CenterTransfer)
    record = AuditRecord.objects.get(content_type=ct, object_id=transfer.pk)
    assert record.actor == coordinator_a
    assert record.patient_id == transfer.patient_id
    assert record.reason == "The family moved to London"


def test_the_hand_over_page_needs_a_reason_and_another_center(
    client, center_a, center_b, coordinator_a
):
    patient = f.PatientFactory(center=center_a)
    staff(client, coordinator_a)
    add = reverse("admin:journey_centertransfer_add")
    same = client.post(add, {"patient": patient.pk, "to_center": center_a.pk, "reason": "x"})
    assert "already at this center" in same.text
    response = client.post(
        add, {"patient": patient.pk, "to_center": center_b.pk, "reason": "moved"}
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.center == center_b


def test_a_coordinator_cannot_hand_over_another_centers_child(client, center_a, center_b):
    theirs = f.PatientFactory(center=center_b)
    staff(client, f.CoordinatorFactory(center=center_a))
    client.post(
        reverse("admin:journey_centertransfer_add"),
        {"patient": theirs.pk, "to_center": center_a.pk, "reason": "mine now"},
    )
    theirs.refresh_from_db()
    assert theirs.center == center_b
    with pytest.raises(ValidationError):
        followup.transfer_patient(theirs, center_b, by=None, reason="same")
