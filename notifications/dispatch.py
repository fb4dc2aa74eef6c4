"""Dispatch: claim due outbox rows, send them over one SMTP connection, record each send.

Exactly-once as far as we can make it:
- claim_batch locks due rows with SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL) and moves them
  to `sending` with a fresh lease token in a conditional UPDATE (status still pending), one
  statement on PostgreSQL, so two workers never hold the same row, on SQLite too (where FOR
  UPDATE is a no-op);
- the lease is short and kept alive while the batch sends (lease.Keeper); a batch never
  outlives it, however slow the relay, so no live worker's row is ever taken back;
- every send has its attempt row before the message goes to the relay (one INSERT for the
  batch), completed after with the outbox row's compare-and-set on the token, in bulk at
  least every 0.1 s, after and during any send slower than 15 ms (outcomes.py);
- a worker killed mid-batch leaves its rows in `sending`: recover_expired_leases() puts them
  back once the lease (20 s) runs out. The messages whose answer was not written yet (the
  one in flight, at most 0.1 s of sends faster than 15 ms before it) have attempts reading
  "unknown"; they go out again with the SAME Message-ID (derived from the idempotency key),
  and each re-send's attempt points to the unknown one;
- the relay unreachable (refused, connect timeout, disconnect, 421) trips the breaker
  (breaker.py): the batch goes back untouched and everyone pauses; only message-level answers
  (4xx retry, 5xx fail) spend a row's attempts.
"""

import logging
import smtplib
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from journey.prepared import Prepared

from . import breaker, clock, emails, lease, messages, outcomes, wire
from .batch import batch_context as _batch_context
from .models import CancelReason, Channel, DeliveryAttempt, Kind, Outcome, Reminder
from .models import Status as S
from .outcomes import MAX_ATTEMPTS, RETRY_CAP, WORKER, backoff  # noqa: F401 (the public names)

log = logging.getLogger(__name__)

BATCH_SIZE = 25  # small batches: a crash re-sends the one in flight and the last 0.1 s of sends
SMTP_TIMEOUT = 10  # seconds per socket operation (DISPATCH_SMTP_TIMEOUT_SECONDS)


def _unread(**fields):
    return tuple(f"{relation}__{name}" for relation, names in fields.items() for name in names)


# What building an email reads from a row's relations (bench/reminders.py fetches the same).
ROW_RELATED = ("guardian", "user", "patient", "center", "scheduled_lab__item", "step")
ROW_RELATED += ("scheduled_lab__local_lab", "scheduled_lab__item__plan__default_lab")
# ... and what it never reads (a column read is a value to decode: the plan's schedule is
# about 2 KB of JSON a row): the child's record, the user's password, the items' texts.
ROW_UNREAD = _unread(
    guardian=("full_name", "phone", "created_at"),
    user=("password", "last_login", "is_superuser", "full_name", "date_joined"),
    center=("baseline_window_days", "result_release", "result_release_policy"),
    patient=("last_name", "date_of_birth", "sex", "medical_record_number", "created_at"),
    scheduled_lab=("public_id", "sequence", "day_offset", "month_offset", "window_start"),
    scheduled_lab__item=("code", "title", "tests", "note", "segments", "held_open_by")
    + ("extended_at", "extension_ended_at", "extension_end_reason"),
    scheduled_lab__item__plan=("schedule", "schedule_digest", "label_as_of", "created_at"),
    step=("title", "responsible", "note", "code"),
)
DAY_BOUND_KINDS = (Kind.LAB_REMINDER, Kind.STEP_DUE)  # pointless once their day has passed
CONNECTION_CODES = {421}  # "service not available": the relay, not the message


@dataclass
class Totals:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0
    released: int = 0

    def count(self, outcome):
        name = _TOTAL_FOR.get(outcome, outcome)
        setattr(self, name, getattr(self, name) + 1)


_TOTAL_FOR = {"retry": "retried"}  # the other outcomes share their total's name


