"""A batch of accepted messages processed together: one transaction, one commit, the
batch's journeys, earlier results and local codes read once, its results recorded through
tracker.services.batch.record_collections, its audit records in one INSERT.

Messages that name the same child or the same order are taken in turn (a later one sees
what the earlier recorded), as one at a time would. Should the batch fail (a bug, a row the
database refuses), nothing of it is kept and each message is taken alone in its own
transaction: the one that fails again ends in error with its reason, the others are recorded.
"""

import logging

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from journey.bulk import records_together

from . import hl7v2
from .models import InboundMessage, MessageStatus
from .processing import Catalogue, items_of, journeys_of, process_message, read, settle

log = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)  # the task retries the whole batch
BATCH = 20  # messages a task takes together (one commit, one INSERT of audit records)


def process_messages(message_ids, *, now=None):
    """Process the accepted messages among message_ids once; returns the processed."""
    now = now or timezone.now()
    try:
        return _together(message_ids, now)
    except TRANSIENT:
        raise
    except Exception:
        log.exception("a batch of %s inbound messages failed: one at a time", len(message_ids))
    return _one_by_one(message_ids, now)


def process_with_waiting(message_id, *, limit=BATCH, now=None):
    """The message and others still waiting (oldest first, `limit` in all): a burst from the
    labs is processed in batches by whichever tasks come first; a task whose message an
    earlier batch took finds nothing left to do."""
    waiting = InboundMessage.objects.filter(status=MessageStatus.RECEIVED).exclude(pk=message_id)
    others = waiting.order_by("received_at").values_list("pk", flat=True)[: limit - 1]
    return process_messages([message_id, *others], now=now)


def _together(message_ids, now):
    with transaction.atomic(), records_together():
        messages = list(
            InboundMessage.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("lab__center")
            .filter(pk__in=message_ids, status=MessageStatus.RECEIVED)
            .order_by("pk")
        )
        read_ones = []
        for message in messages:
            try:
                read_ones.append((message, items_of(message, read(message))))
            except hl7v2.Refused as refused:
                message.status, message.reason = MessageStatus.ERROR, refused.reason[:500]
        shared = Catalogue() if read_ones else None  # nothing to read for nothing to do
        journeys = journeys_of([i for _m, items in read_ones for i in items])
        for round_ in _rounds(read_ones):
            items = [i for _m, items in round_ for i in items]
            settle(items, by=None, now=now, shared=shared, journeys=journeys)
        for message, _read in read_ones:
            message.status = MessageStatus.PROCESSED
        _mark(messages, now)
    return messages


def _rounds(read_ones):
    """Messages in rounds: one naming a child or an order of an earlier message comes in a
    round after that message's."""
    rounds, last = [], {}
    for message, items in read_ones:
        keys = {("child", i.center_id, i.record_number) for i in items if i.record_number}
        keys |= {("order", message.lab_id, i.order_id) for i in items if i.order_id}
        number = max((last[k] + 1 for k in keys if k in last), default=0)
        if number == len(rounds):
            rounds.append([])
        rounds[number].append((message, items))
        last.update(dict.fromkeys(keys, number))
    return rounds


def _mark(messages, now):
    """Each message's status and reason, one UPDATE for all that share them."""
    groups = {}
    for message in messages:
        message.processed_at = now
        groups.setdefault((message.status, message.reason), []).append(message.pk)
    for (status, reason), ids in groups.items():
        InboundMessage.objects.filter(pk__in=ids).update(
            status=status, reason=reason, processed_at=now
        )


def _one_by_one(message_ids, now):
    shared, done = Catalogue(), []
    for pk in message_ids:
        try:
            done.append(process_message(pk, now=now, shared=shared))
        except TRANSIENT:
            raise
        except Exception as exc:
            log.exception("inbound message %s could not be processed", pk)
            _failed(pk, exc, now)
    return [m for m in done if m is not None]


def _failed(message_id, exc, now):
    """A message that cannot be processed ends in error, saying why (the rest of the batch
    goes on)."""
    reason = f"Could not be processed ({type(exc).__name__}): see the server's log."
    InboundMessage.objects.filter(pk=message_id, status=MessageStatus.RECEIVED).update(
        status=MessageStatus.ERROR, reason=reason[:500], processed_at=now
    )
