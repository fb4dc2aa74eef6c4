"""The next lab or visit on the family's home and child pages.

journey's portal pages send `portal_journeys_loaded` once per page with every journey shown;
this fills `journey.portal_extras["next_visit"]` for all of them in one query.
"""

from tracker.models import ItemKind, ScheduledLab

# What the home and child pages show of the next date (a row has about twenty columns).
# The closing timestamps are read by the one status rule (tracker.schedule.lab_status).
SHOWN = ("journey_id", "due_on", "window_start", "window_end", "item__kind")
SHOWN += ("done_at", "missed_at", "cancelled_at")


def attach_next_visits(sender, journeys, today, **kwargs):
    """The earliest open draw or visit of each journey (checkpoints and hospital stays aside)."""
    labs = (
        ScheduledLab.objects.open()
        .filter(journey__in=journeys, item__inpatient=False)
        .exclude(item__kind=ItemKind.CHECKPOINT)
        .select_related("item")
        .only(*SHOWN)
        .order_by("journey_id", "due_on", "pk")
    )
    first = {}
    for lab in labs:
        first.setdefault(lab.journey_id, lab)
    for journey in journeys:
        lab = first.get(journey.pk)
        if lab is not None:
            lab.portal_status = lab.status(today)
        journey.portal_extras["next_visit"] = lab
