"""Celery tasks of the lab interfaces: ids only, safe to run twice."""

from datetime import timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from . import batch, processing
from .models import InboundMessage, MessageStatus

SWEEP_AFTER = timedelta(minutes=2)
SWEEP_LIMIT = 500


@shared_task(
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def process_message(message_id):
    """The message, with others waiting beside it (interfaces.batch.process_with_waiting)."""
    batch.process_with_waiting(message_id)


@shared_task(
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def process_messages(message_ids):
    """A batch of message ids (a busy lab's backlog), processed together (interfaces.batch)."""
    processing.process_messages(message_ids)


@shared_task(ignore_result=True, acks_late=True)
def process_waiting():
    """Beat: accepted messages nobody processed (broker down when they came) are processed."""
    before = timezone.now() - SWEEP_AFTER
    ids = InboundMessage.objects.filter(
        status=MessageStatus.RECEIVED, received_at__lt=before
    ).values_list("pk", flat=True)
    ids = list(ids.order_by("received_at")[:SWEEP_LIMIT])
    for start in range(0, len(ids), batch.BATCH):  # a batch's journey locks held briefly
        processing.process_messages(ids[start : start + batch.BATCH])
