"""The coordinator admin's journeys: center scope (404 to outsiders), opening a journey,
stage moves with a reason kept in history, steps, eligibility and the therapy change."""

import datetime as dt

import pytest
from django.urls import reverse

import journey.eligibility  # noqa: F401  (the module these pages call)
from journey import services
from journey.models import (
    Journey,
    Patient,
    Stage,
    StageChange,
    Therapy,
)
from tests import admin_journey
from tests import factories as f
from tests.admin_journey import (
    TODAY,
    change_form_data,
    management,
    url,
)
from tests.conftest import otp_login

# The shared fixtures (tests/admin_journey.py), bound here for pytest to find.
client_a, journey_a, journey_b, zolgensma = (
    admin_journey.client_a,
    admin_journey.journey_a,
    admin_journey.journey_b,
    admin_journey.zolgensma,
)

# Center scope


def test_patient_list_shows_only_the_coordinators_center(client_a, journey_a, journey_b):
    response = client_a.get(url("patient_changelist"))
    assert response.status_code == 200
    assert "Avila" in response.text
    assert "Berg" not in response.text


def test_superuser_sees_every_center(client, superuser, journey_a, journey_b):
    otp_login(client, superuser)
    text = client.get(url("patient_changelist")).text
    assert "Avila" in text and "Berg" in text
    assert "Center B" in client.get(url("journey_changelist")).text


@pytest.mark.parametrize(
    "name",
    [
        "patient_change",
        "patient_delete",
        "patient_history",
        "journey_change",
        "journey_history",
        "journey_move_stage",
        "journey_infusion_date",
        "journey_eligibility",
        "guardian_change",
    ],
)
def test_another_centers_objects_answer_404(client_a, journey_b, name):
    guardian = f.GuardianshipFactory(patient=journey_b.patient).guardian
    target = {"patient": journey_b.patient, "journey": journey_b, "guardian": guardian}
    pk = target[name.split("_")[0]].pk
    assert client_a.get(url(name, pk)).status_code == 404


def test_posting_to_another_centers_move_stage_is_404_and_changes_nothing(client_a, journey_b):
    data = {"to_stage": Stage.WITHDRAWN, "reason": "nope"}
    assert client_a.post(url("journey_move_stage", journey_b.pk), data).status_code == 404
    journey_b.refresh_from_db()
    assert journey_b.stage == Stage.DIAGNOSIS_CONFIRMED


def test_guardian_autocomplete_returns_only_own_centers_guardians(client_a, center_a, center_b):
    f.GuardianFactory(center=center_a, full_name="Gloria Own")
    f.GuardianFactory(center=center_b, full_name="Gloria Other")
    params = "app_label=journey&model_name=guardianship&field_name=guardian&term=Gloria"
    response = client_a.get(f"{reverse('admin:autocomplete')}?{params}")
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Gloria Own"]


