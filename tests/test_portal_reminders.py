"""The portal's reminder settings page: access, saving and re-planning, bad input, snooze, speed.

GIVEN guardian A (New York) with Mia, who has a lab draw on Thu 4 Dec 2025, and guardian B
      with Leo at the same center
WHEN  A changes their choices, their time zone or pauses the emails
THEN  the Preference changes, pending reminders move to the new instant at once, bad input is
      explained by the field (nothing saved), and B only ever gets 404s for Mia's pages.
"""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

from journey.models import Stage
from notifications import services
from notifications.models import Kind, Preference, Reminder, Status
from tests import factories as f
from tests import factories_notifications as fn
from tests.factories_portal import family

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 12, 1, 15, 0, tzinfo=dt.UTC)  # Mon 1 Dec, winter on both sides
LAB_DAY = dt.date(2025, 12, 4)

PAGES = [
    ("get", "portal_notifications:settings", {}),
    ("post", "portal_notifications:settings", {"local_hour": "9"}),
    ("post", "portal_notifications:snooze", {"days": "3"}),
    ("post", "portal_notifications:unsnooze", {}),
]

VALID = {
    "lab_reminders": "on",
    "overdue_nudges": "on",
    "stage_notes": "on",
    "step_reminders": "on",
    "lead_days": "1",
    "local_hour": "9",
    "quiet_start": "",
    "quiet_end": "",
    "time_zone": "America/New_York",
}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def mia(center_a):
    """Guardian A with Mia, on monitoring, a lab draw due Thu 4 Dec; reminders planned."""
    guardian, child = family(center_a, first_name="Mia", time_zone="America/New_York")
    journey = f.JourneyFactory(patient=child, center=center_a, stage=Stage.MONITORING)
    plan = fn.PlanFactory(journey=journey)
    lab = fn.LabFactory(item=fn.ItemFactory(plan=plan), due_on=LAB_DAY)
    services.reconcile([child.pk])
    return guardian, child, lab


@pytest.fixture
def leo(center_a):
    return family(center_a, first_name="Leo", email="ben@example.org")


def url(name, child):
    return reverse(name, kwargs={"public_id": child.public_id})


def lab_reminder(guardian):
    return Reminder.objects.get(guardian=guardian, kind=Kind.LAB_REMINDER)


# ---- access ----


@pytest.mark.parametrize(("method", "name", "data"), PAGES)
def test_another_guardians_child_is_404(client, mia, leo, method, name, data):
    client.force_login(leo[0].user)
    response = getattr(client, method)(url(name, mia[1]), data)
    assert response.status_code == 404
    assert not Preference.objects.filter(patient=mia[1]).exists()


@pytest.mark.parametrize(("method", "name", "data"), PAGES)
def test_anonymous_is_sent_to_log_in(client, mia, method, name, data):
    response = getattr(client, method)(url(name, mia[1]), data)
    assert response.status_code == 302
    assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))


@pytest.mark.parametrize(("method", "name", "data"), PAGES)
def test_unknown_child_is_404(client, mia, method, name, data):
    client.force_login(mia[0].user)
    missing = reverse(name, kwargs={"public_id": "00000000-0000-4000-8000-000000000000"})
    assert getattr(client, method)(missing, data).status_code == 404


@pytest.mark.parametrize("name", ["portal_notifications:snooze", "portal_notifications:unsnooze"])
def test_snooze_buttons_need_post(client, mia, name):
    client.force_login(mia[0].user)
    assert client.get(url(name, mia[1])).status_code == 405


def test_staff_go_to_the_admin(client, mia, coordinator_a):
    client.force_login(coordinator_a)
    response = client.get(url("portal_notifications:settings", mia[1]))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tracker_worklist_changelist")


# ---- the page ----


def test_page_shows_the_defaults_and_what_is_coming(client, mia):
    guardian, child, _lab = mia
    client.force_login(guardian.user)
    response = client.get(url("portal_notifications:settings", child))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Reminder emails about Mia" in html
    # 09:00 New York on Wed 3 Dec, the day before the draw, shown in the guardian's zone.
    assert "Wed 3 Dec at 09:00" in html
    assert "About a lab draw on Thu 4 Dec." in html
    assert 'aria-current="page"' in html
    assert 'value="America/New_York"' in html
    assert not Preference.objects.exists()  # looking creates nothing
    assert "<script" not in html and "<style" not in html and 'style="' not in html


