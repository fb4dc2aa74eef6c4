"""The worklist shows failed reminders of the coordinator's own center only."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Kind, Reminder, Status
from tests import factories as f
from tests import factories_tracker as ft
from tests.conftest import otp_login
from tracker import services as tracker_services
from tracker.models import ScheduledLab

WORKLIST = reverse("admin:tracker_worklist_changelist")
pytestmark = pytest.mark.django_db


def _failed(center, error):
    guardianship = f.GuardianshipFactory(patient__center=center)
    return Reminder.objects.create(
        key=f"g{guardianship.guardian_id}:test:{error}",
        kind=Kind.choices[0][0],
        guardian=guardianship.guardian,
        center=center,
        patient=guardianship.patient,
        due_on=timezone.localdate(),
        send_at=timezone.now(),
        time_zone="UTC",
        status=Status.FAILED,
        attempts=1,
        last_error=error,
    )


def test_failed_reminders_show_on_their_centers_worklist_only(
    client, coordinator_a, center_a, center_b
):
    _failed(center_a, "550 mailbox unavailable (A)")
    _failed(center_b, "550 mailbox unavailable (B)")
    otp_login(client, coordinator_a)
    page = client.get(WORKLIST).content.decode()
    assert "550 mailbox unavailable (A)" in page
    assert "(B)" not in page


def test_superuser_sees_every_centers_failed_reminders(client, superuser, center_a, center_b):
    _failed(center_a, "error at A")
    _failed(center_b, "error at B")
    otp_login(client, superuser)
    page = client.get(WORKLIST).content.decode()
    assert "error at A" in page and "error at B" in page


def test_escalated_labs_show_one_row_per_draw_with_a_link_to_result_entry(
    client, coordinator_a, center_a
):
    """Issue 13 item 5: the escalated list was one row per test; now one per draw."""
    guardianship = f.GuardianshipFactory(patient__center=center_a)
    journey = f.JourneyFactory(
        patient=guardianship.patient,
        therapy=ft.therapy(),
        infusion_date=timezone.localdate() - dt.timedelta(days=20),
    )
    tracker_services.generate_plan(journey, reason="test")
    labs = list(ScheduledLab.objects.overdue(timezone.localdate()).filter(journey=journey))
    day = next(lab.due_on for lab in labs if sum(x.due_on == lab.due_on for x in labs) > 1)
    draw = [lab for lab in labs if lab.due_on == day]
    for lab in draw:
        Reminder.objects.create(
            key=f"escalated:{lab.pk}",
            kind=Kind.OVERDUE_COORDINATOR,
            user=coordinator_a,
            center=center_a,
            patient=guardianship.patient,
            journey=journey,
            scheduled_lab=lab,
            due_on=lab.due_on,
            send_at=timezone.now(),
            time_zone="UTC",
            status=Status.SENT,
            sent_at=timezone.now(),
        )
    otp_login(client, coordinator_a)
    response = client.get(WORKLIST)
    sections = {entry.page.key: entry.page for entry in response.context["sections"]}
    [row] = sections["escalated-labs"].rows
    assert (row["journey_id"], row["due_on"]) == (journey.pk, day)
    assert row["tests"] == sorted({lab.item.title for lab in draw})
    entry = reverse("admin:tracker_enter_results", args=[journey.pk])
    assert f'href="{entry}?due={day.isoformat()}"' in response.text


def test_an_empty_list_is_one_line_and_a_list_with_rows_its_table(client, coordinator_a, center_a):
    otp_login(client, coordinator_a)
    page = client.get(WORKLIST).content.decode()
    assert "Every reminder was delivered." in page
    assert "<th>Last error</th>" not in page  # no empty table
    _failed(center_a, "550 mailbox unavailable")
    page = client.get(WORKLIST).content.decode()
    assert "<th>Last error</th>" in page and "Every reminder was delivered." not in page
