"""The admin patient list: 50 rows a page, every child reachable, the usual action checkbox.

GIVEN a center with more children than one page holds
WHEN  its coordinator pages through the patient list
THEN  each page has at most 50 rows, every child appears once, the checkbox of each row is
      Django's own markup (bulk actions still work) and another center's children never show.
"""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from journey.models import Patient
from tests import factories as f
from tests.conftest import otp_login

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
