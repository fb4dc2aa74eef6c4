"""Fixtures and helpers of the coordinator admin's tests (tests/test_admin_*.py): two centers'
journeys, a logged-in coordinator of center A, and what a browser sends back from a change page."""

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

from journey import services
from journey.models import Therapy
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


def values(form):
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
    data = values(context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        data.update(values(inline.formset.management_form))
        for form in inline.formset.initial_forms:
            data.update(values(form))
    return data
