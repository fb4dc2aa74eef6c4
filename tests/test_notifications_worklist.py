"""The worklist shows failed reminders of the coordinator's own center only."""

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Kind, Reminder, Status
from tests import factories as f
from tests.conftest import otp_login

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
