"""The coordinator admin: center scope (404 to outsiders), forms that explain bad input,
stage moves with a reason kept in history, and a patient list of constant query count."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from journey import services
from journey.models import (
    Finding,
    FindingType,
    Guardian,
    Guardianship,
    Journey,
    Patient,
    Stage,
    StageChange,
    Therapy,
)
from tests import factories as f
from tests.conftest import otp_login

TODAY = timezone.localdate


@pytest.fixture
def zolgensma(db):
    return Therapy.objects.get(slug="zolgensma")


@pytest.fixture
def journey_a(center_a, coordinator_a, zolgensma):
    patient = f.PatientFactory(center=center_a, first_name="Alma", last_name="Avila")
    return services.open_journey(patient, by=coordinator_a, therapy=zolgensma)


@pytest.fixture
def journey_b(center_b, coordinator_b, zolgensma):
    patient = f.PatientFactory(center=center_b, first_name="Bruno", last_name="Berg")
    return services.open_journey(patient, by=coordinator_b, therapy=zolgensma)


@pytest.fixture
def client_a(client, coordinator_a):
    otp_login(client, coordinator_a)
    return client


def url(name, *args):
    return reverse(f"admin:journey_{name}", args=args)


def management(prefix, total, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _values(form):
    data = {}
    for field in form:
        value = field.value()
        if isinstance(field.field, forms.BooleanField):
            if value:
                data[field.html_name] = "on"
        elif isinstance(value, list | tuple):
            data[field.html_name] = [str(v) for v in value]
        else:
            data[field.html_name] = "" if value is None else str(value)
    return data


def change_form_data(client, page):
    """What the browser would send back unchanged from an admin change page."""
    context = client.get(page).context
    data = _values(context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        data.update(_values(inline.formset.management_form))
        for form in inline.formset.initial_forms:
            data.update(_values(form))
    return data


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


# Enrollment and bad input


def test_enroll_a_family_in_one_post(client_a, coordinator_a, center_a):
    response = client_a.post(
        url("guardian_add"),
        {
            "center": center_a.pk,
            "full_name": "Rosa Ruiz",
            "email": "Rosa@Example.org",
            "time_zone": "America/New_York",
            "language": "es",
            **management("guardianships", 0),
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    guardian = Guardian.objects.get(email="rosa@example.org")
    condition = f.ConditionFactory(code="sma")

    response = client_a.post(
        url("patient_add"),
        {
            "center": center_a.pk,
            "first_name": "Lucia",
            "last_name": "Ruiz",
            "date_of_birth": (TODAY() - dt.timedelta(days=300)).isoformat(),
            "sex": "female",
            "medical_record_number": "MRN-7",
            **management("guardianships", 1),
            "guardianships-0-guardian": guardian.pk,
            "guardianships-0-relationship": Guardianship.Relationship.MOTHER,
            "guardianships-0-is_primary": "on",
            **management("diagnoses", 1),
            "diagnoses-0-condition": condition.pk,
            "diagnoses-0-gene": "SMN1",
            "diagnoses-0-variant": "exon 7-8 deletion",
            "diagnoses-0-variant_kind": "deletion",
            "diagnoses-0-zygosity": "homozygous",
            "diagnoses-0-smn2_copies": "2",
            "diagnoses-0-confirmed_by": "targeted",
            "diagnoses-0-confirmed_on": (TODAY() - dt.timedelta(days=20)).isoformat(),
            "diagnoses-0-lab": "Genomics Lab",
            **management("findings", 0),
        },
    )
    assert response.status_code == 302
    patient = Patient.objects.get(medical_record_number="MRN-7")
    assert patient.center == center_a
    assert list(patient.guardians.all()) == [guardian]
    diagnosis = patient.diagnoses.get()
    assert (diagnosis.gene, diagnosis.recorded_by) == ("SMN1", coordinator_a)


def test_future_birth_date_is_a_field_error(client_a, center_a):
    data = {
        "center": center_a.pk,
        "first_name": "Tim",
        "last_name": "Future",
        "date_of_birth": (TODAY() + dt.timedelta(days=3)).isoformat(),
        "sex": "male",
        **management("guardianships", 0),
        **management("diagnoses", 0),
        **management("findings", 0),
    }
    response = client_a.post(url("patient_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "cannot be in the future" in errors["date_of_birth"][0]
    assert not Patient.objects.filter(last_name="Future").exists()


def test_two_primary_guardians_is_a_form_error_not_a_500(client_a, center_a):
    first, second = f.GuardianFactory.create_batch(2, center=center_a)
    data = {
        "center": center_a.pk,
        "first_name": "Pia",
        "last_name": "Primary",
        "date_of_birth": "2024-05-05",
        "sex": "female",
        **management("guardianships", 2),
        "guardianships-0-guardian": first.pk,
        "guardianships-0-relationship": "mother",
        "guardianships-0-is_primary": "on",
        "guardianships-1-guardian": second.pk,
        "guardianships-1-relationship": "father",
        "guardianships-1-is_primary": "on",
        **management("diagnoses", 0),
        **management("findings", 0),
    }
    response = client_a.post(url("patient_add"), data)
    assert response.status_code == 200
    assert "only one guardian" in response.text
    assert not Patient.objects.filter(last_name="Primary").exists()


def test_bad_titer_on_the_finding_inline_is_a_field_error_and_keeps_saved_data(
    client_a, journey_a, coordinator_a
):
    patient = journey_a.patient
    titer = FindingType.objects.get(code="anti_aav9_titer")
    saved = Finding.objects.create(
        patient=patient, finding_type=titer, value="1:25", observed_on=TODAY()
    )
    page = url("patient_change", patient.pk)
    data = change_form_data(client_a, page)
    data.update(
        {
            "last_name": "Renamed",
            "findings-TOTAL_FORMS": "2",
            "findings-1-finding_type": titer.pk,
            "findings-1-value": "1:abc",
            "findings-1-observed_on": TODAY().isoformat(),
        }
    )
    response = client_a.post(page, data)
    assert response.status_code == 200
    findings = next(
        i.formset
        for i in response.context["inline_admin_formsets"]
        if i.formset.prefix == "findings"
    )
    assert "Write a titer as 1:N" in findings.forms[1].errors["value"][0]
    patient.refresh_from_db()
    assert patient.last_name == "Avila"
    assert list(patient.findings.values_list("pk", "value")) == [(saved.pk, "1:25")]


def test_good_titer_is_saved_normalized_with_who_recorded_it(client_a, journey_a, coordinator_a):
    page = url("patient_change", journey_a.patient.pk)
    data = change_form_data(client_a, page)
    data.update(
        {
            "findings-TOTAL_FORMS": "1",
            "findings-0-finding_type": FindingType.objects.get(code="anti_aav9_titer").pk,
            "findings-0-value": " 1 : 50 ",
            "findings-0-observed_on": TODAY().isoformat(),
        }
    )
    assert client_a.post(page, data).status_code == 302
    finding = journey_a.patient.findings.get()
    assert (finding.value, finding.recorded_by) == ("1:50", coordinator_a)


def test_infusion_date_before_birth_is_a_field_error(client_a, journey_a):
    born = journey_a.patient.date_of_birth
    data = {"infusion_date": (born - dt.timedelta(days=1)).isoformat(), "reason": "typo"}
    response = client_a.post(url("journey_infusion_date", journey_a.pk), data)
    assert response.status_code == 200
    assert "before the child's birth" in response.context["form"].errors["infusion_date"][0]
    assert response.context["form"]["reason"].value() == "typo"
    journey_a.refresh_from_db()
    assert journey_a.infusion_date is None


def test_set_infusion_date_is_recorded(client_a, journey_a, coordinator_a):
    day = TODAY() + dt.timedelta(days=30)
    data = {"infusion_date": day.isoformat(), "reason": "Slot booked"}
    response = client_a.post(url("journey_infusion_date", journey_a.pk), data)
    assert response.status_code == 302
    change = journey_a.infusion_date_changes.get()
    assert (change.new_date, change.changed_by, change.reason) == (
        day,
        coordinator_a,
        "Slot booked",
    )


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
    pytest.importorskip("journey.eligibility")
    response = client_a.post(url("journey_eligibility", journey_a.pk))
    check = journey_a.eligibility_checks.get()
    assert response.status_code == 302
    assert check.run_by == coordinator_a
    page = client_a.get(response.url)
    assert page.status_code == 200
    for result in check.results:
        assert result["label"] in page.text


def test_another_centers_eligibility_result_is_404(client_a, journey_b, coordinator_b):
    pytest.importorskip("journey.eligibility")
    check = services.run_eligibility(journey_b, by=coordinator_b)
    page = reverse("admin:journey_journey_eligibility_result", args=[journey_b.pk, check.public_id])
    assert client_a.get(page).status_code == 404


# The patient list


def test_patient_list_shows_stage_therapy_and_age_limit(client_a, journey_a):
    pytest.importorskip("journey.eligibility")
    text = client_a.get(url("patient_changelist")).text
    assert "Diagnosis confirmed" in text
    assert "Zolgensma" in text
    assert "age limit in" in text


def test_patient_list_filters_by_stage(client_a, journey_a, center_a):
    f.PatientFactory(center=center_a, last_name="Nojourney")
    text = client_a.get(url("patient_changelist") + "?stage=none").text
    assert "Nojourney" in text and "Avila" not in text


def _list_queries(client, center, coordinator, therapy, count):
    for _ in range(count):
        services.open_journey(f.PatientFactory(center=center), by=coordinator, therapy=therapy)
    client.get(url("patient_changelist"))  # the login's user and device are cached after one
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("patient_changelist")).status_code == 200
    return len(queries)


def test_patient_list_query_count_does_not_grow(client_a, center_a, coordinator_a, zolgensma):
    few = _list_queries(client_a, center_a, coordinator_a, zolgensma, 2)
    many = _list_queries(client_a, center_a, coordinator_a, zolgensma, 28)
    assert few == many


# Catalogue and accounts


def test_coordinator_reads_the_catalogue_but_cannot_edit_it(client_a, zolgensma):
    assert client_a.get(url("therapy_change", zolgensma.pk)).status_code == 200
    response = client_a.post(url("therapy_change", zolgensma.pk), {"name": "Changed"})
    assert response.status_code == 403


def test_unverified_therapy_shows_a_warning(client, superuser):
    otp_login(client, superuser)
    therapy = Therapy.objects.filter(verified=False).first()
    assert "Not verified" in client.get(url("therapy_change", therapy.pk)).text


def test_users_are_managed_by_superusers_only(client, client_a, superuser):
    assert client_a.get(url("user_changelist")).status_code == 403
    otp_login(client, superuser)
    assert client.get(url("user_add")).status_code == 200
    assert client.get(url("user_changelist")).status_code == 200


@pytest.mark.parametrize("utc_hour", [2, 14])
def test_patient_page_shows_the_age_limit_deadline(
    client, center_a, coordinator_a, zolgensma, utc_hour
):
    """Days are counted in the center's calendar: at 02:00 UTC it is still yesterday in New York."""
    pytest.importorskip("journey.eligibility")
    instant = dt.datetime(2025, 6, 15, utc_hour, tzinfo=dt.UTC)  # born 2024-05: no 29 February
    with time_machine.travel(instant, tick=False):
        otp_login(client, coordinator_a)
        today = timezone.localdate(timezone=zoneinfo.ZoneInfo(center_a.time_zone))
        born = today - dt.timedelta(days=400)
        patient = f.PatientFactory(center=center_a, date_of_birth=born)
        services.open_journey(patient, by=coordinator_a, therapy=zolgensma)
        last_day = born.replace(year=born.year + 2) - dt.timedelta(days=1)
        expected = f"age limit in {(last_day - today).days} days (last eligible day {last_day})"
        assert expected in client.get(url("patient_change", patient.pk)).text


