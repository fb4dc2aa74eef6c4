"""Where draws happen, in the admin: a coordinator sets a family's usual lab once and moves
one draw; another center's coordinator gets 404; a bad value comes back by its field."""

import datetime as dt

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from tests import factories_portal_tracker as fp
from tests.conftest import otp_login
from tracker.models import DrawSiteChange, LocalLab, ResultSender, ScheduledLab, SiteChoice

pytestmark = pytest.mark.django_db
NEXT_DRAW = dt.date(2026, 1, 26)


@pytest.fixture
def journey(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.a@example.org")
    _child, journey = fp.child_of(guardian, first_name="Maya")
    return journey


@pytest.fixture
def quest(center_a):
    return LocalLab.objects.create(
        center=center_a, name="Quest Elm Street", address="12 Elm St", phone="555-0100"
    )


def _plan_site_url(journey):
    return reverse("admin:tracker_plan_site", args=[journey.monitoring_plan.pk])


def _draw_url(journey):
    row = ScheduledLab.objects.filter(journey=journey, due_on=NEXT_DRAW).first()
    return reverse("admin:tracker_draw_site", args=[row.public_id])


def test_the_coordinator_sets_the_familys_usual_lab_once(client, journey, quest, coordinator_a):
    otp_login(client, coordinator_a)
    assert client.get(_plan_site_url(journey)).status_code == 200
    data = {"local_lab": quest.pk, "result_sender": ResultSender.LAB_FAX}
    response = client.post(_plan_site_url(journey), data)
    assert response.status_code == 302
    journey.monitoring_plan.refresh_from_db()
    assert journey.monitoring_plan.default_lab == quest
    page = client.get(
        reverse("admin:tracker_monitoringplan_change", args=[journey.monitoring_plan.pk])
    )
    assert "Quest Elm Street" in page.content.decode()


def test_the_coordinator_moves_one_draw_and_it_is_recorded(client, journey, quest, coordinator_a):
    otp_login(client, coordinator_a)
    data = {
        "site": SiteChoice.LOCAL_LAB,
        "local_lab": quest.pk,
        "result_sender": "",
        "reason": "Away",
    }
    assert client.post(_draw_url(journey), data).status_code == 302
    change = DrawSiteChange.objects.get()
    assert (change.changed_by, change.local_lab, change.reason) == (coordinator_a, quest, "Away")
    assert AuditRecord.objects.get_for_object(change).filter(patient_id=journey.patient_id)
    assert set(
        ScheduledLab.objects.filter(journey=journey, due_on=NEXT_DRAW).values_list(
            "site", flat=True
        )
    ) == {SiteChoice.LOCAL_LAB}


def test_a_local_lab_site_without_a_lab_comes_back_by_the_field(client, journey, coordinator_a):
    otp_login(client, coordinator_a)
    data = {"site": SiteChoice.LOCAL_LAB, "local_lab": "", "reason": "Away"}
    response = client.post(_draw_url(journey), data)
    assert response.status_code == 200
    assert "Choose the local lab." in response.content.decode()
    assert not DrawSiteChange.objects.exists()


def test_another_centers_coordinator_gets_404(client, journey, quest, coordinator_b):
    otp_login(client, coordinator_b)
    assert client.get(_plan_site_url(journey)).status_code == 404
    assert client.get(_draw_url(journey)).status_code == 404
    lab_page = reverse("admin:tracker_locallab_change", args=[quest.pk])
    assert client.get(lab_page).status_code == 404


def test_a_lab_of_another_center_is_not_offered(client, journey, coordinator_a, center_b):
    other = LocalLab.objects.create(center=center_b, name="Far Lab", address="x", phone="1")
    otp_login(client, coordinator_a)
    assert "Far Lab" not in client.get(_plan_site_url(journey)).content.decode()
    data = {"local_lab": other.pk, "result_sender": ResultSender.LAB_FAX}
    response = client.post(_plan_site_url(journey), data)
    assert response.status_code == 200
    journey.monitoring_plan.refresh_from_db()
    assert journey.monitoring_plan.default_lab is None