class Unreachable(Exception):
    """The relay cannot be reached: the breaker trips and the batch goes back untouched."""


def dispatch_due(max_batches=40, batch_size=BATCH_SIZE, budget=240, kinds=None):
    """Send everything due now, batch by batch, for at most `budget` seconds; returns totals.

    `kinds`: only these kinds of reminder (None: all). The tasks split guardians' reminders
    (queue "dispatch") from coordinator alerts (queue "alerts"), so a burst of one never
    waits behind the other. Before each batch: dead workers' rows back to the queue, the
    breaker (relay down: stop), then the claim. One SMTP connection serves every batch of the run.
    """
    totals = Totals()
    deadline = time.monotonic() + budget
    connection = get_connection(timeout=_smtp_timeout())
    try:
        for _ in range(max_batches):
            now = timezone.now()
            recover_expired_leases(now)
            if time.monotonic() > deadline or not breaker.may_send(now, lambda: _open(connection)):
                break
            token = claim_batch(batch_size, timezone.now(), kinds, Channel.EMAIL)
            if token is None or not send_batch(token, totals, connection):
                break
    finally:
        _close(connection)
    return totals


def recover_expired_leases(now):
    """Rows a dead worker held past its lease go back to the queue (they may be re-sends)."""
    return Reminder.objects.filter(status=S.SENDING, lease_until__lt=now).update(
        status=S.PENDING, lease_until=None, lease_token=None, updated_at=now
    )