def test_new_patient_cannot_be_put_in_another_center(client_a, center_b):
    data = {
        "center": center_b.pk,
        "first_name": "Eve",
        "last_name": "Elsewhere",
        "date_of_birth": "2024-01-01",
        "sex": "female",
        **management("guardianships", 0),
        **management("diagnoses", 0),
        **management("findings", 0),
    }
    response = client_a.post(url("patient_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["center"]
    assert not Patient.objects.filter(last_name="Elsewhere").exists()


def test_add_patient_defaults_to_the_coordinators_only_center(client_a, center_a):
    form = client_a.get(url("patient_add")).context["adminform"].form
    assert form["center"].value() == center_a.pk


# Journeys


def test_second_open_journey_via_admin_add_is_a_form_error(client_a, journey_a, zolgensma):
    data = {"patient": journey_a.patient.pk, "therapy": zolgensma.pk}
    response = client_a.post(url("journey_add"), data)
    assert response.status_code == 200
    assert "already has an open journey" in response.context["form"].errors["patient"][0]
    assert Journey.objects.filter(patient=journey_a.patient).count() == 1


def test_open_a_journey_from_the_admin(client_a, center_a, coordinator_a, zolgensma):
    patient = f.PatientFactory(center=center_a)
    assert client_a.get(url("journey_add") + f"?patient={patient.pk}").status_code == 200
    response = client_a.post(url("journey_add"), {"patient": patient.pk, "therapy": zolgensma.pk})
    journey = patient.journeys.get()
    assert response.status_code == 302
    assert response.url == url("journey_change", journey.pk)
    assert journey.stage_changes.get().moved_by == coordinator_a
    assert journey.steps.exists()


def test_cannot_open_a_journey_for_another_centers_patient(client_a, center_b):
    patient = f.PatientFactory(center=center_b)
    response = client_a.post(url("journey_add"), {"patient": patient.pk})
    assert response.status_code == 200
    assert response.context["form"].errors["patient"]
    assert not patient.journeys.exists()


def test_journey_change_page_shows_actions_and_history(client_a, journey_a):
    response = client_a.get(url("journey_change", journey_a.pk))
    assert response.status_code == 200
    assert url("journey_move_stage", journey_a.pk) in response.text
    assert url("journey_infusion_date", journey_a.pk) in response.text
    assert "Journey opened" in response.text


def test_move_stage_records_reason_and_user(client_a, journey_a, coordinator_a):
    journey_a.steps.filter(stage=Stage.DIAGNOSIS_CONFIRMED).update(done_on=TODAY())
    data = {"to_stage": Stage.PRE_TREATMENT, "reason": "Report reviewed"}
    response = client_a.post(url("journey_move_stage", journey_a.pk), data)
    assert response.status_code == 302
    journey_a.refresh_from_db()
    assert journey_a.stage == Stage.PRE_TREATMENT
    change = journey_a.stage_changes.latest("moved_at")
    assert (change.to_stage, change.reason, change.moved_by) == (
        Stage.PRE_TREATMENT,
        "Report reviewed",
        coordinator_a,
    )


def test_move_with_required_steps_undone_shows_the_message_and_changes_nothing(client_a, journey_a):
    assert journey_a.steps.filter(stage=Stage.DIAGNOSIS_CONFIRMED, required=True).exists()
    data = {"to_stage": Stage.PRE_TREATMENT, "reason": "Hurry"}
    response = client_a.post(url("journey_move_stage", journey_a.pk), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert "required steps are not done" in form.errors["override_reason"][0]
    assert form["reason"].value() == "Hurry"
    journey_a.refresh_from_db()
    assert journey_a.stage == Stage.DIAGNOSIS_CONFIRMED
    assert StageChange.objects.filter(journey=journey_a).count() == 1


def test_move_without_reason_is_a_field_error(client_a, journey_a):
    response = client_a.post(url("journey_move_stage", journey_a.pk), {"to_stage": "withdrawn"})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]


def test_mark_a_step_done_on_the_journey_page_records_who(client_a, journey_a, coordinator_a):
    page = url("journey_change", journey_a.pk)
    data = change_form_data(client_a, page)
    step = journey_a.steps.order_by("position", "code").first()
    index = list(journey_a.steps.order_by("position", "code")).index(step)
    data[f"steps-{index}-done_on"] = TODAY().isoformat()
    response = client_a.post(page, data)
    assert response.status_code == 302
    step.refresh_from_db()
    assert (step.done_on, step.done_by) == (TODAY(), coordinator_a)


def test_step_done_in_the_future_is_a_field_error(client_a, journey_a):
    page = url("journey_change", journey_a.pk)
    data = change_form_data(client_a, page)
    data["steps-0-done_on"] = (TODAY() + dt.timedelta(days=2)).isoformat()
    response = client_a.post(page, data)
    assert response.status_code == 200
    assert not journey_a.steps.filter(done_on__isnull=False).exists()


def test_eligibility_run_explains_each_criterion(client_a, journey_a, coordinator_a):
    response = client_a.post(url("journey_eligibility", journey_a.pk))
    check = journey_a.eligibility_checks.get()
    assert response.status_code == 302
    assert check.run_by == coordinator_a
    page = client_a.get(response.url)
    assert page.status_code == 200
    for result in check.results:
        assert result["label"] in page.text


def test_another_centers_eligibility_result_is_404(client_a, journey_b, coordinator_b):
    check = services.run_eligibility(journey_b, by=coordinator_b)
    page = reverse("admin:journey_journey_eligibility_result", args=[journey_b.pk, check.public_id])
    assert client_a.get(page).status_code == 404


def test_changing_the_therapy_goes_through_choose_therapy(client_a, journey_a):
    other = Therapy.objects.get(slug="elevidys")
    page = url("journey_change", journey_a.pk)
    data = change_form_data(client_a, page)
    data["therapy"] = other.pk
    assert client_a.post(page, data).status_code == 302
    journey_a.refresh_from_db()
    assert journey_a.therapy == other
    withdrawn = Therapy.objects.get(slug="beqvez")
    data = change_form_data(client_a, page)
    data["therapy"] = withdrawn.pk
    response = client_a.post(page, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["therapy"]
