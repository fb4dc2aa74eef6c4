"""Dispatch: claim due outbox rows, send them over one SMTP connection, record every attempt.

Exactly-once as far as we can make it:
- claim_batch locks due rows with SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL) and moves them
  to `sending` with a fresh lease token in a conditional UPDATE (status still pending), so two
  workers never hold the same row, on SQLite too (where FOR UPDATE is a no-op);
- outcomes are written back with a compare-and-set on that token: a worker whose lease expired
  (and whose rows another worker has re-claimed) cannot overwrite the newer state;
- a worker killed mid-batch leaves rows in `sending`; recover_expired_leases() puts them back
  after the lease. Some of those were already accepted by the SMTP server: they go out again
  with the SAME Message-ID (derived from the idempotency key), so clients can collapse them.
"""

import datetime as dt
import logging
import os
import random
import smtplib
import socket
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from tracker.models import LabResult, ScheduledLab

from . import emails, sweep, wire
from .models import CenterNotificationSettings, DeliveryAttempt, Outcome, Preference, Reminder
from .models import Status as S

log = logging.getLogger(__name__)

BATCH_SIZE = 25  # small batches: a crash re-sends at most this many
LEASE = dt.timedelta(minutes=5)  # > BATCH_SIZE x SMTP timeout
SMTP_TIMEOUT = 10
MAX_ATTEMPTS = 8  # 1, 2, 4 ... 60 min apart: about three hours of SMTP outage
RETRY_CAP = dt.timedelta(hours=1)
WEEK = dt.timedelta(days=7)
# What building an email reads from a row's relations (bench/reminders.py fetches the same).
ROW_RELATED = ("guardian", "user", "patient", "center", "scheduled_lab__item", "step")


@dataclass
class Totals:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


class Unreachable(Exception):
    """The SMTP server cannot be reached: every row left in the batch waits for a retry."""


def dispatch_due(max_batches=40, batch_size=BATCH_SIZE, budget=240, kinds=None):
    """Send everything due now, batch by batch, for at most `budget` seconds; returns totals.

    `kinds`: only these kinds of reminder (None: all). The tasks split guardians' reminders
    (queue "dispatch") from coordinator alerts (queue "alerts"), so a burst of one never
    waits behind the other. The clock is read at each claim (no `now` here: a run lasts up to
    `budget` seconds, each lease counts from its own claim). One SMTP connection serves every
    batch of the run.
    """
    totals = Totals()
    recover_expired_leases(timezone.now())
    # Well inside the task time limit and the broker's visibility timeout: the next beat tick
    # picks up whatever is left.
    deadline = time.monotonic() + budget
    connection = get_connection(timeout=SMTP_TIMEOUT)
    try:
        for _ in range(max_batches):
            if time.monotonic() > deadline:
                break
            token = claim_batch(batch_size, timezone.now(), kinds)
            if token is None:
                break
            send_batch(token, totals, connection)
    finally:
        _close(connection)
    return totals


def recover_expired_leases(now):
    """Rows a dead worker held past its lease go back to the queue (they may be re-sends)."""
    return Reminder.objects.filter(status=S.SENDING, lease_until__lt=now).update(
        status=S.PENDING, lease_until=None, lease_token=None, updated_at=now
    )


