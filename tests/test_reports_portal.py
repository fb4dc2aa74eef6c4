"""A family reports a symptom: "Something is wrong" on every child page.

GIVEN guardian A with Mia (monitoring after Zolgensma, whose label lists "call now" signs) and
      guardian B with Leo at the same center
WHEN  A ticks a sign, or writes in their own words, or sends nothing or too much
THEN  a ticked sign answers "call now" with the center's numbers and alerts the coordinators
      at once (any hour); words alone get a "respond by" time; bad input is explained by the
      field and nothing is saved; B gets 404 for every one of Mia's report pages.
"""

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from notifications.models import Kind, Reminder
from reports.models import Status, SymptomReport
from tests.conftest import otp_login
from tests.factories_reports import NOW, leo_family, mia_family, run_tasks_inline

pytestmark = pytest.mark.django_db


@pytest.fixture
def mia(center_a):
    return mia_family(center_a)


@pytest.fixture
def leo(center_a):
    return leo_family(center_a)


@pytest.fixture
def inline_tasks(monkeypatch):
    return run_tasks_inline(monkeypatch)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def new_url(child):
    return reverse("portal_reports:new", kwargs={"public_id": child.public_id})


def sent_url(report):
    kwargs = {"public_id": report.patient.public_id, "report_id": report.public_id}
    return reverse("portal_reports:sent", kwargs=kwargs)


def login(client, guardian):
    client.force_login(guardian.user)


def send(client, child, data, capture):
    with capture(execute=True):
        return client.post(new_url(child), data)


# ---- the form ----


def test_page_lists_the_therapys_call_now_signs_and_a_bounded_text_box(client, mia):
    guardian, child, _ = mia
    login(client, guardian)
    page = client.get(new_url(child)).content.decode()
    assert "Yellow skin, or yellow in the whites of the eyes (jaundice)" in page
    assert 'maxlength="1000"' in page
    assert 'name="signs"' in page


def test_page_in_spanish_shows_the_spanish_signs(client, mia):
    guardian, child, _ = mia
    guardian.language = "es"
    guardian.save()
    login(client, guardian)
    page = client.get(new_url(child)).content.decode()
    assert "Piel amarilla" in page
    assert "Algo no va bien" in page


@pytest.mark.parametrize("name", ["portal:child", "portal:card", "portal:people"])
def test_every_child_page_links_to_something_is_wrong(client, mia, name):
    guardian, child, _ = mia
    login(client, guardian)
    page = client.get(reverse(name, kwargs={"public_id": child.public_id})).content.decode()
    assert new_url(child) in page


@pytest.mark.parametrize("name", ["portal_tracker:plan", "portal_tracker:labs"])
def test_tracker_child_pages_link_to_something_is_wrong(client, mia, name):
    guardian, child, _ = mia
    login(client, guardian)
    page = client.get(reverse(name, kwargs={"public_id": child.public_id})).content.decode()
    assert new_url(child) in page


# ---- urgent: call now, alert at once ----


def test_a_ticked_sign_answers_call_now_with_the_centers_numbers(
    client, mia, inline_tasks, django_capture_on_commit_callbacks
):
    guardian, child, _ = mia
    login(client, guardian)
    response = send(client, child, {"signs": ["0"]}, django_capture_on_commit_callbacks)
    report = SymptomReport.objects.get()
    assert response.status_code == 302 and response.url == sent_url(report)
    page = client.get(response.url).content.decode()
    assert "Call Center A now" in page
    assert child.center.main_phone in page and child.center.after_hours_phone in page
    assert 'href="tel:+15550199"' in page
    assert report.urgent and report.guardian == guardian and report.center == child.center
    assert report.signs[0]["en"].startswith("Yellow skin")


def test_an_urgent_report_alerts_every_coordinator_of_the_center_at_once_at_night(
    client, mia, coordinator_a, coordinator_b, inline_tasks, django_capture_on_commit_callbacks
):
    guardian, child, _ = mia
    login(client, guardian)
    send(client, child, {"signs": ["1"], "text": "since last night"},
         django_capture_on_commit_callbacks)  # fmt: skip
    alerts = Reminder.objects.filter(kind=Kind.URGENT_REPORT)
    assert [a.user for a in alerts] == [coordinator_a]  # not center B's
    assert alerts.get().send_at == NOW  # 03:00 in New York: no quiet hours, no waiting
    assert inline_tasks, "the alerts queue is told to send now"


