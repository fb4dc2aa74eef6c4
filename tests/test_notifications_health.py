"""GET /health/ (no login, no patient data, 503 past thresholds) and GET /metrics."""

import datetime as dt
import logging

import pytest
from django.utils import timezone

from notifications import breaker
from notifications.models import SMS_RELAY, Reminder, Status
from tests.factories_notifications import due_reminders

pytestmark = pytest.mark.django_db


def test_health_answers_without_login_and_shows_no_patient_data(client):
    family = due_reminders(3, at=timezone.now() - dt.timedelta(minutes=2))
    Reminder.objects.filter(pk=Reminder.objects.first().pk).update(status=Status.FAILED)
    response = client.get("/health/")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "ok"
    assert (body["pending"], body["due"], body["failed_24h"], body["relay"]) == (2, 2, 1, "up")
    assert 100 <= body["oldest_overdue_seconds"] <= 200
    text = response.content.decode()
    for private in (family.mother.email, family.patient.first_name, family.patient.last_name):
        assert private not in text
    assert response["Cache-Control"].startswith("max-age=0")


def test_health_is_503_during_an_outage_past_the_threshold(client, settings):
    """GIVEN the relay down for 20 minutes and reminders due for 20 minutes THEN 503 with
    both problems named (what an uptime monitor pages on)."""
    settings.HEALTH_MAX_OVERDUE_SECONDS = settings.HEALTH_MAX_RELAY_DOWN_SECONDS = 600
    since = timezone.now() - dt.timedelta(minutes=20)
    due_reminders(5, at=since)
    breaker.trip(since, "ConnectionRefusedError: [Errno 111] Connection refused")
    response = client.get("/health/")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "failing"
    assert body["problems"] == ["outbox_overdue", "relay_down"]
    assert body["relay"] == "down" and body["relay_down_seconds"] >= 1200
    assert body["relay_down_since"] == since.isoformat()


def test_health_is_503_past_the_failed_threshold(client, settings):
    settings.HEALTH_MAX_FAILED_24H = 2
    due_reminders(3, at=timezone.now() + dt.timedelta(hours=1))
    Reminder.objects.update(status=Status.FAILED)
    body = client.get("/health/").json()
    assert body["problems"] == ["failed_24h"]


def test_health_is_cheap(client, django_assert_max_num_queries):
    due_reminders(50)
    breaker.relay()  # created by the first worker run
    with django_assert_max_num_queries(6):  # oldest, pending, due, failed, stuck, relay
        client.get("/health/")


def test_metrics_from_outside_without_the_token_are_refused(client, settings):
    settings.METRICS_TOKEN = "s3cret-token-for-tests"
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    wrong = {"HTTP_AUTHORIZATION": "Bearer nope"}
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", **wrong).status_code == 403


def test_metrics_with_the_token_or_from_the_network_expose_the_gauges(client, settings):
    settings.METRICS_TOKEN = "s3cret-token-for-tests"
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    due_reminders(4)
    breaker.trip(timezone.now(), "ConnectionRefusedError")
    good = {"HTTP_AUTHORIZATION": "Bearer s3cret-token-for-tests"}
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", **good)
    text = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert "waypoint_outbox_due 4.0" in text and "waypoint_relay_up 0.0" in text
    assert "waypoint_outbox_oldest_overdue_seconds" in text
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_metrics_are_loopback_only_by_default(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 403


def test_health_and_metrics_report_the_text_provider_on_its_own(client, settings):
    """GIVEN the text provider down for 20 minutes and the mail relay up THEN /health/ is 503
    naming `sms_relay_down` only, and /metrics says mail up, texts down."""
    settings.HEALTH_MAX_RELAY_DOWN_SECONDS = 600
    since = timezone.now() - dt.timedelta(minutes=20)
    breaker.relay()  # the mail relay's row, up
    breaker.trip(since, "TwilioRestException: HTTP 503", relay_id=SMS_RELAY)
    body = client.get("/health/").json()
    assert body["problems"] == ["sms_relay_down"] and body["status"] == "failing"
    assert (body["relay"], body["relay_down_seconds"], body["relay_down_since"]) == ("up", 0, None)
    assert body["sms_relay"] == "down" and body["sms_relay_down_seconds"] >= 1200
    assert body["sms_relay_down_since"] == since.isoformat()
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert "waypoint_relay_up 1.0" in text and "waypoint_sms_relay_up 0.0" in text
    assert "waypoint_outbox_sms_relay_down_seconds 120" in text  # 1200 s and a little


def test_health_reports_the_text_provider_up_before_its_first_use(client):
    body = client.get("/health/").json()
    assert (body["sms_relay"], body["sms_relay_down_seconds"], body["problems"]) == ("up", 0, [])


def test_breaker_log_lines_name_the_relay(caplog, settings):
    """The text provider's outage logs as "text provider", the mail relay's as "mail relay"."""
    settings.NOTIFICATIONS_RELAY_ALERT_SECONDS = 600
    start = timezone.now()
    with caplog.at_level(logging.INFO, logger="notifications.breaker"):
        breaker.trip(start, "HTTP 503", relay_id=SMS_RELAY)
        breaker.trip(start, "Connection refused")
        late = start + dt.timedelta(minutes=11)
        assert not breaker.may_send(late, lambda: "still 503", relay_id=SMS_RELAY)
        breaker.recovered(late + dt.timedelta(minutes=5), relay_id=SMS_RELAY)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "text provider down, sending paused: HTTP 503"
    assert lines[1] == "mail relay down, sending paused: Connection refused"
    assert any(m.startswith("text provider down for 0:11:00") for m in lines)
    assert any(m.startswith("text provider probe failed (2 in a row)") for m in lines)
    assert lines[-1] == "text provider back after 0:16:00"
    assert not any("mail relay" in m for m in lines[2:])
