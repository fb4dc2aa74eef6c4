"""Where each draw happens (issue 15 item 5): a family's usual lab, one draw moved, and the
plan page, the calendar and the reminder say where (name, address, phone; nothing medical)."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from icalendar import Calendar

from notifications import emails
from notifications.models import Kind, Reminder
from tests import factories as f
from tests import factories_portal_tracker as fp
from tracker import calendar
from tracker.models import DrawSiteChange, LocalLab, ResultSender, ScheduledLab, SiteChoice
from tracker.services.sites import set_default_site, set_draw_site
from tracker.sites import place_for

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_portal_tracker")]
TODAY = dt.datetime(2026, 1, 20, 15, tzinfo=dt.UTC)
NEXT_DRAW = dt.date(2026, 1, 26)


@pytest.fixture
def family(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.a@example.org")
    child, journey = fp.child_of(guardian, first_name="Maya")
    return guardian, child, journey


@pytest.fixture
def quest(center_a):
    return LocalLab.objects.create(
        center=center_a, name="Quest Elm Street", address="12 Elm St, Dayton", phone="555-0100"
    )


def _rows(journey, due_on=NEXT_DRAW):
    return list(
        ScheduledLab.objects.filter(journey=journey, due_on=due_on).select_related("local_lab")
    )


def _place(journey, row):
    plan = journey.monitoring_plan
    plan.refresh_from_db()
    return place_for(row, plan.default_lab, journey.center)


# ---------------------------------------------------------------- services


def test_draws_happen_at_the_center_until_the_coordinator_sets_a_local_lab(family, quest):
    _guardian, _child, journey = family
    row = _rows(journey)[0]
    assert _place(journey, row).at_center
    set_default_site(journey.monitoring_plan, quest, ResultSender.LAB_FAX)
    place = _place(journey, row)
    assert (place.name, place.address, place.phone) == (
        "Quest Elm Street",
        "12 Elm St, Dayton",
        "555-0100",
    )
    assert journey.monitoring_plan.default_result_sender == ResultSender.LAB_FAX


def test_a_lab_of_another_center_is_refused(family, center_b):
    _guardian, _child, journey = family
    other = LocalLab.objects.create(center=center_b, name="Far", address="x", phone="1")
    with pytest.raises(ValidationError):
        set_default_site(journey.monitoring_plan, other, ResultSender.LAB_FAX)
    with pytest.raises(ValidationError):
        set_draw_site(
            journey, NEXT_DRAW, site=SiteChoice.LOCAL_LAB, lab=other, by=f.UserFactory(), reason="x"
        )


def test_moving_one_draw_moves_its_rows_only_and_says_who_and_why(family, quest, coordinator_a):
    _guardian, _child, journey = family
    changed = set_draw_site(
        journey,
        NEXT_DRAW,
        site=SiteChoice.LOCAL_LAB,
        lab=quest,
        sender=ResultSender.FAMILY,
        by=coordinator_a,
        reason="Family away that week",
    )
    rows = _rows(journey)
    assert changed == len(rows) > 1
    assert all(_place(journey, r).name == "Quest Elm Street" for r in rows)
    assert all(r.result_sender == ResultSender.FAMILY for r in rows)
    later = _rows(journey, dt.date(2026, 2, 2))[0]
    assert _place(journey, later).at_center
    change = DrawSiteChange.objects.get()
    assert (change.changed_by, change.reason, change.due_on) == (
        coordinator_a,
        "Family away that week",
        NEXT_DRAW,
    )


def test_one_draw_can_go_back_to_the_center_while_the_usual_site_is_a_local_lab(
    family, quest, coordinator_a
):
    _guardian, _child, journey = family
    set_default_site(journey.monitoring_plan, quest, ResultSender.LAB_FAX)
    set_draw_site(journey, NEXT_DRAW, site=SiteChoice.CENTER, by=coordinator_a, reason="Visit")
    assert _place(journey, _rows(journey)[0]).at_center
    assert not _place(journey, _rows(journey, dt.date(2026, 2, 2))[0]).at_center


# ---------------------------------------------------------------- family side


def _feed_events(client, guardian, child):
    path = calendar.feed_path(calendar.new_feed(guardian, child))
    with time_machine.travel(TODAY, tick=False), CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return Calendar.from_ical(response.content).walk("VEVENT"), len(ctx.captured_queries)


def test_the_calendar_says_where_in_a_constant_number_of_queries(client, family, quest):
    guardian, child, journey = family
    _events, before = _feed_events(client, guardian, child)
    set_default_site(journey.monitoring_plan, quest, ResultSender.LAB_FAX)
    set_draw_site(journey, NEXT_DRAW, site=SiteChoice.CENTER, by=f.UserFactory(), reason="x")
    events, after = _feed_events(client, guardian, child)
    assert after == before
    where = {e.decoded("DTSTART"): str(e["LOCATION"]) for e in events}
    assert where[NEXT_DRAW] == f"{journey.center.name}, {journey.center.main_phone}"
    assert where[dt.date(2026, 2, 2)] == "Quest Elm Street, 12 Elm St, Dayton, 555-0100"


def test_the_plan_page_says_where_the_next_draw_is(client, family, quest):
    guardian, child, journey = family
    set_default_site(journey.monitoring_plan, quest, ResultSender.LAB_FAX)
    client.force_login(guardian.user)
    with time_machine.travel(TODAY, tick=False):
        response = client.get(reverse("portal_tracker:plan", kwargs={"public_id": child.public_id}))
    text = response.content.decode()
    assert "Where: Quest Elm Street, 12 Elm St, Dayton, 555-0100" in text


def test_the_reminder_says_where_and_nothing_more_in_minimal_mode(family, quest):
    guardian, child, journey = family
    set_default_site(journey.monitoring_plan, quest, ResultSender.LAB_FAX)
    lab = _rows(journey)[0]
    reminder = Reminder(
        key="lab:test",
        kind=Kind.LAB_REMINDER,
        guardian=guardian,
        center=journey.center,
        patient=child,
        journey=journey,
        scheduled_lab=lab,
        due_on=NEXT_DRAW,
        rung=1,
        send_at=TODAY,
        time_zone="America/New_York",
    )
    message = emails.build(reminder)
    html = message.alternatives[0][0]
    for text in (message.body, html):
        assert "Quest Elm Street, 12 Elm St, Dayton, 555-0100" in text
    minimal = emails.build(reminder, minimal=True)
    assert "Quest" not in minimal.body


def test_the_reminder_reads_its_place_without_a_query_of_its_own(
    family, quest, coordinator_a, django_assert_num_queries
):
    from notifications import dispatch

    guardian, child, journey = family
    set_draw_site(
        journey, NEXT_DRAW, site=SiteChoice.LOCAL_LAB, lab=quest, by=coordinator_a, reason="x"
    )
    Reminder.objects.all().delete()
    saved = Reminder.objects.create(
        key="lab:where",
        kind=Kind.LAB_REMINDER,
        guardian=guardian,
        center=journey.center,
        patient=child,
        journey=journey,
        scheduled_lab=_rows(journey)[0],
        due_on=NEXT_DRAW,
        rung=1,
        send_at=TODAY,
        time_zone="America/New_York",
    )
    row = Reminder.objects.select_related(*dispatch.ROW_RELATED).get(pk=saved.pk)
    with django_assert_num_queries(0):
        message = emails.build(row)
    assert "Quest Elm Street" in message.body


def _plan_queries(client, child):
    url = reverse("portal_tracker:plan", kwargs={"public_id": child.public_id})
    with time_machine.travel(TODAY, tick=False), CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_plan_page_reads_the_places_in_no_extra_query(client, family, quest, coordinator_a):
    guardian, child, journey = family
    client.force_login(guardian.user)
    _plan_queries(client, child)  # warm the session
    at_center = _plan_queries(client, child)
    set_default_site(journey.monitoring_plan, quest, ResultSender.LAB_FAX)
    set_draw_site(
        journey, NEXT_DRAW, site=SiteChoice.LOCAL_LAB, lab=quest, by=coordinator_a, reason="x"
    )
    assert _plan_queries(client, child) == at_center


def test_the_database_refuses_a_local_lab_site_without_its_lab(family, quest):
    from django.db import IntegrityError, transaction

    _guardian, _child, journey = family
    rows = ScheduledLab.objects.filter(journey=journey, due_on=NEXT_DRAW)
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.update(site=SiteChoice.LOCAL_LAB, local_lab=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.update(site=SiteChoice.CENTER, local_lab=quest)
