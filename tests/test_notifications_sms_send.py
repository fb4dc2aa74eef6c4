"""Texts through the real Twilio SDK against a local fake of Twilio's API (tests/fake_twilio.py):
sending, and the faults of issue 16 item 4, one dispatch step at a time under frozen time.

GIVEN a mother with a confirmed number and a text due now
WHEN  the provider answers ok, 429/5xx, nothing at all, or refuses the number
THEN  the text goes out once (the same idempotency key on every try), transient errors back
      off, an outage trips the text provider's breaker (not the mail relay's) and spends no
      attempt, a refused number stops texts and shows on the coordinator's worklist.
"""

import datetime as dt
import time

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import breaker, dispatch, worklist
from notifications.models import (
    MAIL_RELAY,
    SMS_RELAY,
    CancelReason,
    Channel,
    DeliveryAttempt,
    Kind,
    NumberEvent,
    Outcome,
    Relay,
    RelayState,
    Reminder,
    Status,
)
from notifications.sms.dispatch import dispatch_texts
from notifications.sms.models import NumberStatus, TextNumber
from tests import factories as f
from tests.factories_sms import MOBILE, outbox, text_row, texting_family, twilio  # noqa: F401

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 12, 1, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _later(frozen, **delta):
    frozen.move_to(timezone.now() + dt.timedelta(**delta))


def test_a_text_goes_out_through_the_sdk_once_with_its_key(twilio):  # noqa: F811
    family = texting_family(stage_channel="sms")
    row = text_row(family)
    totals = dispatch_texts()
    row.refresh_from_db()
    assert totals.sent == 1 and row.status == Status.SENT
    [sent] = twilio.delivered
    assert sent["to"] == MOBILE and sent["key"] == row.key
    assert row.message_id == sent["sid"]
    assert sent["body"].startswith("Waypoint: there is news for your family. Details: ")
    assert "Mia" not in sent["body"]
    [attempt] = DeliveryAttempt.objects.all()
    assert attempt.outcome == Outcome.SENT and attempt.to_email == MOBILE
    assert dispatch_texts().claimed == 0  # nothing twice


def test_email_dispatch_leaves_texts_alone(twilio, settings):  # noqa: F811
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    row = text_row(texting_family(stage_channel="sms"))
    assert dispatch.dispatch_due().claimed == 0
    row.refresh_from_db()
    assert row.status == Status.PENDING and not mail.outbox and not twilio.requests


@pytest.mark.parametrize("answer", ["429", "500"])
def test_429_and_5xx_back_off_then_send_once_with_the_same_key(twilio, frozen, answer):  # noqa: F811
    row = text_row(texting_family(stage_channel="sms"))
    twilio.script = [answer, answer]
    dispatch_texts()
    row.refresh_from_db()
    assert row.status == Status.PENDING and row.attempts == 1
    assert row.send_at >= timezone.now() + dt.timedelta(seconds=30)  # 60 s base, jittered
    assert dispatch_texts().claimed == 0  # not before its time
    _later(frozen, minutes=1, seconds=1)
    dispatch_texts()
    row.refresh_from_db()
    assert row.attempts == 2 and row.status == Status.PENDING
    assert row.send_at - timezone.now() >= dt.timedelta(seconds=60)  # doubled
    _later(frozen, minutes=3)
    dispatch_texts()
    row.refresh_from_db()
    assert row.status == Status.SENT and row.attempts == 3
    assert [r["key"] for r in twilio.requests] == [row.key] * 3
    assert len(twilio.delivered) == 1
    outcomes = list(DeliveryAttempt.objects.values_list("outcome", "smtp_code"))
    code = 20429 if answer == "429" else 20500
    assert outcomes == [(Outcome.RETRY, code), (Outcome.RETRY, code), (Outcome.SENT, None)]


@pytest.mark.parametrize("fault", ["down", "drop"])
def test_provider_down_trips_its_own_breaker_spends_nothing_and_drains_later(
    twilio,  # noqa: F811
    frozen,
    fault,
):
    family = texting_family(stage_channel="sms")
    rows = [text_row(family, subject=f"s{i}") for i in range(3)]
    if fault == "down":
        twilio.stop()
    else:
        twilio.script = ["drop"]
    totals = dispatch_texts()
    assert totals.sent == 0 and totals.deferred == 1
    sms_relay = Relay.objects.get(pk=SMS_RELAY)
    assert sms_relay.state == RelayState.DOWN
    assert breaker.relay(MAIL_RELAY).state == RelayState.UP  # email goes on
    assert all(r.attempts == 0 for r in Reminder.objects.all())
    assert set(Reminder.objects.values_list("status", flat=True)) == {Status.PENDING}
    assert dispatch_texts().claimed == 0  # paused for everyone
    if fault == "down":
        twilio.start()
    _later(frozen, minutes=10)
    totals = dispatch_texts()
    assert totals.sent == 3
    assert Relay.objects.get(pk=SMS_RELAY).state == RelayState.UP
    assert {d["key"] for d in twilio.delivered} == {r.key for r in rows}
    assert len(twilio.delivered) == 3


