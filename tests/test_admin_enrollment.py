"""Enrolling a family in the coordinator admin: one post for child, guardians and diagnosis;
forms that explain bad input (field errors, never a 500) and keep who recorded what."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.utils import timezone

import journey.eligibility  # noqa: F401  (the module these pages call)
from journey import services
from journey.models import (
    Finding,
    FindingType,
    Guardian,
    Guardianship,
    Patient,
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
client_a, journey_a, zolgensma = (
    admin_journey.client_a,
    admin_journey.journey_a,
    admin_journey.zolgensma,
)

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
            "guardianships-0-role": "primary",
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
        "guardianships-0-role": "primary",
        "guardianships-1-guardian": second.pk,
        "guardianships-1-relationship": "father",
        "guardianships-1-role": "primary",
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


@pytest.mark.parametrize("utc_hour", [2, 14])
def test_patient_page_shows_the_age_limit_deadline(
    client, center_a, coordinator_a, zolgensma, utc_hour
):
    """Days are counted in the center's calendar: at 02:00 UTC it is still yesterday in New York."""
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
