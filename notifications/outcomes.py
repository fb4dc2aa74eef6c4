"""What dispatch writes, one message at a time, as it happens.

Every send leaves an attempt row written BEFORE the message is handed to the relay (outcome
"unknown") and completed AFTER, together with the outbox row, in one transaction. A worker
that dies in between leaves "unknown": the relay may have accepted the message. The re-send's
attempt points to it (`resend_of`), so the delivery log shows both.

Every outbox write is a compare-and-set on the batch's lease token: a worker that lost its
lease cannot overwrite the state another worker wrote.
"""

import datetime as dt
import logging
import os
import random
import socket

from django.conf import settings
from django.db import connection, transaction

from .models import DeliveryAttempt, Outcome, Reminder
from .models import Status as S

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # message-level answers only (4xx): 1, 2, 4 ... 60 min apart
RETRY_CAP = dt.timedelta(hours=1)
WORKER = f"{socket.gethostname()}:{os.getpid()}"
_ROW_FIELDS = ("status", "send_at", "sent_at", "message_id", "attempts", "last_error")


def held(token):
    return Reminder.objects.filter(lease_token=token, status=S.SENDING)


def backoff(attempts):
    """Exponential backoff with full jitter in the upper half: 1, 2, 4 ... minutes, capped."""
    base = settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    delay = min(RETRY_CAP.total_seconds(), base * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=delay * random.uniform(0.5, 1.0))


def begin(row, message_id, now):
    """The attempt row, written before the message goes to the relay (outcome unknown)."""
    attempt = DeliveryAttempt(
        reminder=row,
        attempted_at=now,
        to_email=row.recipient_email,
        outcome=Outcome.UNKNOWN,
        message_id=message_id,
        worker=WORKER,
        resend_of_id=getattr(row, "unknown_attempt", None),
    )
    # bulk_create: no model signals, as every attempt row (the audit trail reads them itself).
    DeliveryAttempt.objects.bulk_create([attempt])
    return attempt


def finish(token, row, attempt, outcome, now, error="", code=None):
    """The relay's answer: the outbox row and its attempt, together. Returns the outcome
    actually recorded (a retry past the last attempt fails)."""
    outcome = _apply(row, outcome, now, error)
    attempt.outcome, attempt.completed_at = outcome, now
    attempt.error, attempt.smtp_code = error[:2000], code
    if connection.vendor == "postgresql":
        written = _finish_in_one_statement(token, row, attempt, now)
    else:
        with transaction.atomic():
            written = _write(token, row, now)
            DeliveryAttempt.objects.filter(pk=attempt.pk).update(
                outcome=outcome, completed_at=now, error=attempt.error, smtp_code=code
            )
    if not written:
        log.warning("lease lost on reminder %s: outcome %s not recorded", row.pk, row.status)
    return outcome


# finish() on PostgreSQL: the outbox row (compare-and-set on the token) and its attempt in ONE
# statement, atomic by itself: one round trip per send instead of two and a transaction.
_FINISH_SQL = """
WITH r AS (
    UPDATE {reminder} SET status = %s, send_at = %s, sent_at = %s, message_id = %s,
        attempts = %s, last_error = %s, lease_until = NULL, lease_token = NULL, updated_at = %s
    WHERE id = %s AND lease_token = %s AND status = 'sending' RETURNING id
)
UPDATE {attempt} SET outcome = %s, completed_at = %s, error = %s, smtp_code = %s
WHERE id = %s RETURNING (SELECT count(*) FROM r)
"""


def _finish_in_one_statement(token, row, attempt, now):
    sql = _FINISH_SQL.format(
        reminder=Reminder._meta.db_table, attempt=DeliveryAttempt._meta.db_table
    )
    values = [str(row.status), *(getattr(row, name) for name in _ROW_FIELDS[1:]), now]
    values += [row.pk, token, str(attempt.outcome), now, attempt.error, attempt.smtp_code]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, attempt.pk])
        return cursor.fetchone()[0]


def settle(token, row, outcome, now, error="", cancel_reason=""):
    """An outcome reached without handing anything to the relay (cancelled, deferred, no
    address): the outbox row and a completed attempt row."""
    row.cancel_reason = cancel_reason
    outcome = _apply(row, outcome, now, error)
    attempt = DeliveryAttempt(
        reminder=row, attempted_at=now, completed_at=now, to_email=row.recipient_email,
        outcome=outcome, error=error[:2000], worker=WORKER,
    )  # fmt: skip
    with transaction.atomic():
        if _write(token, row, now, extra=("cancel_reason",)):
            DeliveryAttempt.objects.bulk_create([attempt])
    return outcome


def release(token, rows, now):
    """Rows this batch will not try: back to the queue as they were (no attempt spent)."""
    if not rows:
        return 0
    return (
        held(token)
        .filter(pk__in=[r.pk for r in rows])
        .update(status=S.PENDING, lease_until=None, lease_token=None, updated_at=now)
    )


def _apply(row, outcome, now, error):
    """Set the row's fields for `outcome`; returns the outcome (RETRY may become FAILED)."""
    if outcome == Outcome.SENT:
        row.status, row.sent_at, row.last_error = S.SENT, now, ""
        row.attempts += 1
    elif outcome == Outcome.RETRY:
        row.attempts += 1
        if row.attempts >= MAX_ATTEMPTS:
            outcome = Outcome.FAILED
            row.status = S.FAILED
        else:
            row.status, row.send_at = S.PENDING, now + backoff(row.attempts)
    elif outcome == Outcome.FAILED:
        row.status = S.FAILED
        row.attempts += 1
    elif outcome == Outcome.DEFERRED:  # relay unreachable, quiet hours: no attempt spent
        row.status = S.PENDING
    elif outcome == Outcome.SKIPPED:
        row.status = S.CANCELLED
    if error:
        row.last_error = error[:2000]
    return outcome


def _write(token, row, now, extra=()):
    """The row's new state, only where `token` still holds it."""
    fields = {name: getattr(row, name) for name in (*_ROW_FIELDS, *extra)}
    written = (
        held(token)
        .filter(pk=row.pk)
        .update(**fields, lease_until=None, lease_token=None, updated_at=now)
    )
    if not written:
        log.warning("lease lost on reminder %s: outcome %s not recorded", row.pk, row.status)
    return written
