"""The List-Unsubscribe link of every reminder email: /portal/preferences/<signed token>/.

GIVEN a reminder email to guardian A about Mia (its List-Unsubscribe header names the page)
WHEN  the link is opened (GET: a page with a button) or posted (RFC 8058 one-click, no login)
THEN  A's emails about Mia stop (pending ones cancelled); a forged or damaged token, one signed
      for another purpose, or one naming a child that is not the guardian's, is a 404.
"""

import datetime as dt

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.urls import reverse

from journey.models import Guardianship, Stage
from notifications import emails, services
from notifications.models import CenterNotificationSettings, Kind, Preference, Reminder, Status
from tests import factories as f
from tests import factories_notifications as fn
from tests.factories_portal import family

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 12, 1, 15, 0, tzinfo=dt.UTC)
SWITCHES = ("lab_reminders", "overdue_nudges", "stage_notes", "step_reminders")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def mia(center_a):
    guardian, child = family(center_a, first_name="Mia")
    journey = f.JourneyFactory(patient=child, center=center_a, stage=Stage.MONITORING)
    plan = fn.PlanFactory(journey=journey)
    fn.LabFactory(item=fn.ItemFactory(plan=plan), due_on=dt.date(2025, 12, 4))
    services.reconcile([child.pk])
    return guardian, child


@pytest.fixture
def leo(center_a):
    return family(center_a, first_name="Leo", email="ben@example.org")


def token_for(guardian, child, salt=emails.PREFERENCES_SALT):
    return signing.dumps({"g": str(guardian.public_id), "p": str(child.public_id)}, salt=salt)


def link(token):
    return reverse("portal_notifications:unsubscribe", kwargs={"token": token})


def emails_on(guardian, child):
    pref = Preference.objects.filter(guardian=guardian, patient=child).first()
    return pref is None or any(getattr(pref, name) for name in SWITCHES)


def test_the_email_header_points_here(mia):
    guardian, _child = mia
    reminder = Reminder.objects.get(guardian=guardian, kind=Kind.LAB_REMINDER)
    header = emails.build(reminder).extra_headers["List-Unsubscribe"]
    path = header.strip("<>").split("://", 1)[1].split("/", 1)[1]
    response = Client().get("/" + path)
    assert response.status_code == 200
    assert "Stop reminder emails?" in response.content.decode()


def test_get_asks_first_and_changes_nothing(client, mia):
    guardian, child = mia
    response = client.get(link(token_for(guardian, child)))
    assert response.status_code == 200
    html = response.content.decode()
    assert "You will get no more reminder emails about Mia." in html
    assert "<form" in html and "Yes, stop these emails" in html
    assert emails_on(guardian, child)


def test_one_click_post_without_login_or_csrf_token_stops_the_emails(mia):
    guardian, child = mia
    browserless = Client(enforce_csrf_checks=True)
    response = browserless.post(link(token_for(guardian, child)), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not emails_on(guardian, child)
    assert Reminder.objects.get(guardian=guardian, kind=Kind.LAB_REMINDER).status == (
        Status.CANCELLED
    )
    # Twice is harmless.
    assert browserless.post(link(token_for(guardian, child))).status_code == 200


def test_other_guardians_keep_their_emails(mia, center_a):
    guardian, child = mia
    other = f.GuardianFactory(center=center_a, email="dad@example.org")
    Guardianship.objects.create(guardian=other, patient=child)
    Client().post(link(token_for(guardian, child)))
    assert not emails_on(guardian, child)
    assert emails_on(other, child)


def test_logged_in_guardian_goes_to_the_settings_page(client, mia):
    guardian, child = mia
    client.force_login(guardian.user)
    response = client.get(link(token_for(guardian, child)))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "portal_notifications:settings", kwargs={"public_id": child.public_id}
    )


def test_someone_else_logged_in_sees_the_question_not_the_settings(client, mia, leo):
    guardian, child = mia
    client.force_login(leo[0].user)
    response = client.get(link(token_for(guardian, child)))
    assert response.status_code == 200
    assert emails_on(guardian, child)


def test_minimal_emails_keep_the_name_off_the_page(client, mia):
    guardian, child = mia
    services.save_preferences(guardian, child, {"minimal": True})
    html = client.get(link(token_for(guardian, child))).content.decode()
    assert "Mia" not in html
    assert "about this child" in html


def test_center_minimal_mode_keeps_the_name_off_the_page(client, mia):
    guardian, child = mia
    CenterNotificationSettings.objects.create(center=child.center, minimal=True)
    html = client.get(link(token_for(guardian, child))).content.decode()
    assert "Mia" not in html


def test_page_speaks_the_guardians_language(client, mia):
    guardian, child = mia
    guardian.language = "es"
    guardian.save(update_fields=["language"])
    response = client.get(link(token_for(guardian, child)))
    assert response.status_code == 200
    assert '<html lang="es">' in response.content.decode()


def _bad_tokens(guardian, child, leo):
    good = token_for(guardian, child)
    return {
        "forged signature": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        "garbage": "nonsense",
        "other salt": token_for(guardian, child, salt="tracker.calendar-feed"),
        "other child": token_for(guardian, leo[1]),
        "other guardian": token_for(leo[0], child),
        "not uuids": signing.dumps({"g": "1", "p": "2"}, salt=emails.PREFERENCES_SALT),
        "missing keys": signing.dumps({"g": str(guardian.public_id)}, salt=emails.PREFERENCES_SALT),
        "a list": signing.dumps([1, 2], salt=emails.PREFERENCES_SALT),
    }


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "case",
    [
        "forged signature",
        "garbage",
        "other salt",
        "other child",
        "other guardian",
        "not uuids",
        "missing keys",
        "a list",
    ],
)
def test_bad_tokens_are_404(client, mia, leo, method, case):
    guardian, child = mia
    token = _bad_tokens(guardian, child, leo)[case]
    response = getattr(client, method)(link(token))
    assert response.status_code == 404
    assert emails_on(guardian, child)
    assert emails_on(*leo)


def test_a_guardian_unlinked_from_the_child_loses_the_link(client, mia):
    guardian, child = mia
    token = token_for(guardian, child)
    Guardianship.objects.filter(guardian=guardian, patient=child).delete()
    assert client.post(link(token)).status_code == 404


def test_only_get_and_post(client, mia):
    assert client.put(link(token_for(*mia))).status_code == 405


def test_page_query_count(client, mia, django_assert_max_num_queries):
    """No login: the guardianship (one join), the preference and the center's mode."""
    with django_assert_max_num_queries(3):
        assert client.get(link(token_for(*mia))).status_code == 200
