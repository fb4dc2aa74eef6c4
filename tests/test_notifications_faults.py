"""Issue 14 on real processes: Celery workers on PostgreSQL and Redis against an SMTP sink, with
a relay slower than the lease, a long outage, and a SIGKILL between the relay's acceptance and
the record. Times are compressed by configuration (the workers' environment).

Locally they skip without the services; in CI (CI=true) a missing service fails the run.
"""

import datetime as dt
import time
from collections import Counter

import pytest
from django.utils import timezone

from notifications import breaker
from notifications.models import DeliveryAttempt, Outcome, Reminder, Status
from tests.factories_notifications import due_reminders, smtp  # noqa: F401
from tests.test_notifications_services import (  # noqa: F401 (redis_db: a fixture)
    _start_worker,
    _stop,
    _wait,
    redis_db,
    report,
    require_postgres,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _drain(workers, until, timeout, tick=0.5):
    """Send a dispatch task every `tick` seconds (beat, compressed) until `until()`."""
    from notifications.tasks import dispatch_due as task

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


def test_a_relay_slower_than_the_lease_never_sends_twice(smtp, redis_db):  # noqa: F811
    """GIVEN a relay answering RCPT after 0.3 s and end-of-data after 0.4 s, a 1.5 s lease and
    one batch of 10 (7 s) WHEN two workers take dispatch ticks THEN no row is taken back from
    the live worker: every reminder is sent once, with one "sent" attempt."""
    require_postgres()
    due_reminders(10)
    smtp.sink.rcpt_delay, smtp.sink.delay = 0.3, 0.4
    env = {"DISPATCH_LEASE_SECONDS": "1.5"}
    workers = [_start_worker(smtp.port, name, env) for name in ("slow-a", "slow-b")]
    start = time.monotonic()
    try:
        assert _drain(workers, _all_sent, 60), _stderr(workers[0])
    finally:
        for worker in workers:
            _stop(worker)
    ids = Counter(smtp.sink.ids())
    attempts = Counter(DeliveryAttempt.objects.values_list("outcome", flat=True))
    drained = round(time.monotonic() - start, 1)
    report("slow-relay", rows=10, lease_s=1.5, per_message_s=0.7, drained_s=drained,
           delivered=len(ids), duplicates=sum(n - 1 for n in ids.values()),
           attempts=dict(attempts))  # fmt: skip
    assert len(ids) == 10 and max(ids.values()) == 1
    assert attempts == {Outcome.SENT: 10}


def test_a_long_outage_spends_no_attempt_fails_nothing_and_drains_oldest_first(
    smtp,  # noqa: F811
    redis_db,  # noqa: F811
    client,
    settings,
):
    """GIVEN 300 due reminders and the relay refusing connections for 6 s while two workers
    take a tick every 0.2 s (with retries 0.01 s apart, the eight attempts of the old code
    were gone in about a second: the outage is "hours" long in those units) THEN nothing
    failed and no attempt was spent; once the relay is back every reminder goes out once,
    the oldest first. /health/ (thresholds 2 s and 60 s here) answers 503 meanwhile."""
    require_postgres()
    settings.HEALTH_MAX_RELAY_DOWN_SECONDS, settings.HEALTH_MAX_OVERDUE_SECONDS = 2, 60
    due_reminders(300)
    now = timezone.now()
    for age, pk in enumerate(Reminder.objects.order_by("-pk").values_list("pk", flat=True)):
        Reminder.objects.filter(pk=pk).update(send_at=now - dt.timedelta(seconds=age))
    smtp.stop()
    env = {
        "DISPATCH_RETRY_BASE_SECONDS": "0.01",
        "RELAY_BREAKER_BASE_SECONDS": "0.2",
        "RELAY_BREAKER_MAX_SECONDS": "1",
    }
    workers = [_start_worker(smtp.port, name, env) for name in ("out-a", "out-b")]
    try:
        _drain(workers, lambda: False, 6, tick=0.2)
        during = Counter(Reminder.objects.values_list("status", "attempts"))
        response = client.get("/health/")
        snapshot = response.json()
        probes = DeliveryAttempt.objects.count()
        smtp.start()
        back = time.monotonic()
        assert _drain(workers, _all_sent, 60, tick=0.2), _stderr(workers[0])
        drained = time.monotonic() - back
    finally:
        for worker in workers:
            _stop(worker)
    ids = smtp.sink.ids()
    order = {r.message_id: r.send_at for r in Reminder.objects.all()}
    first = sorted(order[i] for i in ids[:50])
    oldest = sorted(order.values())[:100]
    report("outage", rows=300, during=dict(during), relay=snapshot["relay"],
           deferred_attempts=probes, drained_s=round(drained, 1), delivered=len(set(ids)),
           duplicates=len(ids) - len(set(ids)), health=snapshot)  # fmt: skip
    assert during == {(Status.PENDING, 0): 300}, "nothing failed, no attempt spent"
    assert response.status_code == 503 and snapshot["relay"] == "down"
    assert snapshot["problems"] == ["outbox_overdue", "relay_down"]
    assert len(ids) == len(set(ids)) == 300
    assert set(Reminder.objects.values_list("attempts", flat=True)) == {1}
    assert set(first) <= set(oldest), "the backlog drains oldest first"
    assert breaker.relay().state == "up"


def test_sigkill_after_the_relay_accepted_reads_unknown_and_resends_within_the_lease(
    smtp,  # noqa: F811
    redis_db,  # noqa: F811
):
    """GIVEN a worker whose 5th message the relay accepted WHEN the worker is SIGKILLed before
    the relay's reply reaches it THEN that attempt reads "unknown"; a live worker re-sends it
    (same Message-ID) once the 3 s lease has run out, the re-send pointing to it; nothing
    else goes twice."""
    require_postgres()
    due_reminders(30)
    smtp.sink.hold_after = 5
    env = {"DISPATCH_LEASE_SECONDS": "3"}
    worker = _start_worker(smtp.port, "kill-a", env)
    try:
        _drain([worker], smtp.sink.held.is_set, 60)
        assert smtp.sink.held.is_set(), _stderr(worker)
        time.sleep(0.2)  # the reply still held; the answers before it are written meanwhile
        _stop(worker, 9)  # SIGKILL
        killed = time.monotonic()
        held = smtp.sink.messages[4]["Message-ID"]
        before = len(smtp.sink.messages)
        worker = _start_worker(smtp.port, "kill-b", env)
        resent = _drain([worker], lambda: smtp.sink.ids().count(held) == 2, 60)
        resent_after = time.monotonic() - killed
        assert resent and _drain([worker], _all_sent, 60), _stderr(worker)
    finally:
        _stop(worker)
    ids = Counter(smtp.sink.ids())
    row = Reminder.objects.get(message_id=held)
    log = list(DeliveryAttempt.objects.filter(reminder=row).order_by("attempted_at", "pk"))
    report("accept-then-kill", rows=30, accepted_before_kill=before, delivered=len(ids),
           duplicates=sum(n - 1 for n in ids.values()), resent_after_s=round(resent_after, 1),
           attempts=[(a.outcome, a.resend_of_id) for a in log])  # fmt: skip
    assert len(ids) == 30 and [i for i, n in ids.items() if n > 1] == [held]
    assert [a.outcome for a in log] == [Outcome.UNKNOWN, Outcome.SENT]
    assert log[1].resend_of_id == log[0].pk
    assert resent_after < 3 + 20, "lease + worker start-up + a tick"