def claim_batch(size, now, kinds=None):
    """Move up to `size` due rows to `sending` under one new lease token; None if none due."""
    token = uuid.uuid4()
    due = Reminder.objects.filter(status=S.PENDING, send_at__lte=now)
    if kinds is not None:
        due = due.filter(kind__in=kinds)
    with transaction.atomic():
        ids = list(
            due.select_for_update(skip_locked=True)
            .order_by("send_at")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return None
        claimed = Reminder.objects.filter(pk__in=ids, status=S.PENDING).update(
            status=S.SENDING, lease_until=now + LEASE, lease_token=token, updated_at=now
        )
    return token if claimed else None


def send_batch(token, totals, connection=None):
    """Send the rows held under `token` over one SMTP connection, then record all outcomes.

    `connection`: an email backend to reuse (dispatch_due's); None: one opened for this batch.
    """
    rows = list(
        Reminder.objects.filter(lease_token=token, status=S.SENDING).select_related(*ROW_RELATED)
    )
    totals.claimed += len(rows)
    context = _batch_context(rows)
    attempts = []
    own = connection is None
    connection = get_connection(timeout=SMTP_TIMEOUT) if own else connection
    try:
        _send_all(rows, connection, context, attempts)
    finally:
        if own:
            _close(connection)
    _record(token, rows, attempts, totals)


def _send_all(rows, connection, context, attempts):
    """Skip rows no longer due, build the others' emails, then send them back to back (building
    between sends made each send slower than the building itself costs). Each attempt is
    stamped with the clock when it happens (a batch may wait on timeouts)."""
    ready = []
    for row in rows:
        if still_due(row):
            ready.append((row, _prepare(row, connection, context)))
        else:
            attempts.append(_skip(row, timezone.now()))
    unreachable = None
    _check_reused(connection)
    for row, email in ready:
        if unreachable is None:
            unreachable = _open(connection)
        if unreachable is not None:
            attempts.append(_retry(row, timezone.now(), unreachable, None))
            continue
        attempts.append(_send_one(row, connection, email))


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
    """Open the batch's one connection; the error if the server cannot be reached."""
    if getattr(connection, "connection", None) is not None:
        return None
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _close(connection):
    try:
        connection.close()
    except (OSError, smtplib.SMTPException):
        log.warning("SMTP close failed", exc_info=True)


def _send_one(row, connection, email):
    """Send one row's email (message, wire bytes); returns its attempt."""
    message, data = email
    if not message.recipients():
        return _fail(row, timezone.now(), "no email address", None)
    try:
        _deliver(connection, message, data)
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:
        # The server answered with a code (SMTPException is an OSError: this clause goes first).
        code, permanent = classify(exc)
        error = f"{type(exc).__name__}: {exc}"
        if permanent:
            return _fail(row, timezone.now(), error, code)
        return _retry(row, timezone.now(), error, code)
    except OSError as exc:  # disconnected, refused, timed out: no answer at all
        connection.connection = None  # broken: the next row reopens it once
        return _retry(row, timezone.now(), f"{type(exc).__name__}: {exc}", None)
    now = timezone.now()
    row.status, row.sent_at = S.SENT, now
    row.message_id = message.extra_headers["Message-ID"]
    row.attempts += 1
    row.last_error = ""
    return _attempt(row, now, Outcome.SENT, message_id=row.message_id)


def _deliver(connection, message, data):
    """Over SMTP: the wire bytes on the open smtplib client. Any other backend (console in the
    demo, locmem in tests): the backend's own send_messages."""
    client = getattr(connection, "connection", None)
    if data is None or not isinstance(client, smtplib.SMTP):
        connection.send_messages([message])
        return
    client.sendmail(*data)


def classify(exc):
    """(SMTP code, permanent?) for an SMTP error: 5xx are permanent, 4xx are worth retrying."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        code = min(codes) if codes else None
    else:
        code = getattr(exc, "smtp_code", None)
    return code, code is not None and 500 <= code < 600


def still_due(row):
    """Re-checked at send time: the plan may have changed since the row was claimed."""
    lab = row.scheduled_lab
    if lab is not None and not lab.is_open:
        return False
    return not (row.step_id and row.step.done_on)


def backoff(attempts):
    """Exponential backoff with full jitter in the upper half: 1, 2, 4 ... minutes, capped."""
    base = getattr(settings, "NOTIFICATIONS_RETRY_BASE_SECONDS", 60)
    delay = min(RETRY_CAP.total_seconds(), base * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=delay * random.uniform(0.5, 1.0))


def _retry(row, now, error, code):
    row.attempts += 1
    row.last_error = error[:2000]
    if row.attempts >= MAX_ATTEMPTS:
        return _fail(row, now, error, code, counted=True)
    row.status, row.send_at = S.PENDING, now + backoff(row.attempts)
    return _attempt(row, now, Outcome.RETRY, error=error, code=code)


def _fail(row, now, error, code, counted=False):
    if not counted:
        row.attempts += 1
    row.status, row.last_error = S.FAILED, error[:2000]
    return _attempt(row, now, Outcome.FAILED, error=error, code=code)


def _skip(row, now):
    row.status = S.CANCELLED
    return _attempt(row, now, Outcome.SKIPPED)


def _attempt(row, now, outcome, error="", code=None, message_id=""):
    return DeliveryAttempt(
        reminder=row,
        attempted_at=now,
        to_email=row.recipient_email,
        outcome=outcome,
        error=error[:2000],
        smtp_code=code,
        message_id=message_id,
        worker=WORKER,
    )


def _record(token, rows, attempts, totals):
    """Write every outcome in two queries; the token guard makes it a compare-and-set."""
    stamp = timezone.now()
    for row in rows:
        row.lease_until, row.lease_token, row.updated_at = None, None, stamp
    with transaction.atomic():
        written = _write_outcomes(token, rows, stamp)
        _insert_attempts(attempts)
    if written != len(rows):
        log.warning("lease lost for %s of %s rows", len(rows) - written, len(rows))
    for attempt in attempts:
        field = {"sent": "sent", "retry": "retried", "failed": "failed", "skipped": "skipped"}
        name = field[attempt.outcome]
        setattr(totals, name, getattr(totals, name) + 1)


_OUTCOME_FIELDS = ("status", "send_at", "sent_at", "message_id", "attempts", "last_error")

# _write_outcomes on PostgreSQL: one UPDATE from one array per column, bound server-side;
# bulk_update's CASE WHEN per row and field cost more Python than sending the emails.
_OUTCOMES_SQL = """
UPDATE {table} AS r
SET status = v.status, send_at = v.send_at, sent_at = v.sent_at, message_id = v.message_id,
    attempts = v.attempts, last_error = v.last_error,
    lease_until = NULL, lease_token = NULL, updated_at = %s
FROM unnest(%b::bigint[], %b::varchar[], %b::timestamptz[], %b::timestamptz[], %b::varchar[],
            %b::smallint[], %b::text[])
     AS v(id, status, send_at, sent_at, message_id, attempts, last_error)
WHERE r.id = v.id AND r.lease_token = %s AND r.status = 'sending'
"""


def _write_outcomes(token, rows, stamp):
    """Each row's outcome, only where `token` still holds it (status sending): rows written."""
    if not rows:
        return 0
    held = Reminder.objects.filter(lease_token=token, status=S.SENDING)
    if db_connection.vendor != "postgresql":
        fields = [*_OUTCOME_FIELDS, "lease_until", "lease_token", "updated_at"]
        return held.bulk_update(rows, fields)
    columns = [[row.pk for row in rows], [str(row.status) for row in rows]]  # the value
    columns += [[getattr(row, name) for row in rows] for name in _OUTCOME_FIELDS[1:]]
    with sweep.bound_cursor() as cursor:
        cursor.execute(
            _OUTCOMES_SQL.format(table=Reminder._meta.db_table), [stamp, *columns, token]
        )
        return cursor.rowcount


_ATTEMPT_FIELDS = ("reminder_id", "attempted_at", "to_email", "outcome", "error", "smtp_code")
_ATTEMPTS_SQL = """
INSERT INTO {table} (reminder_id, attempted_at, to_email, outcome, error, smtp_code,
                     message_id, worker)
SELECT a.*, %s FROM unnest(%b::bigint[], %b::timestamptz[], %b::varchar[], %b::varchar[],
                           %b::text[], %b::smallint[], %b::varchar[]) AS a
"""


def _insert_attempts(attempts):
    """One row per attempt: one INSERT from arrays on PostgreSQL, bulk_create elsewhere."""
    if db_connection.vendor != "postgresql" or not attempts:
        DeliveryAttempt.objects.bulk_create(attempts)
        return
    columns = [[getattr(a, name) for a in attempts] for name in _ATTEMPT_FIELDS]
    columns[3] = [str(outcome) for outcome in columns[3]]  # the value, not the enum member
    columns.append([a.message_id for a in attempts])
    with sweep.bound_cursor() as cursor:
        sql = _ATTEMPTS_SQL.format(table=DeliveryAttempt._meta.db_table)
        cursor.execute(sql, [WORKER, *columns])


WORKER = f"{socket.gethostname()}:{os.getpid()}"


class BatchContext:
    """Per-batch look-ups done once: minimal-mode flags and digest counts."""

    def __init__(self, minimal_centers, minimal_pairs, digests):
        self.minimal_centers = minimal_centers
        self.minimal_pairs = minimal_pairs
        self.digests = digests

    def for_row(self, row):
        minimal = row.center_id in self.minimal_centers or (
            (row.guardian_id, row.patient_id) in self.minimal_pairs
        )
        return {"minimal": minimal, "digest": self.digests.get(row.center_id)}


def _batch_context(rows):
    centers = {r.center_id for r in rows}
    minimal_centers = set(
        CenterNotificationSettings.objects.filter(center_id__in=centers, minimal=True).values_list(
            "center_id", flat=True
        )
    )
    guardians = {r.guardian_id for r in rows if r.guardian_id}
    minimal_pairs = set(
        Preference.objects.filter(guardian_id__in=guardians, minimal=True).values_list(
            "guardian_id", "patient_id"
        )
    )
    digest_centers = {r.center_id for r in rows if r.kind == "daily_digest"}
    return BatchContext(minimal_centers, minimal_pairs, digest_counts(digest_centers))


def digest_counts(center_ids):
    """{center_id: {overdue, due_soon, to_review, failed}} in four grouped queries."""
    if not center_ids:
        return {}
    today = timezone.localdate()
    counts = {c: {"overdue": 0, "due_soon": 0, "to_review": 0, "failed": 0} for c in center_ids}
    sources = [
        ("overdue", ScheduledLab.objects.overdue(today), "journey__center_id"),
        ("due_soon", ScheduledLab.objects.due_between(today, today + WEEK), "journey__center_id"),
        ("to_review", LabResult.objects.awaiting_review(), "journey__center_id"),
        ("failed", Reminder.objects.filter(status=S.FAILED), "center_id"),
    ]
    for name, queryset, column in sources:
        grouped = (
            queryset.filter(**{f"{column}__in": center_ids}).values(column).annotate(n=Count("pk"))
        )
        for entry in grouped:
            counts[entry[column]][name] = entry["n"]
    return counts