def test_superuser_creates_a_login_by_email(client, superuser):
    otp_login(client, superuser)
    data = {
        "email": "New.Coordinator@Example.org",
        "full_name": "New Coordinator",
        "usable_password": "true",
        "password1": "a long enough passphrase 42",
        "password2": "a long enough passphrase 42",
    }
    response = client.post(url("user_add"), data)
    assert response.status_code == 302
    user = f.m.User.objects.get(email="new.coordinator@example.org")
    assert user.check_password("a long enough passphrase 42")
    assert client.get(url("user_change", user.pk)).status_code == 200


def test_superuser_patient_list_filters_by_center(client, superuser, journey_a, journey_b):
    otp_login(client, superuser)
    text = client.get(url("patient_changelist") + f"?center={journey_b.center_id}").text
    assert "Berg" in text and "Avila" not in text


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


def test_out_of_range_key_in_a_choice_field_is_a_form_error(client, superuser):
    """SQLite overflowed on a 2**70 group id (found by the fuzz test); now a field message."""
    otp_login(client, superuser)
    url = reverse("admin:journey_user_change", args=[superuser.pk])
    response = client.post(url, {"email": superuser.email, "groups": str(2**70)})
    assert response.status_code == 200
    assert "groups" in response.context["adminform"].form.errors
