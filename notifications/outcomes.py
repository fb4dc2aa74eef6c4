"""What dispatch writes, one message at a time, as it happens.

Every send leaves an attempt row written BEFORE the message is handed to the relay (outcome
"unknown") and completed AFTER, atomically with the outbox row (Recorder). A worker
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


class Recorder:
    """One batch's sends, recorded as they happen: `begin` before a message goes to the relay,
    `finish` after, `flush` when the batch ends (also on an error).

    On PostgreSQL the completion of one send travels with the start of the next in ONE
    statement (and the last completion alone at flush): one round trip per message. The
    order of the writes is the same as one at a time: send n's outcome is written before send
    n+1 is handed to the relay.
    """

    def __init__(self, token):
        self.token = token
        self.pending = None  # (row, attempt): answered, not yet written
        self.pipelined = connection.vendor == "postgresql"

    def begin(self, row, message_id, now):
        """The attempt row, written before the message goes to the relay (outcome unknown)."""
        attempt = DeliveryAttempt(
            reminder=row, attempted_at=now, to_email=row.recipient_address,
            outcome=Outcome.UNKNOWN, message_id=message_id, worker=WORKER,
            resend_of_id=getattr(row, "unknown_attempt", None),
        )  # fmt: skip
        if self.pipelined and self.pending:
            attempt.pk = self._finish_and_begin(attempt)
            return attempt
        self.flush()
        # bulk_create: no model signals, as every attempt row (the audit reads them itself).
        DeliveryAttempt.objects.bulk_create([attempt])
        return attempt

    def finish(self, row, attempt, outcome, now, error="", code=None):
        """The relay's answer for the outbox row and its attempt. Returns the outcome to
        record (a retry past the last attempt fails)."""
        outcome = _apply(row, outcome, now, error)
        attempt.outcome, attempt.completed_at = outcome, now
        attempt.error, attempt.smtp_code = error[:2000], code
        self.flush()
        self.pending = (row, attempt)
        if not self.pipelined:
            self.flush()
        return outcome

    def flush(self):
        """Write the answered send not written yet, if any."""
        if self.pending is None:
            return
        row, attempt = self.pending
        self.pending = None
        if self.pipelined:
            written = self._run(_FINISH_SQL.format(**_TABLES), self._finish_values(row, attempt))
            _check_written(written, row)
        else:
            with transaction.atomic():
                _write(self.token, row, attempt.completed_at)
                DeliveryAttempt.objects.filter(pk=attempt.pk).update(
                    outcome=attempt.outcome, completed_at=attempt.completed_at,
                    error=attempt.error, smtp_code=attempt.smtp_code,
                )  # fmt: skip

    def _finish_values(self, row, attempt):
        values = [str(row.status), *(getattr(row, name) for name in _ROW_FIELDS[1:])]
        values += [attempt.completed_at, row.pk, self.token, str(attempt.outcome)]
        return [*values, attempt.completed_at, attempt.error, attempt.smtp_code, attempt.pk]

    def _finish_and_begin(self, attempt):
        pending, self.pending = self.pending, None
        values = self._finish_values(*pending)
        values += [attempt.reminder_id, attempt.attempted_at, attempt.to_email]
        values += [str(attempt.outcome), attempt.message_id, attempt.worker, attempt.resend_of_id]
        sql = _FINISH_AND_BEGIN_SQL.format(**_TABLES)
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            pk, written = cursor.fetchone()
        _check_written(written, pending[0])
        return pk

    def _run(self, sql, values):
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            return cursor.fetchone()[0]


def _check_written(written, row):
    if not written:
        log.warning("lease lost on reminder %s: outcome %s not recorded", row.pk, row.status)


_TABLES = {"reminder": Reminder._meta.db_table, "attempt": DeliveryAttempt._meta.db_table}
# The outbox row (a compare-and-set on the lease token) and its attempt: one statement, atomic
# by itself. r counts the outbox rows written (0: the lease was lost). `status || ''` keeps the
# planner on the primary key: written plainly, the test matches the partial lease index, which
# statistics taken while nothing was being sent price as empty, and each send scanned every row
# being sent (and their earlier versions) for its own: 3x the statement's time in the bench.
_FINISH = """
r AS (
    UPDATE {reminder} SET status = %s, send_at = %s, sent_at = %s, message_id = %s,
        attempts = %s, last_error = %s, lease_until = NULL, lease_token = NULL, updated_at = %s
    WHERE id = %s AND lease_token = %s AND status || '' = 'sending' RETURNING id
)"""
_FINISH_SQL = (
    "WITH" + _FINISH + "\nUPDATE {attempt} SET outcome = %s, completed_at = %s, error = %s,"
    " smtp_code = %s WHERE id = %s RETURNING (SELECT count(*) FROM r)"
)
# ... and, in the same statement, the next send's attempt row (outcome unknown).
_FINISH_AND_BEGIN_SQL = (
    "WITH" + _FINISH + ", a AS (UPDATE {attempt} SET outcome = %s, completed_at = %s,"
    " error = %s, smtp_code = %s WHERE id = %s)\n"
    "INSERT INTO {attempt} (reminder_id, attempted_at, to_email, outcome, message_id, worker,"
    " resend_of_id, error) VALUES (%s, %s, %s, %s, %s, %s, %s, '')"
    " RETURNING id, (SELECT count(*) FROM r)"
)


def settle(token, row, outcome, now, error="", cancel_reason=""):
    """An outcome reached without handing anything to the relay (cancelled, deferred, no
    address): the outbox row and a completed attempt row."""
    row.cancel_reason = cancel_reason
    outcome = _apply(row, outcome, now, error)
    attempt = DeliveryAttempt(
        reminder=row, attempted_at=now, completed_at=now, to_email=row.recipient_address,
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
