"""A guardian's number for texts: set it, confirm it with a code, and what STOP, START, HELP
and the provider's refusals do to it. Every change leaves a NumberEvent row and re-plans the
guardian's children (a number that stops taking texts hands its reminders back to email).
"""

import datetime as dt
import logging
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from .. import services
from . import texts
from .backends import SmsError, get_backend
from .models import NumberEvent, NumberStatus, TextNumber

log = logging.getLogger(__name__)

CODE_TTL = dt.timedelta(minutes=10)
MAX_TRIES = 5  # wrong codes before the code is void (a new one must be sent)
CODES_PER_WINDOW = 3  # codes texted per guardian per window
CODE_WINDOW = dt.timedelta(hours=1)

# Carrier keywords (CTIA; the words Twilio's own opt-out handling honours).
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
START_WORDS = {"START", "YES", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}
E = NumberEvent.Event


class NumberError(Exception):
    """Why a number could not be set or confirmed: `reason` is one of the names below."""

    TOO_MANY = "too_many"  # codes texted past the rate limit
    NOT_SENT = "not_sent"  # the provider did not take the code's text
    NO_CODE = "no_code"  # nothing to confirm (no number, or already confirmed)
    EXPIRED = "expired"  # code too old, or too many wrong tries: send a new one
    WRONG = "wrong"

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def number_for(guardian):
    return TextNumber.objects.filter(guardian=guardian).first()


def set_number(guardian, number, now=None, backend=None):
    """Save `number` (E.164) as the guardian's, unconfirmed, and text it a new code.

    Re-entering the confirmed number changes nothing. NumberError TOO_MANY past the rate limit,
    NOT_SENT when the provider does not take the text (the number is saved: "send again").
    """
    now = now or timezone.now()
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        row = TextNumber.objects.select_for_update().filter(guardian=guardian).first()
        if row is not None and row.number == number and row.status == NumberStatus.ACTIVE:
            return row
        was_active = row is not None and row.can_text
        row = row or TextNumber(guardian=guardian)
        _count_code(row, now)
        row.number, row.status, row.confirmed_at = number, NumberStatus.UNCONFIRMED, None
        row.code_hash, row.code_expires_at = _hash(guardian, number, code), now + CODE_TTL
        row.code_attempts, row.status_changed_at, row.last_error = 0, now, ""
        row.save()
        _event(row, E.SET, now)
    if was_active:
        _replan([guardian.pk], now)
    _text_code(row, code, backend)
    return row


def send_again(guardian, now=None, backend=None):
    """A new code for the saved, unconfirmed number."""
    now = now or timezone.now()
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        row = TextNumber.objects.select_for_update().filter(guardian=guardian).first()
        if row is None or row.status != NumberStatus.UNCONFIRMED:
            raise NumberError(NumberError.NO_CODE)
        _count_code(row, now)
        row.code_hash, row.code_expires_at = _hash(guardian, row.number, code), now + CODE_TTL
        row.code_attempts = 0
        row.save()
        _event(row, E.CODE_SENT, now)
    _text_code(row, code, backend)
    return row


def confirm(guardian, code, now=None):
    """The code the guardian typed: right, the number takes texts from now on."""
    now = now or timezone.now()
    with transaction.atomic():
        row = TextNumber.objects.select_for_update().filter(guardian=guardian).first()
        if row is None or row.status != NumberStatus.UNCONFIRMED or not row.code_hash:
            raise NumberError(NumberError.NO_CODE)
        if row.code_expires_at < now or row.code_attempts >= MAX_TRIES:
            raise NumberError(NumberError.EXPIRED)
        wrong = not constant_time_compare(row.code_hash, _hash(guardian, row.number, code))
        if wrong:  # counted, then raised outside the block (a raise inside would undo it)
            row.code_attempts += 1
            row.save(update_fields=["code_attempts"])
            _event(row, E.WRONG_CODE, now)
        else:
            row.status, row.confirmed_at, row.status_changed_at = NumberStatus.ACTIVE, now, now
            row.code_hash, row.code_expires_at, row.code_attempts = "", None, 0
            row.save()
            _event(row, E.CONFIRMED, now)
    if wrong:
        spent = row.code_attempts >= MAX_TRIES
        raise NumberError(NumberError.EXPIRED if spent else NumberError.WRONG)
    _replan([guardian.pk], now)
    return row


