"""Issue 16 item 4 on real processes: Celery workers on PostgreSQL and Redis sending texts
through the real Twilio SDK to the local fake of its API (tests/fake_twilio.py), as the SMTP
faults are tested (tests/test_notifications_faults.py): a provider answering 429/5xx and
dropping connections, and a worker SIGKILLed after the provider accepted a text.

Locally they skip without the services; in CI (CI=true) a missing service fails the run.
"""

import signal
import time
from collections import Counter

import pytest

from notifications.models import DeliveryAttempt, Outcome, Reminder, Status
from tests.factories_sms import text_row, texting_family, twilio  # noqa: F401
from tests.fake_twilio import FROM, SID, TOKEN
from tests.test_notifications_services import (  # noqa: F401 (redis_db: a fixture)
    ROOT,
    _start_worker,
    _stop,
    _wait,
    redis_db,
    report,
    require_postgres,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _env(fake, **extra):
    # PYTHONPATH: the worker imports this checkout's code (the venv's editable install may
    # point at another checkout, which has no text messages).
    return {
        "PYTHONPATH": str(ROOT),
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM": FROM,
        "TWILIO_API_BASE": fake.base,
        "DISPATCH_RETRY_BASE_SECONDS": "0.2",
        "RELAY_BREAKER_BASE_SECONDS": "0.5",
        "RELAY_BREAKER_MAX_SECONDS": "1",
        **extra,
    }


def _drain(until, timeout, tick=0.5):
    """A dispatch_texts task every `tick` seconds (beat, compressed) until `until()`."""
    from notifications.tasks import dispatch_texts as task

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if until():
            return True
        task.delay()
        time.sleep(tick)
    return until()


def _all_sent():
    return not Reminder.objects.exclude(status=Status.SENT).exists()


def _stderr(worker):
    return worker.stderr.read1().decode() if worker.poll() is not None else ""


def _texts(n, broker):
    """n texts due now. The saves' hooks queued a re-plan, which would cancel these hand-made
    rows (no stage change stands behind them): the broker's queue is emptied."""
    family = texting_family(stage_channel="sms")
    rows = [text_row(family, subject=f"t{i}") for i in range(n)]
    broker.flushdb()
    return rows


def test_429_5xx_and_dropped_connections_lose_nothing_and_send_nothing_twice(
    twilio,  # noqa: F811
    redis_db,  # noqa: F811
):
    """GIVEN 12 texts and a provider answering 429, 500, dropping a connection and 429 again
    WHEN two workers take dispatch ticks THEN every text is delivered exactly once, and every
    try of a text carried the same idempotency key."""
    require_postgres()
    rows = _texts(12, redis_db)
    twilio.script = ["429", "500", "drop", "429", "500"]
    workers = [_start_worker(0, name, _env(twilio)) for name in ("sms-a", "sms-b")]
    try:
        assert _drain(_all_sent, 90), _stderr(workers[0])
    finally:
        for worker in workers:
            _stop(worker)
    delivered = Counter(d["key"] for d in twilio.delivered)
    tries = Counter(r["key"] for r in twilio.requests)
    attempts = Counter(DeliveryAttempt.objects.values_list("outcome", flat=True))
    report("sms-faults", texts=12, requests=len(twilio.requests), delivered=len(delivered),
           duplicates=sum(n - 1 for n in delivered.values()), attempts=dict(attempts))  # fmt: skip
    assert set(delivered) == {r.key for r in rows} and max(delivered.values()) == 1
    assert sum(tries.values()) == 12 + 5  # each fault cost exactly one more request
    assert attempts[Outcome.RETRY] == 4 and attempts[Outcome.DEFERRED] == 1
    assert attempts[Outcome.SENT] == 12


def test_sigkill_after_the_provider_accepted_resends_with_the_same_key_once(
    twilio,  # noqa: F811
    redis_db,  # noqa: F811
):
    """GIVEN 6 texts and a provider that accepts the 3rd and holds its answer WHEN the worker
    is SIGKILLed then and another starts THEN the 3rd reads "unknown", is sent again after the
    lease with the same key, and the provider delivers it once."""
    require_postgres()
    rows = _texts(6, redis_db)
    twilio.script, twilio.delay = ["ok", "ok", "hold"], 30
    env = _env(twilio, DISPATCH_LEASE_SECONDS="1.5")
    first = _start_worker(0, "sms-kill", env)
    try:
        from notifications.tasks import dispatch_texts as task

        task.delay()
        assert _wait(twilio.held.is_set, 60), _stderr(first)
        _stop(first, signal.SIGKILL)
    finally:
        _stop(first)
    held_key = twilio.requests[2]["key"]
    second = _start_worker(0, "sms-after", env)
    try:
        assert _drain(_all_sent, 60), _stderr(second)
    finally:
        _stop(second)
    delivered = Counter(d["key"] for d in twilio.delivered)
    assert set(delivered) == {r.key for r in rows} and max(delivered.values()) == 1
    assert [r["key"] for r in twilio.requests].count(held_key) == 2
    held = Reminder.objects.get(key=held_key)
    unknown, sent = DeliveryAttempt.objects.filter(reminder=held).order_by("pk")
    assert unknown.outcome == Outcome.UNKNOWN and sent.outcome == Outcome.SENT
    assert sent.resend_of_id == unknown.pk
