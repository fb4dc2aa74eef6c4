"""What dispatch writes for each send, in bulk.

Every message sent has an attempt row written BEFORE it is handed to the relay (outcome
"unknown": one INSERT for the whole batch before its first send) and completed AFTER, with
the outbox row (Recorder: the answers of up to FLUSH_SECONDS of sending in one statement).
A worker that dies in between leaves "unknown", never a false "sent": the relay may have
accepted the message. The re-send's attempt points to it (`resend_of`), so the delivery log
shows both.

Every outbox write is a compare-and-set on the batch's lease token: a worker that lost its
lease cannot overwrite the state another worker wrote.
"""

import contextlib
import datetime as dt
import logging
import os
import random
import socket
import threading
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from .models import DeliveryAttempt, Outcome, Reminder
from .models import Status as S

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # message-level answers only (4xx): 1, 2, 4 ... 60 min apart
RETRY_CAP = dt.timedelta(hours=1)
FLUSH_SECONDS = 0.1  # answers are written at least this often (and whenever the batch ends)
SLOW_SEND_SECONDS = 0.015  # a slower send: answers written one by one, and during a send
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
    """One batch's sends: `begin_all` before the first message goes to the relay, `begin` as
    each goes, `finish` with the relay's answer, `release` for rows not tried, `close` when
    the batch ends (also on an error).

    Writes: ONE statement gives every message of the batch its attempt row (outcome unknown)
    before the first send. Answers are written in bulk: ONE statement for the outbox rows
    (compare-and-set on the lease token) and their attempts, at least every FLUSH_SECONDS,
    after every send slower than SLOW_SEND_SECONDS, during a send that lasts longer, before
    anything is released and when the batch ends. A worker killed in between leaves
    "unknown" on what it had not written (never a false "sent"): those rows are re-sent after
    the lease, each re-send pointing to the unknown attempt. An attempt row whose message was
    never handed to the relay is removed when the batch ends alive (it was no attempt).
    """

    def __init__(self, token, db=None):
        self.token = token
        self.db = db or connections[DEFAULT_DB_ALIAS]
        self.unused = {}  # reminder pk -> its attempt row, written, message not sent yet
        self.answered = []  # (row, attempt): answered by the relay, not written yet
        self.oldest = None  # time.monotonic() of the oldest answer not written
        self.slow = False  # the last send took SLOW_SEND_SECONDS or more
        self.writer = _SlowSendWriter(self) if self.db.vendor == "postgresql" else None

    def begin_all(self, items, now):
        """`items`: (row, message_id) for every message to send. One INSERT: their attempt
        rows, outcome unknown, before the first of them goes to the relay."""
        attempts = [
            DeliveryAttempt(
                reminder=row, attempted_at=now, to_email=row.recipient_address,
                outcome=Outcome.UNKNOWN, message_id=message_id, worker=WORKER,
                resend_of_id=getattr(row, "unknown_attempt", None),
            )
            for row, message_id in items
        ]  # fmt: skip
        # No model signals, as every attempt row (the audit reads them itself).
        if self.db.vendor == "postgresql":
            self._insert_postgresql(attempts)
        else:
            DeliveryAttempt.objects.bulk_create(attempts)
        self.unused = {attempt.reminder_id: attempt for attempt in attempts}

    def _insert_postgresql(self, attempts):
        """bulk_create's INSERT without its per-object preparation: one array per column."""
        columns = [[] for _ in range(6)]
        for a in attempts:
            values = (a.reminder_id, a.attempted_at, a.to_email, a.message_id, a.resend_of_id)
            for column, value in zip(columns, (*values, a.outcome), strict=True):
                column.append(value)
        columns[-1] = [str(outcome) for outcome in columns[-1]]
        with self.db.cursor() as cursor:
            cursor.execute(_INSERT_SQL.format(**_TABLES), [WORKER, *columns])
            ids = dict(cursor.fetchall())
        for attempt in attempts:
            attempt.pk = ids[attempt.reminder_id]

    def begin(self, row, now):
        """The attempt of the message about to go to the relay (its row is written)."""
        attempt = self.unused.pop(row.pk)
        attempt.attempted_at = now
        return attempt

    def finish(self, row, attempt, outcome, now, error="", code=None):
        """The relay's answer for the outbox row and its attempt, written with the next flush.
        Returns the outcome to record (a retry past the last attempt fails)."""
        outcome = _apply(row, outcome, now, error)
        attempt.outcome, attempt.completed_at = outcome, now
        attempt.error, attempt.smtp_code = error[:2000], code
        self.answered.append((row, attempt))
        now_s = time.monotonic()
        self.oldest = now_s if self.oldest is None else self.oldest
        if self.slow or now_s - self.oldest >= FLUSH_SECONDS:
            self.flush()
        return outcome

    def flush(self):
        """Write the answers not written yet: one statement (two on SQLite)."""
        if not self.answered:
            return
        answered = self.answered
        if self.db.vendor == "postgresql":
            lost = self._flush_postgresql(answered)
        else:
            lost = self._flush_other(answered)
        self.answered, self.oldest = [], None  # written (kept for another try if not)
        if lost:
            log.warning("lease lost on reminders %s: outcomes not recorded", lost)

    def release(self, rows, now):
        """Rows this batch will not try: the answers so far written, then back to the queue
        as they were (no attempt spent, their unused attempt rows removed)."""
        self.flush()
        self._drop_unused([row.pk for row in rows])
        return release(self.token, rows, now)

    @contextlib.contextmanager
    def sending(self):
        """`with recorder.sending():` around a message being handed to the relay. A relay
        slower than SLOW_SEND_SECONDS a message gets each answer written before the next
        send (it costs little beside such a send), and a send that hangs has the answers
        before it written meanwhile: a worker killed then re-sends no message but that one."""
        started = time.monotonic()
        if self.writer is not None:
            self.writer.enter()
        try:
            yield
        finally:
            if self.writer is not None:
                self.writer.leave()
            self.slow = time.monotonic() - started >= SLOW_SEND_SECONDS

    def close(self):
        """The batch ends: every answer written, attempt rows of messages never sent removed."""
        self.stop_writer()
        self.flush()
        self._drop_unused(list(self.unused))

    def stop_writer(self):
        if self.writer is not None:
            self.writer.stop()
            self.writer = None

    def _drop_unused(self, reminder_ids):
        attempts = [self.unused.pop(pk).pk for pk in reminder_ids if pk in self.unused]
        if attempts:
            DeliveryAttempt.objects.filter(pk__in=attempts, outcome=Outcome.UNKNOWN).delete()

    def _flush_postgresql(self, answered):
        rows = [[] for _ in range(8)]
        attempts = [[] for _ in range(6)]
        for row, attempt in answered:
            for column, value in zip(rows, _row_values(row, attempt), strict=True):
                column.append(value)
            for column, value in zip(attempts, _attempt_values(attempt), strict=True):
                column.append(value)
        with self.db.cursor() as cursor:
            cursor.execute(_FLUSH_SQL.format(**_TABLES), [*rows, self.token, *attempts])
            written = set(cursor.fetchone()[0])
        return sorted({row.pk for row, _attempt in answered} - written)

    def _flush_other(self, answered):
        ops, token = self.db.ops, _token_value(self.token, self.db)
        rows = [[*_row_values(row, attempt, ops)[1:], row.pk, token] for row, attempt in answered]
        attempts = [[*_attempt_values(attempt, ops)[1:], attempt.pk] for _row, attempt in answered]
        with transaction.atomic(using=self.db.alias), self.db.cursor() as cursor:
            cursor.executemany(_ROW_SQL.format(**_TABLES), rows)
            written = cursor.rowcount
            cursor.executemany(_ATTEMPT_SQL.format(**_TABLES), attempts)
        return [] if written == len(rows) else [f"{len(rows) - written} of {len(rows)}"]