def test_saving_changes_the_preference_and_replans_at_once(client, mia):
    guardian, child, _lab = mia
    client.force_login(guardian.user)
    data = {**VALID, "lead_days": "2", "local_hour": "18", "stage_notes": ""}
    data.update(quiet_start="21:00", quiet_end="07:00", minimal="on")
    response = client.post(url("portal_notifications:settings", child), data)
    assert response.status_code == 302
    pref = Preference.objects.get(guardian=guardian, patient=child)
    assert (pref.lead_days, pref.local_hour, pref.stage_notes, pref.minimal) == (2, 18, False, True)
    assert (pref.quiet_start, pref.quiet_end) == (dt.time(21), dt.time(7))
    # Tue 2 Dec 18:00 EST = 23:00Z, already in the table when the family lands on the page.
    assert lab_reminder(guardian).send_at == dt.datetime(2025, 12, 2, 23, 0, tzinfo=dt.UTC)
    page = client.get(response["Location"]).content.decode()
    assert "Tue 2 Dec at 18:00" in page
    assert "Saved." in page


def test_a_new_time_zone_moves_pending_reminders(client, mia):
    """9:00 Europe/London in winter is 09:00Z (it was 14:00Z while in New York)."""
    guardian, child, _lab = mia
    assert lab_reminder(guardian).send_at == dt.datetime(2025, 12, 3, 14, 0, tzinfo=dt.UTC)
    client.force_login(guardian.user)
    response = client.post(
        url("portal_notifications:settings", child), {**VALID, "time_zone": "europe/london"}
    )
    assert response.status_code == 302
    guardian.refresh_from_db()
    assert guardian.time_zone == "Europe/London"  # the zone's own spelling
    row = lab_reminder(guardian)
    assert row.send_at == dt.datetime(2025, 12, 3, 9, 0, tzinfo=dt.UTC)
    assert row.time_zone == "Europe/London"


def test_a_new_time_zone_moves_the_guardians_other_children_too(client, mia, center_a):
    guardian, child, _lab = mia
    sibling = f.PatientFactory(center=center_a, first_name="Noa")
    f.GuardianshipFactory(guardian=guardian, patient=sibling)
    journey = f.JourneyFactory(patient=sibling, center=center_a, stage=Stage.MONITORING)
    fn.LabFactory(item=fn.ItemFactory(plan=fn.PlanFactory(journey=journey)), due_on=LAB_DAY)
    services.reconcile([sibling.pk])
    client.force_login(guardian.user)
    client.post(url("portal_notifications:settings", child), {**VALID, "time_zone": "UTC"})
    sent_at = Reminder.objects.filter(patient=sibling, kind=Kind.LAB_REMINDER).get().send_at
    assert sent_at == dt.datetime(2025, 12, 3, 9, 0, tzinfo=dt.UTC)


def test_saving_uses_the_after_commit_hooks(
    client, mia, monkeypatch, django_capture_on_commit_callbacks
):
    """The post_save hooks still queue plan_reminders for the worker (ids only)."""
    guardian, child, _lab = mia
    queued = []
    monkeypatch.setattr(
        "notifications.tasks.plan_reminders.delay", lambda **ids: queued.append(ids)
    )
    client.force_login(guardian.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("portal_notifications:settings", child), {**VALID, "time_zone": "UTC"})
    assert {"patient_ids": [child.pk]} in queued
    assert {"guardian_ids": [guardian.pk]} in queued


def test_turning_lab_reminders_off_cancels_the_pending_one(client, mia):
    guardian, child, _lab = mia
    client.force_login(guardian.user)
    data = {k: v for k, v in VALID.items() if k != "lab_reminders"}
    client.post(url("portal_notifications:settings", child), data)
    assert lab_reminder(guardian).status == Status.CANCELLED


