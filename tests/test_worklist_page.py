"""The worklist page written in Python (tracker.admin.worklist_page, journey.admin.frame) is
the markup of its templates (admin/tracker/worklist.html), which right-to-left languages
still use.

GIVEN a coordinator whose center has rows in the tracker's lists (more than a page of
      overdue draws), a failed reminder and escalated labs (other apps' templates)
WHEN  the worklist is opened: a page, a later page, a whole list, after an action's message,
      in Spanish
THEN  the page is what the templates write from the same context, values escaped alike.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from journey.security.staff_zone import staff_zone
from notifications.models import Kind, Reminder, Status
from tests import factories as f
from tests import factories_tracker as ft
from tests.conftest import otp_login
from tracker import services
from tracker.admin import worklist_page
from tracker.models import ScheduledLab

WORKLIST = reverse("admin:tracker_worklist_changelist")
TODAY = dt.date(2026, 3, 2)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def busy_center(center_a, coordinator_a):
    """Eleven journeys with overdue draws and an abnormal result (names to escape), a failed
    reminder and an escalated draw."""
    therapy = ft.therapy()
    for n in range(11):
        patient = f.PatientFactory(center=center_a, first_name=f"<b>Ana & {n}</b>")
        journey = f.JourneyFactory(
            patient=patient, therapy=therapy, infusion_date=TODAY - dt.timedelta(days=20)
        )
        services.generate_plan(journey, reason="test")
        collected = timezone.make_aware(dt.datetime(2026, 2, 24, 9))
        services.record_results(journey, collected, [("PLT", "120", "10^9/L")], by=None)
    guardianship = f.GuardianshipFactory(patient=patient)
    _reminder(journey, guardianship, status=Status.FAILED, last_error="550 <no> mailbox")
    lab = ScheduledLab.objects.overdue(TODAY).filter(journey=journey).first()
    _reminder(
        journey,
        None,
        user=coordinator_a,
        scheduled_lab=lab,
        status=Status.SENT,
        sent_at=timezone.now(),
    )
    return center_a


def _reminder(journey, guardianship, **fields):
    kind = Kind.OVERDUE_COORDINATOR if guardianship is None else Kind.LAB_REMINDER
    return Reminder.objects.create(
        key=f"page-test:{kind}",
        kind=kind,
        guardian=guardianship.guardian if guardianship else None,
        center=journey.patient.center,
        patient=journey.patient,
        journey=journey,
        due_on=TODAY,
        send_at=timezone.now(),
        time_zone="UTC",
        attempts=1,
        **fields,
    )


def _page_markup(html):
    """The markup with the templates' whitespace around tags dropped, other runs of spaces as
    one, and the CSRF tokens (masked anew on each use) left out."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', html)
    html = re.sub(r"\s*(<[^>]+>)\s*", r"\1", html)
    return re.sub(r"\s+", " ", html).strip()


def _templates_page(response):
    context = dict(response.context_data)
    assert context.pop("worklist_page")
    asked = response.wsgi_request
    with timezone.override(staff_zone(asked.user)):  # as the page's middleware does
        return render_to_string(worklist_page.FALLBACK, context, request=asked)


@pytest.mark.parametrize("query", ["", "?overdue=2", "?overdue=all", "?review=all&overdue=9"])
def test_the_page_is_the_markup_of_its_templates(client, coordinator_a, busy_center, query):
    otp_login(client, coordinator_a)
    response = client.get(WORKLIST + query)
    assert response.status_code == 200
    text = response.text
    assert "&lt;b&gt;Ana &amp; 3&lt;/b&gt;" in text and "<b>Ana" not in text
    assert "550 &lt;no&gt; mailbox" in text  # a section of another app, its own template
    assert _page_markup(text) == _page_markup(_templates_page(response))


def test_an_actions_message_is_written_as_the_templates_write_it(
    client, coordinator_a, busy_center
):
    otp_login(client, coordinator_a)
    response = client.post(WORKLIST, {"action": "review", "target": "x", "note": ""}, follow=True)
    assert "Write a note before saving." in response.text
    assert _page_markup(response.text) == _page_markup(_templates_page(response))


def test_the_page_in_spanish_is_the_markup_of_its_templates(client, coordinator_a, busy_center):
    otp_login(client, coordinator_a)
    response = client.get(WORKLIST, HTTP_ACCEPT_LANGUAGE="es")
    assert 'lang="es"' in response.text and "A la fecha de 2026-03-02." in response.text
    with translation.override("es"):
        assert _page_markup(response.text) == _page_markup(_templates_page(response))


def test_a_right_to_left_language_gets_the_templates(client, coordinator_a, busy_center):
    with translation.override("he"):
        assert not worklist_page.handles()  # no rtl stylesheets in the page written here
    with translation.override("es"):
        assert worklist_page.handles()
    otp_login(client, coordinator_a)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(worklist_page, "handles", lambda: False)
        response = client.get(WORKLIST)
    assert response.status_code == 200
    assert "worklist_page" not in response.context_data
    assert response.template_name == worklist_page.FALLBACK
    assert "Overdue labs and visits" in response.text