class _SlowSendWriter:
    """Writes a batch's answers from a helper thread while the batch waits on a slow send.

    It uses the batch's own database connection, never at the same time as the batch: it
    writes only while a send is under way (the batch touches no database then) and holds
    the lock meanwhile, and the batch takes the lock back (`leave`) before its next query.
    """

    def __init__(self, recorder):
        self.recorder = recorder
        self.lock = threading.Condition()
        self.since = None  # time.monotonic() when the send under way started
        self.done = False
        self.thread = None

    def enter(self):
        with self.lock:
            if self.thread is None:
                self.recorder.db.inc_thread_sharing()
                self.thread = threading.Thread(target=self._run, name="answers", daemon=True)
                self.thread.start()
            self.since = time.monotonic()

    def leave(self):
        with self.lock:  # waits for a write under way
            self.since = None

    def stop(self):
        with self.lock:
            self.done = True
            self.lock.notify()
        if self.thread is not None:
            self.thread.join()
            self.recorder.db.dec_thread_sharing()

    def _run(self):
        with self.lock:
            while not self.done:  # a look every SLOW_SEND_SECONDS: no wake-up per send
                self.lock.wait(SLOW_SEND_SECONDS)
                since = self.since
                if since is None or time.monotonic() - since < SLOW_SEND_SECONDS:
                    continue
                try:
                    self.recorder.flush()
                except Exception:  # the batch writes them itself after the send
                    log.warning("answers not written during a slow send", exc_info=True)
                    self.since = None