def test_an_answer_lost_in_a_timeout_is_resent_with_the_same_key_and_delivered_once(
    twilio,  # noqa: F811
    frozen,
    settings,
):
    """The provider accepted the text but its answer came after our timeout: the row is sent
    again later with the same key, the provider drops the duplicate, the family gets one."""
    settings.SMS_TIMEOUT_SECONDS = 0.3
    twilio.script, twilio.delay = ["slow"], 0.6
    row = text_row(texting_family(stage_channel="sms"))
    dispatch_texts()
    time.sleep(0.5)  # the fake finishes accepting
    row.refresh_from_db()
    assert row.status == Status.PENDING and row.attempts == 0
    assert len(twilio.delivered) == 1
    _later(frozen, minutes=10)
    dispatch_texts()
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert [r["key"] for r in twilio.requests] == [row.key, row.key]
    assert len(twilio.delivered) == 1 and row.message_id == twilio.delivered[0]["sid"]
    deferred, sent = DeliveryAttempt.objects.order_by("pk")
    assert deferred.outcome == Outcome.DEFERRED and sent.outcome == Outcome.SENT


@pytest.mark.parametrize(
    ("answer", "status"),
    [("invalid", NumberStatus.INVALID), ("unsubscribed", NumberStatus.UNSUBSCRIBED)],
)
def test_a_refused_number_stops_texts_goes_back_to_email_and_shows_on_the_worklist(
    twilio,  # noqa: F811
    answer,
    status,
    center_b,
):
    family = texting_family(stage_channel="sms", lab_channel="sms")
    family.lab(dt.date(2025, 12, 4))
    from notifications import services

    services.reconcile([family.patient.pk])
    planned = Reminder.objects.get(kind=Kind.LAB_REMINDER)
    assert planned.channel == Channel.SMS
    first, second = text_row(family, subject="a"), text_row(family, subject="b")
    twilio.script = [answer]
    totals = dispatch_texts()
    assert totals.failed == 1 and totals.skipped == 1 and len(twilio.requests) == 1
    first.refresh_from_db(), second.refresh_from_db()
    assert (
        first.status == Status.FAILED and "2121" in first.last_error or "21610" in first.last_error
    )
    assert second.status == Status.CANCELLED and second.cancel_reason == CancelReason.NO_NUMBER
    number = TextNumber.objects.get(guardian=family.mother)
    assert number.status == status and not number.can_text
    assert NumberEvent.objects.filter(guardian=family.mother, event=str(status)).exists()
    # The lab reminder goes by email now; the text for it is cancelled.
    planned.refresh_from_db()
    assert planned.status == Status.CANCELLED
    assert Reminder.objects.get(kind=Kind.LAB_REMINDER, channel=Channel.EMAIL).status == "pending"
    # The coordinator of the center sees it; another center's does not.
    rows = list(worklist.refused_numbers(family.coordinator).rows)
    assert [r.guardian_id for r in rows] == [family.mother.pk]
    other = f.CoordinatorFactory(center=center_b)
    assert not list(worklist.refused_numbers(other).rows)


def test_quiet_hours_hold_a_text_until_they_end(twilio):  # noqa: F811
    family = texting_family(stage_channel="sms", quiet_start=dt.time(8), quiet_end=dt.time(12))
    row = text_row(family)  # due at 10:00 New York, inside 08:00-12:00
    totals = dispatch_texts()
    row.refresh_from_db()
    assert totals.deferred == 1 and not twilio.requests
    assert row.status == Status.PENDING and row.attempts == 0
    assert row.send_at == dt.datetime(2025, 12, 1, 17, 0, tzinfo=dt.UTC)  # 12:00 New York


def test_a_text_whose_day_passed_is_cancelled_not_sent(twilio):  # noqa: F811
    family = texting_family(lab_channel="sms")
    lab = family.lab(dt.date(2025, 11, 29))
    row = text_row(family, kind=Kind.LAB_REMINDER, due_on=dt.date(2025, 11, 29), scheduled_lab=lab)
    dispatch_texts()
    row.refresh_from_db()
    assert row.status == Status.CANCELLED and row.cancel_reason == CancelReason.DAY_PASSED
    assert not twilio.requests


def test_a_number_that_replied_stop_after_planning_gets_nothing(twilio):  # noqa: F811
    family = texting_family(stage_channel="sms")
    row = text_row(family)
    TextNumber.objects.filter(guardian=family.mother).update(status=NumberStatus.STOPPED)
    dispatch_texts()
    row.refresh_from_db()
    assert row.status == Status.CANCELLED and row.cancel_reason == CancelReason.NO_NUMBER
    assert not twilio.requests


def test_a_batch_of_texts_reads_once_and_writes_one_statement_per_text(twilio):  # noqa: F811
    """N+1 guard: the batch's reads (rows, numbers, preferences) do not grow with its size."""

    def run(n):
        family = texting_family(stage_channel="sms")
        for i in range(n):
            text_row(family, subject=f"q{n}-{i}")
        with CaptureQueriesContext(connection) as queries:
            assert dispatch_texts().sent == n
        return [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]

    breaker.relay(SMS_RELAY)  # the breaker's row exists (its creation is not the batch's)
    small, large = run(2), run(10)
    # per text: its attempt row (outcome unknown) before the provider gets it; the answers
    # of a fast provider are written together (outcomes.Recorder, at least every 0.1 s)
    assert len(large) - len(small) == 8
    reads = [sql for sql in large if sql.startswith("SELECT")]
    assert len(reads) == len([sql for sql in small if sql.startswith("SELECT")])
