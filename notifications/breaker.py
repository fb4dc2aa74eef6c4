"""The mail relay's circuit breaker, shared by every worker through one database row.

A connection-level failure (refused, connect timeout, disconnect, 421) says nothing about the
message: it trips the breaker, the batch goes back to the queue untouched and nobody claims
rows until `retry_at`. Then one worker at a time wins the probe (a conditional UPDATE on
`probe_until`) and opens a connection: up closes the breaker, down doubles the wait (with
jitter, capped). No message spends an attempt on an outage.
"""

import datetime as dt
import logging
import random

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from .models import MAIL_RELAY, SMS_RELAY, Relay, RelayState

log = logging.getLogger(__name__)

NAMES = {MAIL_RELAY: "mail relay", SMS_RELAY: "text provider"}  # what the log lines call it


def name(relay_id):
    """The relay as the log lines name it: "mail relay" or "text provider"."""
    return NAMES.get(relay_id, f"relay {relay_id}")


PROBE_LEASE = dt.timedelta(seconds=60)  # a probe whose worker died is taken again after this


def relay(relay_id=MAIL_RELAY):
    """The relay's row (created on first use); relay_id SMS_RELAY: the text provider's."""
    row, _created = Relay.objects.get_or_create(pk=relay_id)
    return row


def wait_after(failures):
    """How long everyone pauses after `failures` failed probes: doubling, capped, jittered."""
    base = settings.NOTIFICATIONS_BREAKER_BASE_SECONDS
    cap = settings.NOTIFICATIONS_BREAKER_MAX_SECONDS
    seconds = min(cap, base * 2 ** max(failures - 1, 0))
    return dt.timedelta(seconds=seconds * random.uniform(0.75, 1.0))


def may_send(now, probe, relay_id=MAIL_RELAY):
    """True when this worker may claim rows now.

    Up: yes. Down before `retry_at`: no. Down after it: the worker that wins the probe calls
    `probe()` (None when the relay answers, else the error) and sends only if it answered.
    """
    row = relay(relay_id)
    if row.state == RelayState.UP:
        return True
    _alert_once(row, now)
    if now < row.retry_at or not _take_probe(now, relay_id):
        return False
    error = probe()
    if error is None:
        recovered(now, relay_id)
        return True
    _probe_failed(now, error, relay_id)
    return False


def trip(now, error, relay_id=MAIL_RELAY):
    """A connection-level failure: the relay is down for everyone (no change if already)."""
    with transaction.atomic():
        row = Relay.objects.select_for_update().get(pk=relay(relay_id).pk)
        row.last_error = error[:500]
        if row.state == RelayState.UP:
            row.state, row.down_since, row.failures = RelayState.DOWN, now, 1
            row.retry_at, row.alerted, row.changed_at = now + wait_after(1), False, now
            log.warning("%s down, sending paused: %s", name(relay_id), error)
        row.save()


def recovered(now, relay_id=MAIL_RELAY):
    """The relay answered: everyone sends again."""
    row = relay(relay_id)
    if row.state == RelayState.DOWN:
        log.warning("%s back after %s", name(relay_id), now - row.down_since)
    Relay.objects.filter(pk=row.pk).update(
        state=RelayState.UP, down_since=None, retry_at=None, probe_until=None, failures=0,
        alerted=False, changed_at=now,
    )  # fmt: skip


def _take_probe(now, relay_id):
    """One probe at a time: True for the worker whose conditional UPDATE wins."""
    free = Q(probe_until__isnull=True) | Q(probe_until__lt=now)
    won = Relay.objects.filter(free, pk=relay_id, state=RelayState.DOWN, retry_at__lte=now)
    return won.update(probe_until=now + PROBE_LEASE) == 1


def _probe_failed(now, error, relay_id):
    with transaction.atomic():
        row = Relay.objects.select_for_update().get(pk=relay_id)
        row.failures += 1
        row.retry_at, row.probe_until = now + wait_after(row.failures), None
        row.last_error = error[:500]
        row.save()
    log.info("%s probe failed (%s in a row): %s", name(relay_id), row.failures, error)


def down_too_long(row, now):
    """Down for longer than RELAY_ALERT_AFTER_SECONDS."""
    if row.state != RelayState.DOWN:
        return False
    limit = dt.timedelta(seconds=settings.NOTIFICATIONS_RELAY_ALERT_SECONDS)
    return now - row.down_since > limit


def _alert_once(row, now):
    """Log at ERROR once per outage, when it has lasted past the alert threshold."""
    if row.alerted or not down_too_long(row, now):
        return
    if Relay.objects.filter(pk=row.pk, alerted=False).update(alerted=True):
        log.error(
            "%s down for %s (since %s): messages are waiting; last error: %s",
            name(row.pk), now - row.down_since, row.down_since.isoformat(), row.last_error,
        )  # fmt: skip
