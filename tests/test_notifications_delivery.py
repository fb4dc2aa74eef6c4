"""Delivery when the relay is down or a worker dies mid-send, one step at a time in frozen time
(issue 14): the breaker, the outage backlog, the attempt log's "outcome unknown"."""

import datetime as dt
import logging
import time
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from notifications import breaker, dispatch, lease, outcomes
from notifications.models import (
    CancelReason,
    DeliveryAttempt,
    Kind,
    Outcome,
    Preference,
    Relay,
    RelayState,
    Reminder,
    Status,
)
from tests.conftest import otp_login
from tests.factories_notifications import Family, due_reminders, smtp  # noqa: F401

pytestmark = pytest.mark.django_db
NEW_YORK, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")


def test_a_421_pauses_everyone_and_spends_no_attempt(smtp):  # noqa: F811
    """GIVEN 30 due rows WHEN the relay answers 421 THEN the breaker trips: the message tried
    records "deferred", no row spends an attempt, and nobody claims rows until the retry."""
    due_reminders(30)
    smtp.sink.refuse["*"] = "421 4.7.0 Too busy, closing"
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = dispatch.dispatch_due()
        assert (first.claimed, first.deferred, first.retried) == (25, 1, 0)
        assert set(Reminder.objects.values_list("status", "attempts")) == {(Status.PENDING, 0)}
        [attempt] = DeliveryAttempt.objects.all()
        assert (attempt.outcome, attempt.smtp_code) == (Outcome.DEFERRED, 421)
        tried = attempt.reminder
        tried.refresh_from_db()
        others = Reminder.objects.exclude(pk=tried.pk).values_list("send_at", flat=True)
        assert tried.send_at > max(others), "the message tried waits behind the others"
        relay = breaker.relay()
        assert relay.state == RelayState.DOWN and relay.down_since == timezone.now()
        clock.shift(dt.timedelta(seconds=5))
        assert dispatch.dispatch_due().claimed == 0, "another worker waits too"
    assert DeliveryAttempt.objects.count() == 1


def test_one_probe_at_a_time_and_failed_probes_back_off():
    """GIVEN the relay down past its retry time WHEN two workers look at once THEN only one
    probes; a failed probe doubles the wait (capped); a good one reopens sending."""
    start = timezone.now()
    breaker.trip(start, "ConnectionRefusedError")
    probes, inner = [], []

    def probe():
        probes.append(1)
        inner.append(breaker.may_send(later, lambda: probes.append(1)))  # a second worker
        return "ConnectionRefusedError"

    later = start + dt.timedelta(seconds=31)
    assert breaker.may_send(later, probe) is False
    assert probes == [1] and inner == [False]
    relay = breaker.relay()
    assert relay.failures == 2 and relay.probe_until is None
    assert 45 <= (relay.retry_at - later).total_seconds() <= 60
    assert breaker.may_send(relay.retry_at, lambda: None) is True
    assert breaker.relay().state == RelayState.UP


def test_the_wait_between_probes_is_capped(settings):
    settings.NOTIFICATIONS_BREAKER_MAX_SECONDS = 300
    assert breaker.wait_after(20) <= dt.timedelta(seconds=300)
    assert breaker.wait_after(1) >= dt.timedelta(seconds=22)


START = dt.datetime(2025, 6, 10, 22, tzinfo=dt.UTC)  # 18:00 New York, 23:00 London


def _outage_world():
    """A mother in New York (quiet 19:30-07:00) and a father in London; 12 stage notes for
    each, due one every 10 minutes of a 2-hour outage, and the father's reminder of a lab on
    10 June (his date at the start; 11 June an hour later)."""
    family = Family()
    Preference.objects.create(
        guardian=family.mother, patient=family.patient,
        quiet_start=dt.time(19, 30), quiet_end=dt.time(7),
    )  # fmt: skip
    rows = []
    for guardian in (family.mother, family.father):
        for i in range(12):
            rows.append(_row(family, guardian, Kind.STAGE_CHANGED, f"note{i}", START.date(),
                             START + dt.timedelta(minutes=10 * i)))  # fmt: skip
    lab = family.lab(START.date())
    rows.append(
        _row(family, family.father, Kind.LAB_REMINDER, f"lab{lab.pk}", START.date(),
             START, scheduled_lab=lab)
    )  # fmt: skip
    return family, rows


def _row(family, guardian, kind, subject, day, at, **extra):
    return Reminder.objects.create(
        key=f"g{guardian.pk}:{kind}:{subject}:{day}", kind=kind, guardian=guardian,
        center=family.center, patient=family.patient, journey=family.journey, due_on=day,
        send_at=at, time_zone=guardian.time_zone, **extra,
    )  # fmt: skip


