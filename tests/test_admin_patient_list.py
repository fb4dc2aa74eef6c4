"""The admin patient list: 50 rows a page, every child reachable, the usual action checkbox.

GIVEN a center with more children than one page holds
WHEN  its coordinator pages through the patient list
THEN  each page has at most 50 rows, every child appears once, the checkbox of each row is
      Django's own markup (bulk actions still work) and another center's children never show.
"""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import journey.eligibility  # noqa: F401  (the age-limit column calls it)
from journey import services
from journey.models import Patient
from tests import admin_journey
from tests import factories as f
from tests.admin_journey import url
from tests.conftest import otp_login

# The shared fixtures (tests/admin_journey.py), bound here for pytest to find.
client_a, journey_a, journey_b, zolgensma = (
    admin_journey.client_a,
    admin_journey.journey_a,
    admin_journey.journey_b,
    admin_journey.zolgensma,
)

LIST = reverse("admin:journey_patient_changelist")
pytestmark = pytest.mark.django_db


def _ids(text):
    return [int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', text)]


def test_every_child_is_on_exactly_one_page(client, coordinator_a, center_a, center_b):
    mine = {f.PatientFactory(center=center_a).pk for _ in range(60)}
    f.PatientFactory(center=center_b, last_name="Elsewhere")
    otp_login(client, coordinator_a)
    first, second = client.get(LIST).text, client.get(LIST + "?p=2").text
    assert len(_ids(first)) == 50 and len(_ids(second)) == 10
    assert set(_ids(first)) | set(_ids(second)) == mine
    assert "Elsewhere" not in first + second


def test_the_row_checkbox_is_djangos_markup(client, coordinator_a, center_a):
    patient = f.PatientFactory(center=center_a, first_name="Ana", last_name="O'Neil <b>")
    otp_login(client, coordinator_a)
    text = client.get(LIST).text
    model_admin = admin.site._registry[Patient]
    django_markup = admin.ModelAdmin.action_checkbox(model_admin, patient)
    assert model_admin.action_checkbox(patient) == django_markup
    assert django_markup in text


def test_patient_list_shows_stage_therapy_and_age_limit(client_a, journey_a):
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


def test_superuser_patient_list_filters_by_center(client, superuser, journey_a, journey_b):
    otp_login(client, superuser)
    text = client.get(url("patient_changelist") + f"?center={journey_b.center_id}").text
    assert "Berg" in text and "Avila" not in text
