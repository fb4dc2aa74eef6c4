"""The reminders console: scoped to the coordinator's center, outsiders get 404."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications import dispatch
from notifications.models import Reminder, Status
from tests.conftest import otp_login
from tests.factories_notifications import due_reminders, smtp  # noqa: F401


@pytest.fixture
def rows(center_a, center_b, smtp):  # noqa: F811
    mine = due_reminders(2, center=center_a)
    theirs = due_reminders(1, center=center_b)
    smtp.sink.refuse[mine.mother.email] = "550 5.1.1 No such user"
    dispatch.dispatch_due()
    later = timezone.now() + dt.timedelta(days=1)
    Reminder.objects.filter(patient=mine.patient).update(status=Status.PENDING, send_at=later)
    Reminder.objects.filter(pk=Reminder.objects.filter(patient=mine.patient).first().pk).update(
        status=Status.FAILED, last_error="550 No such user"
    )
    return mine, theirs


def test_delivery_log_shows_past_and_upcoming_for_own_center(client, coordinator_a, rows):
    mine, _ = rows
    otp_login(client, coordinator_a)
    url = reverse("admin:notifications_delivery_log", args=[mine.patient.public_id])
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "550 No such user" in body and "Upcoming" in body
    assert len(response.context["upcoming"]) == 1 and len(response.context["past"]) == 1


def test_another_centers_rows_answer_404(client, coordinator_a, rows):
    _, theirs = rows
    otp_login(client, coordinator_a)
    url = reverse("admin:notifications_delivery_log", args=[theirs.patient.public_id])
    assert client.get(url).status_code == 404
    row = Reminder.objects.get(patient=theirs.patient)
    change = reverse("admin:notifications_reminder_change", args=[row.pk])
    assert client.get(change).status_code == 404
    listing = client.get(reverse("admin:notifications_reminder_changelist"))
    assert listing.status_code == 200
    assert theirs.mother.email not in listing.content.decode()
