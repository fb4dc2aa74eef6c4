"""Receiving: every message is stored (bytes as received) before its ACK is built.

receive_hl7(raw, channel) -> (InboundMessage, ack bytes). A re-sent message (same sending
facility and message id) finds its first row and gets the same answer; nothing changes.
"""

import contextlib
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import fhir_in, hl7v2
from .models import Channel, InboundMessage, LabSender, MessageStatus, Source

log = logging.getLogger(__name__)

KEEP_BYTES = 64_000  # of a message too large to take: enough to see what it was
STATUS_OF = {"AA": MessageStatus.RECEIVED, "AE": MessageStatus.ERROR, "AR": MessageStatus.REJECTED}


def _check(raw):
    """(parsed message or None, sender, control id, ack code, reason)."""
    message = None
    try:
        message = hl7v2.parse_message(hl7v2.decode(raw))
        sender, control_id = hl7v2.check_header(message)
        hl7v2.read_report(message)
    except hl7v2.Refused as refused:
        message = message if message is not None else hl7v2.msh_only(raw)
        sender, control_id = hl7v2.header(message) if message is not None else ("", "")
        return message, sender, control_id, refused.code, refused.reason
    return message, sender, control_id, "AA", ""


def receive_hl7(raw, channel, *, now=None):
    """Store the message, then answer. AA only once it is in the inbox."""
    raw = bytes(raw)
    message, sender, control_id, code, reason = _check(raw)
    lab = None
    if code == "AA":
        lab = LabSender.objects.filter(sending_facility=sender, active=True).first()
        if lab is None:
            code, reason = "AE", f"Unknown sending facility {hl7v2.clean(sender)!r}."
    row = _store(raw, channel, sender, control_id, lab, code, reason, now or timezone.now())
    _enqueue_if_accepted(row)
    return row, hl7v2.ack(message, row.ack_code, row.reason, f"WP{row.pk}")


def receive_fhir(raw, lab, kind, *, now=None):
    """Store a FHIR Observation or Bundle sent by an authenticated lab system, then answer:
    (row, first time?). A re-sent identifier finds its first row and changes nothing."""
    raw = bytes(raw)
    control_id, code, reason = "", "AA", ""
    try:
        control_id = fhir_in.read_report(raw, lab.sending_facility, kind).control_id
    except hl7v2.Refused as refused:
        code, reason = refused.code, refused.reason
    if code == "AA" and not control_id:
        code, reason = "AE", "The resource has neither an identifier nor an id."
    now = now or timezone.now()
    row = _store(
        raw,
        Channel.HTTP,
        lab.sending_facility,
        control_id,
        lab,
        code,
        reason,
        now,
        source=Source.FHIR,
    )
    _enqueue_if_accepted(row)
    return row, not getattr(row, "resent", False)


def _enqueue_if_accepted(row):
    if row.status == MessageStatus.RECEIVED and row.ack_code == "AA":
        transaction.on_commit(lambda: _enqueue(row.pk))


def _store(raw, channel, sender, control_id, lab, code, reason, now, source=Source.HL7V2):
    kept = raw if len(raw) <= hl7v2.MAX_BYTES else raw[:KEEP_BYTES]
    fields = {
        "channel": channel,
        "lab": lab,
        "received_at": now,
        "size": len(raw),
        "raw": kept,
        "status": STATUS_OF[code],
        "ack_code": code,
        "reason": reason[:500],
    }
    if not control_id or not sender:
        return InboundMessage.objects.create(source=source, sender=sender, control_id="", **fields)
    key = {"source": source, "sender": sender, "control_id": control_id}
    try:
        with _one_statement():
            return InboundMessage.objects.create(**key, **fields)
    except IntegrityError:
        with transaction.atomic():
            first = InboundMessage.objects.select_for_update().get(**key)
            if first.ack_code != "AA" and code == "AA":  # refused before, fixed since: take it
                for name, value in fields.items():
                    setattr(first, name, value)
                first.save()
            else:
                first.resent = True
        return first  # re-sent: an accepted message is never taken twice


def _one_statement():
    """Outside a transaction (the listener), the INSERT commits on its own: stored for good
    before the ACK, without a BEGIN and a COMMIT round trip. Inside one, a savepoint, so a
    re-sent message's IntegrityError leaves the caller's transaction usable."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


def _enqueue(message_id):
    """Ask a worker to process it; if the broker is down the sweep (process_waiting) will."""
    from .tasks import process_message

    try:
        process_message.delay(message_id)
    except Exception as exc:  # broker down: the row waits for the sweep
        log.warning("could not enqueue inbound message %s (%s); the sweep will", message_id, exc)
