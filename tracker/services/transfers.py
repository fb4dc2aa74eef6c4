"""A child handed over to another center: the rows that copy the journey's center move too."""

from ..models import LabResult, ScheduledLab


def on_journeys_moved(sender, patient_id, to_center_id, **kwargs):
    """journey.signals.journeys_moved receiver, inside the transfer's transaction: the child's
    scheduled labs and results follow the journeys (the worklist scopes them by their own
    center), in the same commit or not at all."""
    for model in (ScheduledLab, LabResult):
        model.objects.filter(journey__patient_id=patient_id).update(center_id=to_center_id)