def claim_batch(size, now, kinds=None, channel=None):
    """Move up to `size` due rows, oldest first, to `sending` under one new lease token.
    `channel`: only emails or only texts (notifications.sms); None: both."""
    token = uuid.uuid4()
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        claimed = _claim_postgresql(token, size, now, kinds, channel)
        return token if claimed else None
    due = Reminder.objects.filter(status=S.PENDING, send_at__lte=now)
    if kinds is not None:
        due = due.filter(kind__in=kinds)
    if channel is not None:
        due = due.filter(channel=channel)
    with transaction.atomic():
        ids = list(
            due.select_for_update(skip_locked=True)
            .order_by("send_at", "pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return None
        claimed = Reminder.objects.filter(pk__in=ids, status=S.PENDING).update(
            status=S.SENDING, lease_until=lease.until(now), lease_token=token, updated_at=now
        )
    return token if claimed else None


def _claim_postgresql(token, size, now, kinds, channel):
    """The claim in ONE statement (atomic by itself): the due rows locked with SKIP LOCKED
    in a subquery (served by reminder_pending_due) and moved to `sending`."""
    where, params = "", [now]
    if kinds is not None:
        where, params = f"{where} AND kind = ANY(%s)", [*params, [str(k) for k in kinds]]
    if channel is not None:
        where, params = f"{where} AND channel = %s", [*params, str(channel)]
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        params += [size, lease.until(now), token, now]
        cursor.execute(_CLAIM_SQL.format(where=where), params)
        return cursor.rowcount


# The due rows are picked in a CTE, evaluated once: as `WHERE id IN (subquery)` PostgreSQL
# may run the subquery again for the rows it updates, and its LIMIT then holds no more.
_CLAIM_SQL = f"""
WITH due AS MATERIALIZED (
    SELECT id FROM {Reminder._meta.db_table} WHERE status = 'pending' AND send_at <= %s{{where}}
    ORDER BY send_at, id LIMIT %s FOR UPDATE SKIP LOCKED
)
UPDATE {Reminder._meta.db_table} AS r SET status = 'sending', lease_until = %s,
    lease_token = %s, updated_at = %s
FROM due WHERE r.id = due.id AND r.status = 'pending'
"""


def send_batch(token, totals, connection=None):
    """Send the rows held under `token`, recording each as it goes, while the lease is kept
    alive. Returns False when the relay could not be reached (the rest went back untouched).

    `connection`: an email backend to reuse (dispatch_due's); None: one opened for this batch.
    """
    rows = _held_rows(token)
    totals.claimed += len(rows)
    context = _batch_context(rows)
    own = connection is None
    connection = get_connection(timeout=_smtp_timeout()) if own else connection
    try:
        recorder = outcomes.Recorder(token)
        with lease.Keeper(token) as keeper:
            try:
                return _send_all(recorder, rows, connection, context, keeper, totals)
            finally:
                recorder.close()
    finally:
        if own:
            _close(connection)


def _held_queryset(token):
    """The batch's rows with what building needs, and each row's last attempt whose outcome
    a crash left unknown (the re-send points to it)."""
    unknown = DeliveryAttempt.objects.filter(reminder=OuterRef("pk"), outcome=Outcome.UNKNOWN)
    latest = unknown.order_by("-attempted_at", "-pk").values("pk")[:1]
    rows = outcomes.held(token).select_related(*ROW_RELATED).defer(*ROW_UNREAD)
    return rows.annotate(unknown_attempt=Subquery(latest)).order_by("send_at", "pk")


# Compiled once per process (building and compiling it cost more than running it); run with
# each batch's token, prepared once per connection on PostgreSQL.
HELD_ROWS = Prepared(_held_queryset, token=uuid.UUID)


def _held_rows(token):
    return HELD_ROWS.run(token=token)


def _send_all(recorder, rows, connection, context, keeper, totals):
    """Settle the rows not to send, build the others' emails, then send those back to back
    (building between sends made each send slower than the building itself costs)."""
    token, ready = recorder.token, []
    for row in rows:
        outcome, email = _settle_or_build(token, row, connection, context)
        if outcome:
            totals.count(outcome)
        else:
            ready.append((row, email))
    if not ready:
        return True
    _check_reused(connection)
    error = _open(connection)
    if error is not None:  # the relay cannot be reached: nothing written, the batch goes back
        breaker.trip(timezone.now(), error)
        totals.released += recorder.release([row for row, _email in ready], timezone.now())
        totals.deferred += 1
        return False
    for row, (message, _data) in ready:
        row.message_id = message.extra_headers["Message-ID"]
    recorder.begin_all([(row, row.message_id) for row, _email in ready], timezone.now())
    for index, (row, email) in enumerate(ready):
        if not keeper.may_start():  # the lease could not be renewed: stop inside it
            rest = [r for r, _email in ready[index:]]
            totals.released += recorder.release(rest, timezone.now())
            log.warning("lease not renewed: %s rows of the batch released", len(rest))
            return True
        try:
            totals.count(_send_one(recorder, row, connection, *email))
        except Unreachable as exc:
            recorder.flush()
            breaker.trip(timezone.now(), str(exc))
            rest = [r for r, _email in ready[index + 1 :]]
            totals.released += recorder.release(rest, timezone.now())
            totals.deferred += 1
            return False
    return True


def _settle_or_build(token, row, connection, context):
    """(outcome recorded, None) for a row not to send now (cancelled, in quiet hours, no
    address); (None, (message, wire bytes)) for a row to send."""
    now = timezone.now()
    reason = why_not_due(row, now)
    if reason:
        return outcomes.settle(token, row, Outcome.SKIPPED, now, cancel_reason=reason), None
    later = context.quiet_until(row, now) if row.guardian_id else None
    if later is not None:
        row.send_at = later
        return outcomes.settle(token, row, Outcome.DEFERRED, now, error="quiet hours"), None
    message, data = _prepare(row, connection, context)
    if not message.recipients():
        return outcomes.settle(token, row, Outcome.FAILED, now, error="no email address"), None
    return None, (message, data)


def _send_one(recorder, row, connection, message, data):
    """Hand one email to the relay between its attempt's two writes; Unreachable if the
    relay cannot be reached (this row goes back untouched, or deferred if it was tried)."""
    error = _open(connection)
    if error is not None:
        recorder.release([row], timezone.now())
        raise Unreachable(error)
    attempt = recorder.begin(row, timezone.now())
    try:
        with recorder.sending():
            _deliver(connection, message, data)
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:
        # The server answered with a code (SMTPException is an OSError: this clause goes first).
        code, permanent = classify(exc)
        error = f"{type(exc).__name__}: {exc}"
        if code in CONNECTION_CODES:
            _unreachable(recorder, row, attempt, connection, error, code)
        outcome = Outcome.FAILED if permanent else Outcome.RETRY
        return recorder.finish(row, attempt, outcome, timezone.now(), error, code)
    except OSError as exc:  # disconnected, refused, timed out: no answer at all
        _unreachable(recorder, row, attempt, connection, f"{type(exc).__name__}: {exc}", None)
    return recorder.finish(row, attempt, Outcome.SENT, timezone.now())


def _unreachable(recorder, row, attempt, connection, error, code):
    """No message-level answer: no attempt spent (the attempt row says why), the breaker trips.
    A timeout after the data was sent may hide an acceptance: the re-send carries the same
    Message-ID. This row waits one breaker pause behind the others, so that a message that
    always breaks the connection cannot hold the head of the queue."""
    now = timezone.now()
    row.send_at = max(row.send_at, now + breaker.wait_after(1))
    recorder.finish(row, attempt, Outcome.DEFERRED, now, error, code)
    recorder.flush()
    _close(connection)
    connection.connection = None
    raise Unreachable(error)


def why_not_due(row, now):
    """Re-checked at send time: the plan may have changed, or the day passed while the relay
    was down. The reason to cancel, or "" to send."""
    lab = row.scheduled_lab
    if (lab is not None and not lab.is_open) or (row.step_id and row.step.done_on):
        return CancelReason.DONE
    if row.kind in DAY_BOUND_KINDS and clock.local_today(row.time_zone, now) > row.due_on:
        return CancelReason.DAY_PASSED
    if not messages.still_linked(row):
        return CancelReason.DONE
    return ""


def classify(exc):
    """(SMTP code, permanent?) for an SMTP error: 5xx are permanent, 4xx are worth retrying."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        code = min(codes) if codes else None
    else:
        code = getattr(exc, "smtp_code", None)
    return code, code is not None and 500 <= code < 600


def _smtp_timeout():
    return getattr(settings, "NOTIFICATIONS_SMTP_TIMEOUT", SMTP_TIMEOUT)


def _prepare(row, connection, context):
    """(message, wire bytes or None): the bytes when the backend speaks SMTP itself."""
    message = emails.build(row, **context.for_row(row))
    smtp = isinstance(connection, SMTPBackend) and message.recipients()
    return message, wire.wire(message) if smtp else None


def _check_reused(connection):
    """A connection kept from the previous batch may have been closed by the server while we
    wrote outcomes: one NOOP, and a dead one is reopened before the first send."""
    client = getattr(connection, "connection", None)
    if not isinstance(client, smtplib.SMTP):
        return
    try:
        client.noop()
    except (OSError, smtplib.SMTPException):
        connection.connection = None


def _open(connection):
    """Open the run's one connection if it is not open; the error if the relay cannot be
    reached (also the breaker's probe)."""
    if getattr(connection, "connection", None) is not None:
        return None
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        connection.connection = None
        return f"{type(exc).__name__}: {exc}"
    return None


def _close(connection):
    try:
        connection.close()
    except (OSError, smtplib.SMTPException):
        log.warning("SMTP close failed", exc_info=True)


def _deliver(connection, message, data):
    """Over SMTP: the wire bytes on the open smtplib client. Any other backend (console in the
    demo, locmem in tests): the backend's own send_messages."""
    client = getattr(connection, "connection", None)
    if data is None or not isinstance(client, smtplib.SMTP):
        connection.send_messages([message])
        return
    client.sendmail(*data)
