"""Dispatch against a real SMTP server (aiosmtpd in-process), one step at a time in frozen time."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import breaker, dispatch, emails, lease, outcomes, services
from notifications.models import DeliveryAttempt, Kind, Outcome, Reminder, Status
from tests.factories_notifications import Family, due_reminders, smtp  # noqa: F401

START = dt.datetime(2025, 3, 8, 5, tzinfo=dt.UTC)  # Saturday 00:00 in New York


def test_a_demo_familys_day_arrives_once_each_at_the_right_local_hour(db, smtp):  # noqa: F811
    """GIVEN a family in New York and London WHEN dispatch runs every 15 minutes for a day
    THEN each reminder arrives once, at 09:00 on its recipient's wall clock."""
    family = Family()
    family.lab(dt.date(2025, 3, 9))
    family.lab(dt.date(2025, 3, 9), kind="visit")
    family.step(dt.date(2025, 3, 9))
    arrivals = []
    with time_machine.travel(START, tick=False) as clock:
        services.reconcile()
        for _ in range(24 * 4):
            before = len(smtp.sink.messages)
            dispatch.dispatch_due()
            arrivals += [
                (m["To"], timezone.now(), m["Subject"]) for m in smtp.sink.messages[before:]
            ]
            clock.shift(dt.timedelta(minutes=15))
    ids = smtp.sink.ids()
    assert len(ids) == len(set(ids)), "no duplicates"
    zones = {family.mother.email: "America/New_York", family.father.email: "Europe/London"}
    family_mail = [a for a in arrivals if a[0] in zones]
    assert len(family_mail) == 4, arrivals  # (one draw: lab + visit, one step) x 2 guardians
    for to, at, _subject in family_mail:
        local = at.astimezone(ZoneInfo(zones[to]))
        assert (local.date(), local.hour) == (dt.date(2025, 3, 8), 9), (to, local)
    assert Reminder.objects.filter(status=Status.SENT, kind=Kind.LAB_REMINDER).count() == 2


def test_sent_mail_has_text_html_unsubscribe_and_stable_message_id(db, smtp):  # noqa: F811
    family = due_reminders(1)
    dispatch.dispatch_due()
    [message] = smtp.sink.messages
    row = Reminder.objects.get(patient=family.patient)
    assert row.status == Status.SENT and row.message_id == message["Message-ID"]
    assert message["Message-ID"] == emails.message_id(row.key)
    unsubscribe = "".join(message["List-Unsubscribe"].split())
    assert unsubscribe.startswith("<http://127.0.0.1:8000/portal/preferences/")
    types = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= types
    [attempt] = DeliveryAttempt.objects.filter(reminder=row)
    assert (attempt.outcome, attempt.to_email) == (Outcome.SENT, family.mother.email)
    assert (attempt.message_id, attempt.worker) == (row.message_id, dispatch.WORKER)
    assert attempt.attempted_at <= attempt.completed_at == row.sent_at
    assert attempt.smtp_code is None and attempt.resend_of is None


def test_451_retries_with_backoff_then_delivers(db, smtp):  # noqa: F811
    due_reminders(3)
    smtp.sink.refuse["*"] = "451 4.3.0 Try again later"
    with time_machine.travel(timezone.now(), tick=False) as clock:
        dispatch.dispatch_due()
        rows = list(Reminder.objects.all())
        assert {(r.status, r.attempts) for r in rows} == {(Status.PENDING, 1)}
        assert all(30 <= (r.send_at - timezone.now()).total_seconds() <= 60 for r in rows)
        smtp.sink.refuse.clear()
        clock.shift(dt.timedelta(minutes=2))
        dispatch.dispatch_due()
    assert set(Reminder.objects.values_list("status", flat=True)) == {Status.SENT}
    assert len(smtp.sink.messages) == 3
    assert DeliveryAttempt.objects.filter(outcome=Outcome.RETRY, smtp_code=451).count() == 3


