"""Celery tasks: thin wrappers around the services, ids only, safe to run twice.

Queues (CELERY_TASK_ROUTES): plan_* on "planning", dispatch_due on "dispatch",
dispatch_alerts on "alerts". Beat's "plan everyone" is a fan-out: plan_reminders() with no
ids publishes one plan_chunk per range of patient ids, so a 100,000-child sweep is many
short tasks any planning worker can take, and a chunk whose worker dies is redelivered
(acks_late + reject_on_worker_lost) and re-run safely (the outbox key is UNIQUE).
"""

import logging

from celery import shared_task

from journey import followup as journey_followup
from tracker import followup as tracker_followup

from . import dispatch, expiry, followup, sweep
from .models import COORDINATOR_KINDS, GUARDIAN_KINDS

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def plan_reminders(
    patient_ids=None, journey_ids=(), guardian_ids=(), then_dispatch=False, chunk_size=None
):
    """Reconcile the outbox for these children; with nothing given, fan out over everyone."""
    if patient_ids is None and not journey_ids and not guardian_ids:
        return fan_out(chunk_size)
    ids = set(patient_ids or ()) | sweep.patient_ids_for(journey_ids, guardian_ids)
    counts = sweep.reconcile(ids)
    if then_dispatch:
        # A critical result: coordinator alerts go out at once, on their own queue.
        dispatch_alerts.delay()
    return vars(counts)


def fan_out(size=None):
    """One plan_chunk per range of children, then the coordinators' digests and approval
    reminders (a few rows)."""
    chunks = sweep.sweep_chunks(size or sweep.RANGE_CHUNK)
    for after, upto in chunks:
        plan_chunk.delay(after, upto)
    counts = sweep.reconcile_digests() + expiry.reconcile_expiry() + followup.reconcile_checks()
    log.info("planning fanned out into %s chunks", len(chunks))
    return {"chunks": len(chunks), **vars(counts)}


@shared_task(ignore_result=True)
def plan_chunk(after, upto):
    """Reconcile the children with after < patient_id <= upto (upto None: no end)."""
    return vars(sweep.reconcile_range(after, upto))


@shared_task(ignore_result=True)
def plan_follow_up():
    """Hourly: yearly contact checks asked, late answers, bounces, silence and missed yearly
    visits marked "at risk"; then the checks' emails planned."""
    asked = journey_followup.sweep()
    missed = tracker_followup.mark_missed_visits()
    watched = followup.watch_families()
    counts = followup.reconcile_checks()
    return {**asked, "missed": missed, "watched": watched, **vars(counts)}


@shared_task(ignore_result=True)
def dispatch_due():
    """Send the guardians' reminders that are due now. Exits quietly when nothing is."""
    return vars(dispatch.dispatch_due(kinds=GUARDIAN_KINDS))


@shared_task(ignore_result=True)
def dispatch_alerts():
    """Send the coordinators' alerts, digests and escalations that are due now."""
    return vars(dispatch.dispatch_due(kinds=COORDINATOR_KINDS))


@shared_task(ignore_result=True)
def dispatch_texts():
    """Send the guardians' text messages that are due now (notifications.sms)."""
    # Imported here: the provider's SDK loads in the worker that sends texts, when it does,
    # not in every process at start (a worker's start-up is part of a breaker's reaction time).
    from .sms.dispatch import dispatch_texts as send_texts

    return vars(send_texts(kinds=GUARDIAN_KINDS))


@shared_task(ignore_result=True)
def age_transitions():
    """Beat, hourly: each center's birthdays that change access, told 60 and 14 days ahead and
    applied on the day (every step once: a re-run or an overlapping run adds nothing)."""
    from . import custody

    return {"steps": len(custody.age_transitions())}
