"""The private calendar feed: valid iCalendar, all-day events, the reminder, nothing medical."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from journey.models import Therapy
from tests import factories_portal_tracker as fp
from tracker import calendar
from tracker.models import CalendarFeed, LabTest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_portal_tracker")]
TODAY = dt.datetime(2026, 1, 20, 15, tzinfo=dt.UTC)


@pytest.fixture
def family(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.a@example.org")
    child, journey = fp.child_of(guardian, first_name="Maya")
    return guardian, child, journey


def _fetch(client, feed):
    with time_machine.travel(TODAY, tick=False):
        response = client.get(calendar.feed_path(feed))
    assert response.status_code == 200
    return response


def _forbidden_words():
    """Anything that would tell a reader the diagnosis, therapy, tests or results."""
    therapy = Therapy.objects.get(slug="zolgensma")
    words = {therapy.name, therapy.generic_name, therapy.vector, "SMA", "spinal"}
    words |= {"liver", "steroid", "platelet", "troponin", "bilirubin", "infusion", "gene"}
    for test in LabTest.objects.all():
        words |= {test.code, test.name, test.family_name, test.unit}
    words |= {c.name for c in therapy.conditions.all()}
    return {w for w in words if len(w) > 2}


def test_feed_round_trips_with_all_day_events_and_alarms(client, family):
    guardian, child, journey = family
    fp.record(journey, 7, fp.LIVER + [("PLT", "40", "10^9/L"), ("TNI", "5", "ng/L")])
    body = _fetch(client, calendar.new_feed(guardian, child)).content
    cal = Calendar.from_ical(body)
    assert cal["VERSION"] == "2.0" and cal["PRODID"]
    events = cal.walk("VEVENT")
    # Lab days: the baseline (day -1), days 7-28 weekly, 42-84 every 2 weeks, 60 and 90
    # (heart test) and 5 yearly visits; several tests on one day are one event.
    starts = [e.decoded("DTSTART") for e in events]
    assert all(type(s) is dt.date for s in starts)  # VALUE=DATE, not a time
    assert b"DTSTART;VALUE=DATE:20260112" in body
    assert dt.date(2026, 1, 12) in starts and dt.date(2027, 1, 5) in starts
    assert len(starts) == len(set((e.decoded("DTSTART"), str(e["SUMMARY"])) for e in events))
    summaries = {str(e["SUMMARY"]) for e in events}
    assert summaries == {"Lab draw for Maya", "Clinic visit for Maya"}
    for event in events:
        assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(days=1)
        assert len({e["UID"] for e in events}) == len(events)
    open_event = next(e for e in events if e.decoded("DTSTART") == dt.date(2026, 1, 26))
    (alarm,) = open_event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == -dt.timedelta(hours=15)  # the day before at 09:00
    assert str(alarm["ACTION"]) == "DISPLAY"


def test_feed_carries_nothing_medical(client, family):
    guardian, child, journey = family
    fp.record(journey, 7, [("ALT", "432", "U/L"), ("PLT", "37", "10^9/L")])
    body = _fetch(client, calendar.new_feed(guardian, child)).content.decode()
    unfolded = body.replace("\r\n ", "")
    for word in _forbidden_words():
        assert word.lower() not in unfolded.lower(), word
    # Random UIDs and the links' UUIDs may contain these digits by chance: look at the words.
    words = re.sub(r"https?://\S+", "", re.sub(r"(?m)^UID:.*$", "", unfolded))
    assert not re.search(r"\b432\b", words) and not re.search(r"\b37\b", words)
    assert child.last_name not in unfolded


def test_done_dates_stay_without_an_alarm_and_cancelled_ones_leave(client, family):
    guardian, child, journey = family
    fp.record(journey, 7, fp.LIVER + [("PLT", "250", "10^9/L"), ("TNI", "5", "ng/L")])
    gone = journey.scheduled_labs.filter(item__code="troponin", due_on=dt.date(2026, 3, 6))
    assert gone.update(cancelled_at=TODAY) == 1
    cal = Calendar.from_ical(_fetch(client, calendar.new_feed(guardian, child)).content)
    by_day = {e.decoded("DTSTART"): e for e in cal.walk("VEVENT")}
    assert by_day[dt.date(2026, 1, 12)].walk("VALARM") == []  # done: no reminder
    assert dt.date(2026, 3, 6) not in by_day


def test_hospital_stays_are_not_in_the_feed(client, center_a):
    """Ex vivo engraftment counts happen while inpatient: no family events or reminders."""
    guardian = fp.guardian_with_login(center_a, "exvivo@example.org")
    child, journey = fp.child_of(guardian, therapy="casgevy", born=dt.date(2010, 1, 1))
    cal = Calendar.from_ical(_fetch(client, calendar.new_feed(guardian, child)).content)
    starts = {e.decoded("DTSTART") for e in cal.walk("VEVENT")}
    inpatient = journey.scheduled_labs.filter(item__inpatient=True).values_list("due_on", flat=1)
    assert starts and not starts & set(inpatient)


def test_feed_follows_a_moved_infusion_date(client, family):
    from django.test import TestCase

    from journey.services import set_infusion_date

    guardian, child, journey = family
    feed = calendar.new_feed(guardian, child)
    with TestCase.captureOnCommitCallbacks(execute=True):
        set_infusion_date(journey, dt.date(2026, 1, 12), by=None, reason="Postponed a week")
    cal = Calendar.from_ical(_fetch(client, feed).content)
    starts = {e.decoded("DTSTART") for e in cal.walk("VEVENT")}
    assert dt.date(2026, 1, 19) in starts and dt.date(2026, 1, 12) not in starts
    assert {int(e["SEQUENCE"]) for e in cal.walk("VEVENT")} >= {2}


def test_feed_uses_the_guardians_language(client, center_a):
    guardian = fp.guardian_with_login(center_a, "es@example.org", language="es")
    child, _journey = fp.child_of(guardian, first_name="Lucía")
    body = _fetch(client, calendar.new_feed(guardian, child)).content.decode()
    # The Spanish catalogue comes later; until then the words fall back to English, but the
    # feed renders under the guardian's language (dates use Spanish formats already).
    assert "Lucía" in body


def test_calendar_page_makes_shows_regenerates_and_revokes_the_link(client, family):
    guardian, child, _journey = family
    client.force_login(guardian.user)
    page = reverse("portal_tracker:calendar", kwargs={"public_id": child.public_id})
    assert client.get(page).context["feed"] is None
    client.post(reverse("portal_tracker:calendar_new", kwargs={"public_id": child.public_id}))
    first = client.get(page)
    url = first.context["feed_url"]
    assert url.startswith("http://testserver/portal/calendar/") and url.endswith(".ics")
    assert first.context["webcal_url"].startswith("webcal://testserver/")
    assert url in first.content.decode()
    client.post(reverse("portal_tracker:calendar_new", kwargs={"public_id": child.public_id}))
    second = client.get(page).context["feed_url"]
    assert second != url
    assert client.get(url).status_code == 404
    client.post(reverse("portal_tracker:calendar_revoke", kwargs={"public_id": child.public_id}))
    assert client.get(page).context["feed"] is None
    assert client.get(second).status_code == 404
    assert CalendarFeed.objects.filter(guardian=guardian, revoked_at__isnull=True).count() == 0
    assert CalendarFeed.objects.filter(guardian=guardian).count() == 2  # kept as history


def test_each_guardian_has_their_own_link(family):
    guardian, child, _journey = family
    other = fp.guardian_with_login(guardian.center, "other.parent@example.org")
    from tests import factories as f

    f.GuardianshipFactory(patient=child, guardian=other)
    mine, theirs = calendar.new_feed(guardian, child), calendar.new_feed(other, child)
    calendar.revoke_feeds(other, child)
    assert calendar.feed_for_token(calendar.feed_token(mine)) is not None
    assert calendar.feed_for_token(calendar.feed_token(theirs)) is None