def test_550_fails_at_once_and_shows_for_the_centers_coordinators(db, smtp):  # noqa: F811
    family = due_reminders(2)
    smtp.sink.refuse[family.mother.email] = "550 5.1.1 No such user"
    dispatch.dispatch_due()
    rows = Reminder.objects.all()
    assert {(r.status, r.attempts) for r in rows} == {(Status.FAILED, 1)}
    assert DeliveryAttempt.objects.filter(outcome=Outcome.FAILED, smtp_code=550).count() == 2
    assert services.failed_reminders_for_centers([family.center.pk]).count() == 2
    assert services.failed_reminders_for_centers([family.center.pk + 1000]).count() == 0


def test_smtp_down_then_up_delivers_everything_once_spending_no_attempt(db, smtp):  # noqa: F811
    """GIVEN 30 due rows and the relay down WHEN dispatch runs every minute THEN the first
    run puts its batch back untouched and trips the breaker, later runs claim nothing until
    the probe finds the relay up; every row then goes out once, none spent an attempt."""
    due_reminders(30)
    smtp.stop()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        totals = dispatch.dispatch_due()
        assert (totals.sent, totals.retried, totals.deferred) == (0, 0, 1)
        assert set(Reminder.objects.values_list("status", "attempts")) == {(Status.PENDING, 0)}
        for _ in range(3):
            clock.shift(dt.timedelta(minutes=1))
            assert dispatch.dispatch_due().claimed == 0  # paused, or one probe that failed
        smtp.start()
        for _ in range(12):
            clock.shift(dt.timedelta(minutes=10))
            dispatch.dispatch_due()
    ids = smtp.sink.ids()
    assert len(ids) == len(set(ids)) == 30
    assert set(Reminder.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}
    assert not DeliveryAttempt.objects.filter(outcome=Outcome.RETRY).exists()


def test_attempts_run_out_after_the_last_retry(db, smtp):  # noqa: F811
    due_reminders(1)
    smtp.sink.refuse["*"] = "451 4.3.0 Try again later"
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(dispatch.MAX_ATTEMPTS + 2):
            dispatch.dispatch_due()
            clock.shift(dispatch.RETRY_CAP * 2)
    row = Reminder.objects.get()
    assert (row.status, row.attempts) == (Status.FAILED, dispatch.MAX_ATTEMPTS)


def test_a_row_stuck_in_sending_past_its_lease_is_recovered(db, smtp):  # noqa: F811
    due_reminders(2)
    token = dispatch.claim_batch(10, timezone.now())
    assert token and Reminder.objects.filter(status=Status.SENDING).count() == 2
    dispatch.dispatch_due()  # lease still valid: nothing happens
    assert smtp.sink.messages == []
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=lease.seconds() + 1)):
        dispatch.dispatch_due()
    assert len(smtp.sink.messages) == 2
    assert Reminder.objects.filter(status=Status.SENT).count() == 2


def test_a_lab_done_after_claim_is_not_sent(db, smtp):  # noqa: F811
    family = Family(father_tz=None)
    lab = family.lab(timezone.localdate() + dt.timedelta(days=1))
    services.reconcile([family.patient.pk], now=timezone.now())
    Reminder.objects.update(send_at=timezone.now())
    lab.done_at = timezone.now()
    lab.save()
    dispatch.dispatch_due()
    assert smtp.sink.messages == []
    assert set(Reminder.objects.values_list("status", flat=True)) == {Status.CANCELLED}


