"""Celery tasks: thin wrappers around the services, ids only, safe to run twice."""

import logging

from celery import shared_task

from . import dispatch, services

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def plan_reminders(patient_ids=None, journey_ids=(), guardian_ids=(), then_dispatch=False):
    """Reconcile the outbox for these children (all of them when nothing is given)."""
    everyone = patient_ids is None and not journey_ids and not guardian_ids
    ids = (
        None
        if everyone
        else set(patient_ids or ()) | services.patient_ids_for(journey_ids, guardian_ids)
    )
    counts = services.reconcile(ids)
    if then_dispatch:
        dispatch_due.delay()
    return vars(counts)


@shared_task(ignore_result=True)
def dispatch_due():
    """Send what is due now. Exits quietly when nothing is."""
    return vars(dispatch.dispatch_due())
