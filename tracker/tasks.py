"""Celery tasks of the tracker: thin wrappers around the services, ids only, safe to run twice.

redraw_plan: a signal receiver's plan draw failed; drawn again with backoff.
repair_plans: beat, hourly: the plans that drifted from their journey are redrawn.
"""

import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import IntegrityError, InterfaceError, OperationalError

from journey.models import Journey

from .services import drift, plans

log = logging.getLogger(__name__)

# Lock timeouts, deadlocks, a lost connection, a concurrent draw's unique conflict: a later
# try may succeed. Anything else is logged by Celery and left to the hourly drift check.
TRANSIENT = (OperationalError, InterfaceError, IntegrityError)
# One hourly run redraws at most this many plans (well within the 540 s soft time limit);
# the next run takes the rest.
REPAIR_LIMIT = 500


@shared_task(
    ignore_result=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=5,  # 5, 10, 20 ... 160 s (jittered): six tries within about 5 minutes
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def redraw_plan(journey_id, by_id=None, reason=""):
    """Draw the journey's plan again (generate_plan is idempotent). Exits if it is gone."""
    journey = Journey.objects.filter(pk=journey_id).first()
    if journey is None:
        return None
    by = get_user_model().objects.filter(pk=by_id).first() if by_id else None
    version = plans.generate_plan(journey, by=by, reason=reason)
    return version.number if version else None


@shared_task(ignore_result=True)
def repair_plans(limit=REPAIR_LIMIT):
    """Find the open journeys whose plan does not match them and redraw those plans."""
    counts = drift.repair_drift(limit=limit)
    if counts.found:
        log.warning("Plans repaired: %s", vars(counts))
    return vars(counts)
