"""Texts through the email outbox's machinery: the same claim (channel "sms"), lease, attempt
rows, compare-and-set outcomes, backoff and breaker (its own Relay row, SMS_RELAY).

- the attempt row is written before the provider is called (outcome "unknown"), completed
  after; a worker killed in between leaves "unknown" and the re-send carries the SAME
  idempotency key (the outbox row's key), so the provider can drop the duplicate;
- 429 and 5xx: retried with backoff (outcomes.backoff), up to outcomes.MAX_ATTEMPTS;
- no answer (refused, timeout): no attempt spent, the breaker trips, the batch goes back;
- the number refused (invalid, unsubscribed): the row fails, the number stops taking texts
  and shows on the coordinator's worklist; the guardian's reminders go back to email;
- re-checked at send time, as emails are: the lab done, the day passed, quiet hours, and the
  number still confirmed (a STOP may have arrived since the plan).
"""

import logging
import time

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from .. import breaker, dispatch, lease, outcomes
from ..batch import batch_context
from ..models import SMS_RELAY, CancelReason, Channel, DeliveryAttempt, Outcome
from . import backends, numbers, texts
from .models import NumberStatus, TextNumber

log = logging.getLogger(__name__)

ROW_RELATED = ("guardian", "scheduled_lab", "step")


def dispatch_texts(max_batches=40, batch_size=dispatch.BATCH_SIZE, budget=240, kinds=None):
    """Send every text due now, batch by batch, for at most `budget` seconds; returns totals."""
    totals = dispatch.Totals()
    deadline = time.monotonic() + budget
    backend = backends.get_backend()
    for _ in range(max_batches):
        now = timezone.now()
        dispatch.recover_expired_leases(now)
        if time.monotonic() > deadline or not breaker.may_send(now, backend.probe, SMS_RELAY):
            break
        token = dispatch.claim_batch(batch_size, timezone.now(), kinds, Channel.SMS)
        if token is None or not send_batch(token, totals, backend):
            break
    return totals


def send_batch(token, totals, backend):
    """Send the texts held under `token`; False when the provider could not be reached."""
    rows = list(_held_rows(token))
    totals.claimed += len(rows)
    context = batch_context(rows)
    recorder = outcomes.Recorder(token)
    refused = set()  # guardians whose number the provider refused during this batch
    with lease.Keeper(token) as keeper:
        try:
            for index, row in enumerate(rows):
                if not keeper.may_start():
                    totals.released += outcomes.release(token, rows[index:], timezone.now())
                    return True
                try:
                    outcome = _send_one(recorder, row, backend, context, refused)
                except backends.Unreachable as exc:
                    recorder.flush()
                    breaker.trip(timezone.now(), f"text provider: {exc}", SMS_RELAY)
                    totals.released += outcomes.release(token, rows[index + 1 :], timezone.now())
                    totals.deferred += 1
                    return False
                totals.count(outcome)
        finally:
            recorder.flush()
    return True


def _held_rows(token):
    unknown = DeliveryAttempt.objects.filter(reminder=OuterRef("pk"), outcome=Outcome.UNKNOWN)
    latest = unknown.order_by("-attempted_at", "-pk").values("pk")[:1]
    number = TextNumber.objects.filter(
        guardian=OuterRef("guardian_id"), status=NumberStatus.ACTIVE
    ).values("number")[:1]
    rows = outcomes.held(token).select_related(*ROW_RELATED)
    rows = rows.annotate(unknown_attempt=Subquery(latest), sms_to=Subquery(number))
    return rows.order_by("send_at", "pk")


def _send_one(recorder, row, backend, context, refused):
    """One text between its attempt's two writes; the outcome recorded."""
    token, now = recorder.token, timezone.now()
    reason = dispatch.why_not_due(row, now)
    if not reason and (not row.sms_to or row.guardian_id in refused):
        reason = CancelReason.NO_NUMBER
    if reason:
        recorder.flush()
        return outcomes.settle(token, row, Outcome.SKIPPED, now, cancel_reason=reason)
    later = context.quiet_until(row, now)
    if later is not None:
        recorder.flush()
        row.send_at = later
        return outcomes.settle(token, row, Outcome.DEFERRED, now, error="quiet hours")
    body = texts.body(row, now)
    # One text at a time: its attempt row (unknown) is written before the provider gets it.
    recorder.begin_all([(row, row.key)], now)
    attempt = recorder.begin(row, now)
    try:
        row.message_id = backend.send(str(row.sms_to), body, row.key)
    except backends.Unreachable as exc:
        _unreachable(recorder, row, attempt, str(exc))
    except backends.Transient as exc:
        return recorder.finish(row, attempt, Outcome.RETRY, timezone.now(), str(exc), _code(exc))
    except backends.Permanent as exc:
        now = timezone.now()
        outcome = recorder.finish(row, attempt, Outcome.FAILED, now, str(exc), _code(exc))
        if exc.number_status:
            recorder.flush()
            refused.add(row.guardian_id)
            numbers.refused(row.guardian_id, exc.number_status, str(exc))
        return outcome
    return recorder.finish(row, attempt, Outcome.SENT, timezone.now())


def _code(exc):
    """The provider's error code (or HTTP status) in the attempt's code column (a small int)."""
    return exc.code if isinstance(exc.code, int) and 0 < exc.code < 32768 else None


def _unreachable(recorder, row, attempt, error):
    """No answer: no attempt spent; the row waits one breaker pause (as an email does)."""
    now = timezone.now()
    row.send_at = max(row.send_at, now + breaker.wait_after(1))
    recorder.finish(row, attempt, Outcome.DEFERRED, now, error)
    recorder.flush()
    raise backends.Unreachable(error)