def test_an_answered_report_cancels_an_alert_not_sent_yet(
    client, mia, coordinator_a, inline_tasks, django_capture_on_commit_callbacks
):
    from reports import services

    guardian, child, _ = mia
    login(client, guardian)
    send(client, child, {"signs": ["0"]}, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.answer_report(SymptomReport.objects.get(), coordinator_a)
    assert Reminder.objects.get(kind=Kind.URGENT_REPORT).status == "cancelled"


# ---- other reports: a response-time clock ----


@override_settings(REPORTS_RESPONSE_HOURS={"urgent": 1, "other": 12})
def test_words_alone_get_a_respond_by_time_and_no_alert(
    client, mia, coordinator_a, inline_tasks, django_capture_on_commit_callbacks
):
    guardian, child, _ = mia
    login(client, guardian)
    response = send(client, child, {"text": "A small rash on her arm"},
                    django_capture_on_commit_callbacks)  # fmt: skip
    report = SymptomReport.objects.get()
    assert not report.urgent and report.status == Status.OPEN
    assert (report.respond_by - report.created_at).total_seconds() == 12 * 3600
    assert not Reminder.objects.filter(kind=Kind.URGENT_REPORT).exists()
    assert not inline_tasks
    page = client.get(response.url).content.decode()
    assert "The care team will answer by" in page and "A small rash on her arm" in page


# ---- bad input: explained by the field, nothing saved ----


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "Tick a sign above or tell us in a few words what is wrong."),
        ({"text": "   "}, "Tick a sign above or tell us in a few words what is wrong."),
        ({"text": "x" * 1001}, "at most 1000 characters"),
        ({"signs": ["99"]}, "Select a valid choice"),
        ({"signs": ["not-a-number"]}, "Select a valid choice"),
    ],
)
def test_bad_input_is_explained_by_the_field_and_nothing_is_saved(client, mia, data, message):
    guardian, child, _ = mia
    login(client, guardian)
    response = client.post(new_url(child), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "field--error" in response.content.decode()
    assert not SymptomReport.objects.exists()


# ---- access ----


def test_another_family_gets_404_for_every_report_page(client, mia, leo):
    guardian, child, journey = mia
    report = SymptomReport.objects.create(
        patient=child, journey=journey, center=child.center, guardian=guardian, text="x",
        created_at=NOW, respond_by=NOW,
    )  # fmt: skip
    other_guardian, other_child = leo
    login(client, other_guardian)
    assert client.get(new_url(child)).status_code == 404
    assert client.post(new_url(child), {"text": "hi"}).status_code == 404
    assert client.get(sent_url(report)).status_code == 404
    # Mia's report under Leo's own address is not found either.
    kwargs = {"public_id": other_child.public_id, "report_id": report.public_id}
    assert client.get(reverse("portal_reports:sent", kwargs=kwargs)).status_code == 404
    assert SymptomReport.objects.count() == 1


def test_staff_are_sent_to_the_admin(client, mia, coordinator_a):
    _, child, _ = mia
    otp_login(client, coordinator_a)
    assert client.get(new_url(child)).status_code == 302


@override_settings(WAYPOINT_RATE_LIMITS={"symptom_report": {"user": "3/h"}})
def test_reports_are_rate_limited(client, mia):
    guardian, child, _ = mia
    login(client, guardian)
    codes = [client.post(new_url(child), {"text": f"report {i}"}).status_code for i in range(4)]
    assert codes == [302, 302, 302, 429]
    assert SymptomReport.objects.count() == 3


def test_the_report_pages_read_a_fixed_number_of_queries(
    client, mia, django_assert_max_num_queries
):
    """Session, login, guardian, child, journey with its therapy: a constant, whatever the
    number of signs or reports."""
    guardian, child, _ = mia
    login(client, guardian)
    with django_assert_max_num_queries(8):
        client.get(new_url(child))
    response = client.post(new_url(child), {"signs": ["0", "1"], "text": "both"})
    with django_assert_max_num_queries(8):
        client.get(response.url)
