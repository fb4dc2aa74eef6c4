"""The patient page's "Invite <child> to their own account" (issue 17): one step, center-scoped,
audited, refused by the field for a child too young or without an email."""

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import TestCase
from django.urls import reverse

from audit.models import AuditRecord
from journey.models import AgeChange, AgePolicy, Guardian, Guardianship, PortalAccessChange
from tests import factories as f
from tests.conftest import otp_login

pytestmark = pytest.mark.django_db


def child_aged(center, years):
    born = dt.date.today() - dt.timedelta(days=int(365.25 * years) + 30)
    return f.PatientFactory(center=center, first_name="Amaryllis", date_of_birth=born)


def url(patient):
    return reverse("admin:journey_patient_invite_young_person", args=[patient.pk])


def test_the_button_invites_the_teen_in_one_step(client, center_a, coordinator_a, mailoutbox):
    teen = child_aged(center_a, 15)
    otp_login(client, coordinator_a)
    page = client.get(reverse("admin:journey_patient_change", args=[teen.pk])).text
    assert "Invite Amaryllis to their own account" in page and url(teen) in page
    assert client.get(url(teen)).status_code == 200
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = client.post(url(teen), {"email": " Amaryllis@Example.org ", "language": "es"})
    assert answer.status_code == 302
    own = Guardian.objects.get(email="amaryllis@example.org")
    assert (own.center, own.language) == (center_a, "es")
    link = Guardianship.objects.get(guardian=own, patient=teen)
    assert (link.relationship, link.role) == ("self", Guardianship.Role.VIEW_ONLY)
    history = PortalAccessChange.objects.get(guardian=own)
    assert (history.action, history.by) == (PortalAccessChange.Action.INVITED, coordinator_a)
    audited = AuditRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(Guardianship), object_pk=str(link.pk)
    ).get()
    assert (audited.actor, audited.patient_id) == (coordinator_a, teen.pk)
    assert [m.to for m in mailoutbox] == [["amaryllis@example.org"]]


def test_a_child_under_the_policy_age_is_refused(client, center_a, coordinator_a):
    child = child_aged(center_a, 11)
    otp_login(client, coordinator_a)
    answer = client.post(url(child), {"email": "young@example.org", "language": "en"})
    assert answer.status_code == 200
    assert "younger than 12" in answer.text
    assert not Guardian.objects.filter(email="young@example.org").exists()
    # A center whose own policy starts at 16 refuses a 15-year-old.
    AgePolicy.objects.create(center=center_a, age_years=16, change=AgeChange.PARENTS_VIEW_ONLY)
    answer = client.post(
        url(child_aged(center_a, 15)), {"email": "y@example.org", "language": "en"}
    )
    assert "younger than 16" in answer.text


def test_an_email_is_required_by_the_field(client, center_a, coordinator_a):
    teen = child_aged(center_a, 15)
    otp_login(client, coordinator_a)
    answer = client.post(url(teen), {"email": "", "language": "en"})
    assert answer.status_code == 200
    assert "Give the young person&#x27;s own email address." in answer.text
    assert not Guardianship.objects.filter(patient=teen).exists()


def test_another_centers_coordinator_gets_404(client, center_a, coordinator_b):
    teen = child_aged(center_a, 15)
    otp_login(client, coordinator_b)
    assert client.get(url(teen)).status_code == 404
    answer = client.post(url(teen), {"email": "x@example.org", "language": "en"})
    assert answer.status_code == 404
    assert not Guardian.objects.filter(email="x@example.org").exists()