def remove(guardian, now=None):
    """The guardian no longer wants texts at this number: the row goes, the history stays."""
    now = now or timezone.now()
    row = number_for(guardian)
    if row is None:
        return
    with transaction.atomic():
        _event(row, E.REMOVED, now)
        row.delete()
    _replan([guardian.pk], now)


def keyword(body):
    """ "stop", "start", "help" or "" for an inbound text (its first word, any case)."""
    words = (body or "").strip().upper().split()
    first = words[0].strip(".!") if words else ""
    for name, vocabulary in (("stop", STOP_WORDS), ("start", START_WORDS), ("help", HELP_WORDS)):
        if first in vocabulary:
            return name
    return ""


def inbound(from_number, body, now=None):
    """A text to our number: STOP, START and HELP act on every guardian with that number.
    Returns (keyword, language of the reply) or ("", None) when there is nothing to answer."""
    now = now or timezone.now()
    word = keyword(body)
    rows = list(TextNumber.objects.filter(number=from_number).select_related("guardian"))
    if not word or not rows:
        return word, None
    changed = []
    with transaction.atomic():
        for row in rows:
            new = _after_keyword(row, word)
            if new is not None and new != row.status:
                row.status, row.status_changed_at = new, now
                row.save(update_fields=["status", "status_changed_at"])
                changed.append(row.guardian_id)
            _event(row, {"stop": E.STOP, "start": E.START, "help": E.HELP}[word], now)
    if changed:
        _replan(changed, now)
    return word, rows[0].guardian.language


def _after_keyword(row, word):
    if word == "stop":
        return NumberStatus.STOPPED
    if word == "start" and row.status in (NumberStatus.STOPPED, NumberStatus.UNSUBSCRIBED):
        return NumberStatus.ACTIVE if row.confirmed_at else NumberStatus.UNCONFIRMED
    return None


def refused(guardian_id, number_status, error, now=None):
    """The provider refused the number (invalid, unsubscribed): no more texts to it, and the
    coordinator sees it on the worklist (worklist.refused_numbers)."""
    now = now or timezone.now()
    row = TextNumber.objects.filter(guardian_id=guardian_id).first()
    if row is None:
        return
    with transaction.atomic():
        row.status, row.status_changed_at = number_status, now
        row.last_error = error[:500]
        row.save(update_fields=["status", "status_changed_at", "last_error"])
        _event(row, E(str(number_status)), now, error)
    log.warning("text number of guardian %s refused: %s", guardian_id, error)
    _replan([guardian_id], now)


def _count_code(row, now):
    if row.codes_window_start is None or row.codes_window_start + CODE_WINDOW <= now:
        row.codes_window_start, row.codes_sent = now, 0
    if row.codes_sent >= CODES_PER_WINDOW:
        raise NumberError(NumberError.TOO_MANY)
    row.codes_sent += 1


def _text_code(row, code, backend):
    body = texts.code_text(code, row.guardian.language)
    try:
        # The key names this code: a retry of the same request is not a second text.
        (backend or get_backend()).send(str(row.number), body, f"code:{row.pk}:{row.codes_sent}")
    except SmsError as exc:
        log.warning("confirmation code for guardian %s not sent: %s", row.guardian_id, exc)
        raise NumberError(NumberError.NOT_SENT) from exc


def _hash(guardian, number, code):
    value = f"{guardian.pk}:{number}:{code}"
    return salted_hmac("notifications.sms.code", value, algorithm="sha256").hexdigest()


def _event(row, event, now, detail=""):
    NumberEvent.objects.create(
        guardian_id=row.guardian_id, number=str(row.number), event=event, detail=detail, at=now
    )


def _replan(guardian_ids, now):
    """Re-plan the guardians' children now (texts <-> emails); the sweep catches up on error."""
    services.replan_now(services.patient_ids_for(guardian_ids=guardian_ids), now)
