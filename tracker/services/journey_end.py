"""A journey that ends closes its open labs and visits: nothing is due for it any more."""

from django.utils import timezone
from django.utils.translation import gettext as _

from journey.models import Stage
from journey.services import center_today

from ..models import ScheduledLab


def on_journey_ended(sender, journey, change, **kwargs):
    """journey.signals.journey_ended receiver, inside the stage move's transaction: so that an
    open lab always belongs to an open journey (the worklist lists open labs without reading
    their journey), the journey's open labs close. One whose window had already closed is
    missed, as it was (the record keeps it); the others are cancelled. Both carry the move's
    time and the stage; the stage change records who ended the journey and why."""
    labs = ScheduledLab.objects.filter(journey=journey).open()
    today = center_today(journey, change.moved_at)
    stage = Stage(change.to_stage).label
    missed = labs.filter(window_end__lt=today).update(
        missed_at=change.moved_at,
        missed_by=change.moved_by,
        missed_reason=_("Not done before the journey ended: %(stage)s.") % {"stage": stage},
    )
    cancelled = labs.update(cancelled_at=change.moved_at, cancel_reason=ended_reason(stage))
    return missed + cancelled


def ended_reason(stage):
    """Why a lab of an ended journey was cancelled (`stage`: its label)."""
    return _("The journey ended: %(stage)s.") % {"stage": stage}


def close_if_ended(lab, now=None):
    """A done lab opened again (its result entered in error) on a journey that has ended is
    cancelled instead: nothing is due for it. Returns True when it was."""
    journey = lab.journey
    if journey.is_open:
        return False
    lab.cancelled_at = now or timezone.now()
    lab.cancel_reason = ended_reason(Stage(journey.stage).label)
    return True