# ---- bad input: a message by the field, 200, what was typed kept, nothing saved ----


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"local_hour": "25"}, "local_hour", "Type an hour from 0 to 23."),
        ({"local_hour": "nine"}, "local_hour", "Type a whole number of hours, from 0 to 23."),
        ({"local_hour": ""}, "local_hour", "Type an hour from 0 to 23."),
        ({"quiet_start": "22:00"}, "quiet_end", "Add the time the quiet hours end, or clear both."),
        ({"quiet_end": "06:00"}, "quiet_start", "Add the time the quiet hours start"),
        ({"quiet_start": "late", "quiet_end": "07:00"}, "quiet_start", "Type a time like 21:00."),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "We do not know this time zone."),
        ({"time_zone": "../../etc/passwd"}, "time_zone", "We do not know this time zone."),
        ({"lead_days": "9"}, "lead_days", "Choose the same day, or 1, 2 or 3 days before."),
        ({"lead_days": "x"}, "lead_days", "Choose the same day, or 1, 2 or 3 days before."),
    ],
)
def test_bad_input_is_explained_and_nothing_is_saved(client, mia, change, field, message):
    guardian, child, _lab = mia
    before = lab_reminder(guardian).send_at
    client.force_login(guardian.user)
    data = {**VALID, "local_hour": "7", "time_zone": "Europe/London", **change}
    response = client.post(url("portal_notifications:settings", child), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    html = response.content.decode()
    assert "Nothing was saved yet" in html
    for name, typed in change.items():
        if name != "lead_days" and typed:
            assert f'value="{typed}"' in html  # what was typed is kept
    assert not Preference.objects.exists()
    guardian.refresh_from_db()
    assert guardian.time_zone == "America/New_York"
    assert lab_reminder(guardian).send_at == before


def test_bad_input_keeps_earlier_saved_choices(client, mia):
    guardian, child, _lab = mia
    services.save_preferences(guardian, child, {"local_hour": 7, "minimal": True})
    client.force_login(guardian.user)
    client.post(url("portal_notifications:settings", child), {**VALID, "local_hour": "99"})
    pref = Preference.objects.get()
    assert (pref.local_hour, pref.minimal) == (7, True)


def test_the_form_spells_out_the_time_zone_list(client, mia):
    client.force_login(mia[0].user)
    html = client.get(url("portal_notifications:settings", mia[1])).content.decode()
    assert 'list="time-zones"' in html
    assert '<option value="Europe/London">London (United Kingdom)</option>' in html


# ---- snooze ----


def test_snooze_defers_the_series_and_unsnooze_brings_it_back(client, mia):
    guardian, child, _lab = mia
    client.force_login(guardian.user)
    response = client.post(url("portal_notifications:snooze", child), {"days": "7"})
    assert response.status_code == 302
    pref = Preference.objects.get()
    assert pref.snoozed_until == NOW + dt.timedelta(days=7)
    # The Wed 3 Dec email waits for the end of the pause (Mon 8 Dec 15:00Z = 10:00 EST).
    assert lab_reminder(guardian).send_at == pref.snoozed_until
    page = client.get(response["Location"]).content.decode()
    assert "Emails are paused until Mon 8 Dec at 10:00" in page

    response = client.post(url("portal_notifications:unsnooze", child))
    assert response.status_code == 302
    assert Preference.objects.get().snoozed_until is None
    assert lab_reminder(guardian).send_at == dt.datetime(2025, 12, 3, 14, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("9", "You can pause these emails for 7 days at most."),
        ("0", "Type a number of days, from 1 to 7."),
        ("-2", "Type a number of days, from 1 to 7."),
        ("a week", "Type a whole number of days, from 1 to 7."),
        ("", "Type a number of days, from 1 to 7."),
    ],
)
def test_snooze_limits(client, mia, days, message):
    guardian, child, _lab = mia
    client.force_login(guardian.user)
    response = client.post(url("portal_notifications:snooze", child), {"days": days})
    assert response.status_code == 200
    assert message in " ".join(response.context["snooze_form"].errors["days"])
    if days:
        assert f'value="{days}"' in response.content.decode()
    assert not Preference.objects.exists()


def test_unsnooze_without_a_snooze_is_harmless(client, mia):
    client.force_login(mia[0].user)
    assert client.post(url("portal_notifications:unsnooze", mia[1])).status_code == 302
    assert not Preference.objects.exists()


# ---- speed ----

BUDGET = 6  # session, user, guardian (middleware); child; preference; upcoming reminders


def test_query_count_is_small_and_constant(client, mia, django_assert_max_num_queries):
    guardian, child, lab = mia
    client.force_login(guardian.user)
    page = url("portal_notifications:settings", child)
    with django_assert_max_num_queries(BUDGET):
        assert client.get(page).status_code == 200
    # Many more planned emails, a saved preference and a pause: the same number of queries.
    plan = lab.item.plan
    for day in range(2, 12):
        kind = "visit" if day % 2 else "lab"
        item = fn.ItemFactory(plan=plan, kind=kind)
        fn.LabFactory(item=item, due_on=NOW.date() + dt.timedelta(days=day))
    services.reconcile([child.pk])
    services.snooze(guardian, child, 2)
    assert Reminder.objects.filter(status=Status.PENDING).count() > 10
    with django_assert_max_num_queries(BUDGET):
        html = client.get(page).content.decode()
    assert "About a clinic visit on" in html