def test_a_two_hour_outage_fails_nothing_and_drains_oldest_first_in_quiet_hours(smtp):  # noqa: F811
    """GIVEN 25 reminders falling due during a 2-hour relay outage WHEN dispatch runs every
    minute through it THEN none failed and none spent an attempt; once the relay is back the
    backlog goes oldest first, the New York mother's after her quiet hours (07:00), and the
    lab reminder whose day passed in London meanwhile is cancelled with that reason."""
    family, rows = _outage_world()
    smtp.stop()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(120):
            dispatch.dispatch_due()
            clock.shift(dt.timedelta(minutes=1))
        during = Counter(Reminder.objects.values_list("status", "attempts"))
        smtp.start()
        arrivals = []
        for _ in range(15 * 12):
            before = len(smtp.sink.messages)
            dispatch.dispatch_due()
            arrivals += [
                (m["To"], m["Message-ID"], timezone.now()) for m in smtp.sink.messages[before:]
            ]
            clock.shift(dt.timedelta(minutes=5))
    assert during == {(Status.PENDING, 0): 25}, "two hours down: nothing failed, nothing spent"
    assert not Reminder.objects.filter(status=Status.FAILED).exists()
    lab_row = Reminder.objects.get(kind=Kind.LAB_REMINDER)
    assert (lab_row.status, lab_row.cancel_reason) == (Status.CANCELLED, CancelReason.DAY_PASSED)
    by_id = {r.message_id: r for r in Reminder.objects.filter(status=Status.SENT)}
    assert len(arrivals) == len(by_id) == 24, "each once"
    father = [by_id[i].send_at for to, i, _at in arrivals if to == family.father.email]
    assert father == sorted(father) and len(father) == 12, "oldest first"
    mother = [at.astimezone(NEW_YORK) for to, _i, at in arrivals if to == family.mother.email]
    assert len(mother) == 12 and all(dt.time(7) <= at.time() < dt.time(19, 30) for at in mother)
    deferred = DeliveryAttempt.objects.filter(outcome=Outcome.DEFERRED, error="quiet hours")
    assert deferred.count() == 12
    assert set(Reminder.objects.filter(status=Status.SENT).values_list("attempts", flat=True)) == {
        1
    }


class Killed(BaseException):
    """Stands for SIGKILL between the relay's acceptance and the record."""


def test_a_crash_after_the_relay_accepted_reads_unknown_and_the_resend_points_to_it(
    smtp,  # noqa: F811
    client,
    center_a,
    coordinator_a,
    monkeypatch,
):
    """GIVEN a worker that dies after the relay accepted a message, before recording it
    WHEN its lease runs out and another worker sends THEN the first attempt reads "outcome
    unknown", the re-send (same Message-ID) points to it, and the delivery log shows both."""
    family = due_reminders(3, center=center_a)
    finish = outcomes.Recorder.finish

    def die_on_second(self, row, attempt, outcome, now, *args):
        if len(smtp.sink.messages) == 2:
            raise Killed
        return finish(self, row, attempt, outcome, now, *args)

    monkeypatch.setattr(outcomes.Recorder, "finish", die_on_second)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        with pytest.raises(Killed):
            dispatch.dispatch_due()
        monkeypatch.setattr(outcomes.Recorder, "finish", finish)
        clock.shift(dt.timedelta(seconds=lease.seconds() + 1))
        totals = dispatch.dispatch_due()
    assert totals.sent == 2, "the one in flight and the one not tried"
    ids = Counter(smtp.sink.ids())
    assert len(ids) == 3 and sorted(ids.values()) == [1, 1, 2], "one duplicate, same Message-ID"
    [unknown] = DeliveryAttempt.objects.filter(outcome=Outcome.UNKNOWN)
    [resend] = DeliveryAttempt.objects.filter(resend_of=unknown)
    assert (resend.outcome, resend.message_id) == (Outcome.SENT, unknown.message_id)
    assert unknown.completed_at is None
    otp_login(client, coordinator_a)
    url = reverse("admin:notifications_delivery_log", args=[family.patient.public_id])
    page = client.get(url).content.decode()
    assert "Handed to the relay: outcome unknown" in page
    # Staff read times in their center's zone (journey.security.staff_zone).
    zone = ZoneInfo(coordinator_a.memberships.get().center.time_zone)
    first = timezone.localtime(unknown.attempted_at, zone)
    assert f"re-send of the attempt of {first:%Y-%m-%d %H:%M:%S}" in page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="written meanwhile on PostgreSQL")