def _dispatch_queries(n, batch):
    """Queries of a dispatch run that sends `n` rows in batches of `batch`."""
    Reminder.objects.all().delete()
    due_reminders(n)
    breaker.relay()  # the breaker's row, created by the first run ever
    with CaptureQueriesContext(connection) as queries:
        totals = dispatch.dispatch_due(max_batches=n // batch, batch_size=batch)
    assert totals.sent == n
    return len(queries)


def test_queries_per_batch_are_constant_whatever_its_size(db, smtp, monkeypatch):  # noqa: F811
    """GIVEN 2 batches of 5 rows, then 2 of 60 WHEN dispatched THEN the same queries per
    batch, none per message: breaker, lease recovery, claim (one statement on PostgreSQL),
    fetch, two look-ups, ONE statement for the attempt rows before the first send and one
    for the answers after (here the batch is quicker than FLUSH_SECONDS: one write at its
    end)."""
    monkeypatch.setattr(outcomes, "FLUSH_SECONDS", 3600)
    monkeypatch.setattr(outcomes, "SLOW_SEND_SECONDS", 3600)  # no send counts as slow
    small, large = _dispatch_queries(10, 5), _dispatch_queries(120, 60)
    postgres = connection.vendor == "postgresql"
    # SQLite: the answers are two executemany in a savepoint (inside the test's transaction).
    assert small == large == 2 * (8 if postgres else 14), (small, large)
    assert len(smtp.sink.messages) == 130


def test_answers_are_written_at_least_every_flush_interval(db, smtp, monkeypatch):  # noqa: F811
    """GIVEN a flush interval shorter than one send WHEN a batch of 6 is dispatched THEN
    the answers are written as they come (one write per send after the first), not
    held to the end of the batch."""
    monkeypatch.setattr(outcomes, "SLOW_SEND_SECONDS", 3600)  # no send counts as slow
    monkeypatch.setattr(outcomes, "FLUSH_SECONDS", 0)
    slow, fast = _dispatch_queries(6, 6), None
    monkeypatch.setattr(outcomes, "FLUSH_SECONDS", 3600)
    fast = _dispatch_queries(6, 6)
    per_write = 1 if connection.vendor == "postgresql" else 4
    assert slow - fast == 5 * per_write, (slow, fast)


def test_one_smtp_connection_serves_every_batch_of_a_run(db, smtp, monkeypatch):  # noqa: F811
    import smtplib

    connects = []
    original = smtplib.SMTP.connect
    monkeypatch.setattr(
        smtplib.SMTP, "connect", lambda self, *a, **k: connects.append(a) or original(self, *a, **k)
    )
    due_reminders(30)
    totals = dispatch.dispatch_due(batch_size=10)
    assert totals.sent == 30 and len(connects) == 1


def test_a_kept_connection_the_server_dropped_is_reopened_before_sending(db, smtp):  # noqa: F811
    """GIVEN a connection kept from the previous batch WHEN the server restarted meanwhile
    THEN the next batch reopens it: every row sent, none put back to retry."""
    from django.core.mail import get_connection

    due_reminders(4)
    backend, totals = get_connection(), dispatch.Totals()
    dispatch.send_batch(dispatch.claim_batch(2, timezone.now()), totals, backend)
    smtp.stop()
    smtp.start()
    dispatch.send_batch(dispatch.claim_batch(2, timezone.now()), totals, backend)
    backend.close()
    assert (totals.sent, totals.retried) == (4, 0)
    assert len(smtp.sink.messages) == 4


def test_a_row_without_an_address_fails_instead_of_counting_as_sent(db, smtp):  # noqa: F811
    family = due_reminders(1)
    type(family.mother).objects.filter(pk=family.mother.pk).update(email="")
    totals = dispatch.dispatch_due()
    row = Reminder.objects.get()
    assert (totals.failed, row.status, row.last_error) == (1, Status.FAILED, "no email address")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_a_sends_outcome_finds_its_outbox_row_by_primary_key(db):
    """GIVEN a claimed batch, planner statistics taken while no row was being sent, as most
    of autovacuum's are WHEN the statement
    that records the answers is planned THEN it reads the rows by their primary key, not
    by scanning every row being sent (the partial lease index): each row's own cost."""
    due_reminders(30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notifications_reminder")  # usually, nothing is being sent
    token = dispatch.claim_batch(30, timezone.now())
    row = outcomes.held(token).first()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a small table's scan: as a large one
        now = timezone.now()
        rows = [[row.pk], ["sent"], [now], [now], ["<m@x>"], [1], [""], [now]]
        attempts = [[1], ["sent"], [now], [now], [""], [None]]
        sql = outcomes._FLUSH_SQL.format(**outcomes._TABLES)
        cursor.execute("EXPLAIN " + sql, [*rows, token, *attempts])
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "notifications_reminder_pkey" in plan and "reminder_lease" not in plan, plan