def _datetime(value, ops=None):
    return value if ops is None or value is None else ops.adapt_datetimefield_value(value)


def _row_values(row, attempt, ops=None):
    """id, status, send_at, sent_at, message_id, attempts, last_error, updated_at."""
    return [
        row.pk, str(row.status), _datetime(row.send_at, ops), _datetime(row.sent_at, ops),
        row.message_id, row.attempts, row.last_error, _datetime(attempt.completed_at, ops),
    ]  # fmt: skip


def _attempt_values(attempt, ops=None):
    """id, outcome, attempted_at, completed_at, error, smtp_code."""
    return [
        attempt.pk, str(attempt.outcome), _datetime(attempt.attempted_at, ops),
        _datetime(attempt.completed_at, ops), attempt.error, attempt.smtp_code,
    ]  # fmt: skip


def _token_value(token, db):
    return Reminder._meta.get_field("lease_token").get_db_prep_value(token, db)


_TABLES = {"reminder": Reminder._meta.db_table, "attempt": DeliveryAttempt._meta.db_table}
# PostgreSQL: the answers of a batch's slice in ONE statement, atomic by itself: the outbox rows
# (a compare-and-set on the lease token: a worker that lost its lease writes nothing) and their
# attempts, one array per column bound server-side. It returns the outbox rows written.
# `status || ''` keeps the planner on the primary key: written plainly, the test matches the
# partial lease index, which statistics taken while nothing was being sent price as empty.
_FLUSH_SQL = """
WITH v AS (
    SELECT * FROM unnest(%b::bigint[], %b::varchar[], %b::timestamptz[], %b::timestamptz[],
        %b::varchar[], %b::integer[], %b::text[], %b::timestamptz[])
        AS v(id, status, send_at, sent_at, message_id, attempts, last_error, updated_at)
), r AS (
    UPDATE {reminder} AS o SET status = v.status, send_at = v.send_at, sent_at = v.sent_at,
        message_id = v.message_id, attempts = v.attempts, last_error = v.last_error,
        lease_until = NULL, lease_token = NULL, updated_at = v.updated_at
    FROM v WHERE o.id = v.id AND o.lease_token = %b AND o.status || '' = 'sending'
    RETURNING o.id
), a AS (
    UPDATE {attempt} AS d SET outcome = w.outcome, attempted_at = w.attempted_at,
        completed_at = w.completed_at, error = w.error, smtp_code = w.smtp_code
    FROM unnest(%b::bigint[], %b::varchar[], %b::timestamptz[], %b::timestamptz[],
        %b::text[], %b::integer[]) AS w(id, outcome, attempted_at, completed_at, error, smtp_code)
    WHERE d.id = w.id
)
SELECT array(SELECT id FROM r)
"""
# PostgreSQL: the attempt rows of a batch's messages (outcome unknown) in ONE statement.
_INSERT_SQL = """
INSERT INTO {attempt} (reminder_id, attempted_at, to_email, message_id, resend_of_id, outcome,
    worker, error)
SELECT a.*, %b, '' FROM unnest(%b::bigint[], %b::timestamptz[], %b::varchar[], %b::varchar[],
    %b::bigint[], %b::varchar[]) AS a
RETURNING reminder_id, id
"""
# Elsewhere (SQLite in tests): the same writes, one executemany each, in one transaction.
_ROW_SQL = """UPDATE {reminder} SET status = %s, send_at = %s, sent_at = %s, message_id = %s,
    attempts = %s, last_error = %s, lease_until = NULL, lease_token = NULL, updated_at = %s
    WHERE id = %s AND lease_token = %s AND status = 'sending'"""
_ATTEMPT_SQL = """UPDATE {attempt} SET outcome = %s, attempted_at = %s, completed_at = %s,
    error = %s, smtp_code = %s WHERE id = %s"""


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
