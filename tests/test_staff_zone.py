"""Staff pages read times in their center's zone, named in the header (review finding: the
urgent report's "respond by" showed 9:39 a.m. UTC to a New York coordinator whose deadline
was 04:39 local)."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tests import factories as f
from tests.conftest import otp_login

NOW = dt.datetime(2026, 12, 6, 8, 39, tzinfo=dt.UTC)  # 03:39 in New York
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _journey_page(client, journey):
    return client.get(reverse("admin:journey_journey_change", args=[journey.pk])).content.decode()


def test_a_coordinator_reads_times_in_the_centers_zone_named_in_the_header(
    client, coordinator_a, center_a
):
    journey = f.JourneyFactory(patient__center=center_a)
    journey.stage_entered_at = NOW
    journey.save()
    otp_login(client, coordinator_a)
    page = _journey_page(client, journey)
    assert "Times in America/New_York" in page
    assert "3:39 a.m." in page
    assert "8:39 a.m." not in page


def test_a_superuser_reads_times_in_their_own_zone(client, superuser, center_a):
    superuser.time_zone = "Europe/Berlin"
    superuser.save(update_fields=["time_zone"])
    journey = f.JourneyFactory(patient__center=center_a)
    journey.stage_entered_at = NOW
    journey.save()
    otp_login(client, superuser)
    page = _journey_page(client, journey)
    assert "Times in Europe/Berlin" in page
    assert "9:39 a.m." in page


def test_the_zone_follows_a_move_to_another_center_on_the_next_request(
    client, coordinator_a, center_a, center_b
):
    """The memberships are read on every request (compiled once, never kept)."""
    otp_login(client, coordinator_a)
    worklist = reverse("admin:tracker_worklist_changelist")
    assert "Times in America/New_York" in client.get(worklist).content.decode()
    coordinator_a.memberships.update(center=center_b)
    assert "Times in Europe/London" in client.get(worklist).content.decode()