def test_a_send_slower_than_the_flush_has_the_answers_before_it_written(
    db,
    smtp,  # noqa: F811
    monkeypatch,
):
    """GIVEN answers kept for a bulk write and a 3rd send that hangs (a slow relay) WHEN the
    worker dies during it THEN the two answers before it were written meanwhile: only the
    hung message and the two never tried read "unknown" (no false "sent"), so a re-send
    repeats no message the relay had answered."""
    monkeypatch.setattr(outcomes, "FLUSH_SECONDS", 3600)  # no write between sends
    due_reminders(5)
    deliver, calls = dispatch._deliver, []

    def hang_on_third(*args):
        calls.append(1)
        if len(calls) == 3:
            time.sleep(0.3)
            raise Killed
        deliver(*args)

    monkeypatch.setattr(dispatch, "_deliver", hang_on_third)
    monkeypatch.setattr(outcomes.Recorder, "close", outcomes.Recorder.stop_writer)  # no finally
    with pytest.raises(Killed):
        dispatch.dispatch_due()
    log = Counter(DeliveryAttempt.objects.values_list("outcome", flat=True))
    rows = Counter(Reminder.objects.values_list("status", flat=True))
    assert log == {Outcome.SENT: 2, Outcome.UNKNOWN: 3}
    assert rows == {Status.SENT: 2, Status.SENDING: 3}


def test_a_dead_workers_rows_are_free_after_the_short_lease(settings):
    settings.NOTIFICATIONS_LEASE_SECONDS = 20
    now = timezone.now()
    assert lease.until(now) - now == dt.timedelta(seconds=20)
    beat = settings.CELERY_BEAT_SCHEDULE["reminders-dispatch"]["schedule"]
    assert lease.seconds() + beat <= 45, "re-sent within a minute, with room for the send"


def test_an_error_is_logged_once_and_a_banner_shows_past_the_alert_time(
    client, coordinator_a, caplog, settings
):
    """GIVEN the relay down for 11 minutes (alert after 10) WHEN workers keep looking THEN one
    ERROR line, and the coordinators' worklist shows the banner."""
    settings.NOTIFICATIONS_RELAY_ALERT_SECONDS = 600
    start = timezone.now() - dt.timedelta(minutes=11)
    breaker.trip(start, "ConnectionRefusedError: [Errno 111]")
    otp_login(client, coordinator_a)
    worklist = reverse("admin:tracker_worklist_changelist")
    with caplog.at_level(logging.ERROR, logger="notifications.breaker"):
        for _ in range(3):
            breaker.may_send(timezone.now(), lambda: "still down")
            Relay.objects.update(retry_at=timezone.now())
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "mail relay down for 0:11" in errors[0].getMessage()
    assert "The mail relay has not answered since" in client.get(worklist).content.decode()
    breaker.recovered(timezone.now())
    assert "The mail relay is working." in client.get(worklist).content.decode()


def test_a_batch_whose_lease_cannot_be_renewed_stops_at_half_and_releases_the_rest(
    smtp,  # noqa: F811
    settings,
    monkeypatch,
):
    """GIVEN a 0.6 s lease that the keeper cannot renew (database unreachable from its thread)
    and a relay taking 0.2 s a message WHEN a batch of 6 sends THEN it starts no send after
    half the lease: the rest goes back to the queue untouched, nothing is left in `sending`."""
    settings.NOTIFICATIONS_LEASE_SECONDS = 0.6
    monkeypatch.setattr(lease.Keeper, "_renew", lambda self: None)
    due_reminders(6)
    smtp.sink.delay = 0.2
    totals = dispatch.dispatch_due(max_batches=1)
    assert 1 <= totals.sent <= 2 and totals.sent + totals.released == 6
    assert Counter(Reminder.objects.values_list("status", "attempts")) == {
        (Status.SENT, 1): totals.sent,
        (Status.PENDING, 0): totals.released,
    }


def test_a_lab_reminder_cancelled_because_its_day_passed_stays_cancelled(smtp):  # noqa: F811
    """GIVEN a lab reminder planned for yesterday's lab (still wanted for the plan's day of
    grace) WHEN dispatch cancels it ("day passed") and the sweep runs again THEN the sweep
    does not revive it: no mail, one "skipped" attempt, however many sweeps."""
    from notifications import services

    with time_machine.travel(dt.datetime(2025, 6, 11, 15, tzinfo=dt.UTC), tick=False):
        family = Family(father_tz=None)
        family.lab(dt.date(2025, 6, 10))
        services.reconcile([family.patient.pk], now=timezone.now())
        row = Reminder.objects.get(kind=Kind.LAB_REMINDER)
        assert row.status == Status.PENDING and row.send_at <= timezone.now()
        for _ in range(3):
            dispatch.dispatch_due(kinds=[Kind.LAB_REMINDER])
            services.reconcile([family.patient.pk], now=timezone.now())
    row.refresh_from_db()
    assert (row.status, row.cancel_reason) == (Status.CANCELLED, CancelReason.DAY_PASSED)
    assert smtp.sink.messages == []
    assert DeliveryAttempt.objects.filter(reminder=row, outcome=Outcome.SKIPPED).count() == 1
