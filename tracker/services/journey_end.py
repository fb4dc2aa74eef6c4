"""A journey that ends closes its open labs and visits: nothing is due for it any more."""

from django.utils.translation import gettext as _

from journey.models import Stage

from ..models import ScheduledLab


def on_journey_ended(sender, journey, change, **kwargs):
    """journey.signals.journey_ended receiver, inside the stage move's transaction: the
    journey's open labs are cancelled with the move's time and a reason naming the stage, so
    an open lab always belongs to an open journey (the worklist lists open labs without
    reading their journey). Its stage change records who ended it and why."""
    reason = _("The journey ended: %(stage)s.") % {"stage": Stage(change.to_stage).label}
    labs = ScheduledLab.objects.filter(journey=journey).open()
    return labs.update(cancelled_at=change.moved_at, cancel_reason=reason)
