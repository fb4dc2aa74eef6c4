"""The family sees the next blood test or visit on the home and child pages."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import formats, timezone

from tests.factories_portal import family, journey_with_history
from tracker import services as tracker_services

pytestmark = pytest.mark.django_db


def planned_child(center, coordinator, infused_days_ago):
    guardian, child = family(center, email=f"p{infused_days_ago}@example.org")
    child.date_of_birth = timezone.localdate() - dt.timedelta(days=300)
    child.save()
    journey = journey_with_history(child, coordinator)
    journey.infusion_date = timezone.localdate() - dt.timedelta(days=infused_days_ago)
    journey.save()
    tracker_services.generate_plan(journey, reason="test")
    return guardian, child


def test_child_page_shows_the_next_blood_test_with_its_window(client, center_a, coordinator_a):
    guardian, child = planned_child(center_a, coordinator_a, infused_days_ago=-10)
    client.force_login(guardian.user)
    page = client.get(reverse("portal:child", args=[child.public_id])).content.decode()
    # Infusion in 10 days: the baseline draw (day -1) comes first, inside its window.
    baseline = timezone.localdate() + dt.timedelta(days=9)
    assert "Next blood test" in page
    assert formats.date_format(baseline, "DATE_FORMAT") in page
    assert "Any day from" in page


def test_a_draw_past_its_window_is_left_to_the_care_team(client, center_a, coordinator_a):
    guardian, child = planned_child(center_a, coordinator_a, infused_days_ago=20)
    client.force_login(guardian.user)
    page = client.get(reverse("portal:child", args=[child.public_id])).content.decode()
    # Day 20: the day-14 draw closed undone; day 21 is tomorrow (issue 13 item 7).
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert "was not done in time. Your care team will contact you" in page
    assert formats.date_format(tomorrow, "DATE_FORMAT") in page
    home = client.get(reverse("portal:home")).content.decode()
    assert "Next blood test" in home and "Late" not in home


def test_no_plan_no_next_visit(client, center_a, coordinator_a):
    guardian, child = family(center_a, email="noplan@example.org")
    journey_with_history(child, coordinator_a)
    client.force_login(guardian.user)
    page = client.get(reverse("portal:child", args=[child.public_id])).content.decode()
    assert "Next blood test" not in page
