"""The center copied onto scheduled labs and results (from their journey), filled in one place.

The worklist filters a center's rows from partial indexes led by the center: reading the
center's ~4,300 open journeys and probing each for its few overdue labs read ~50,000 index
entries at 100,000 patients. So every row carries its journey's center: save() and
bulk_create() fill it when missing, and a transfer moves it with the journey
(tracker.services.transfers, heard from journey.signals.journeys_moved).
"""

from django.db import models

from journey.models import Journey


def fill_centers(rows):
    """Set center_id from each row's journey where it is missing: the journey's cached on the
    row if it is, else one query for the others."""
    missing = [row for row in rows if row.center_id is None and row.journey_id is not None]
    uncached = {row.journey_id for row in missing if not _journey_cached(row)}
    centers = {}
    if uncached:
        centers = dict(Journey.objects.filter(pk__in=uncached).values_list("pk", "center_id"))
    for row in missing:
        cached = _journey_cached(row)
        row.center_id = row.journey.center_id if cached else centers.get(row.journey_id)
    return rows


def _journey_cached(row):
    journey = type(row).journey
    return journey.is_cached(row) and row.journey.pk == row.journey_id


class CenteredQuerySet(models.QuerySet):
    """bulk_create fills the rows' center (one query for the journeys not loaded)."""

    def bulk_create(self, objs, *args, **kwargs):
        return super().bulk_create(fill_centers(list(objs)), *args, **kwargs)


class CenteredRow(models.Model):
    """save() fills the center from the journey when it is missing."""

    # Not editable: always the journey's (no index of its own: the partial indexes lead with it).
    center = models.ForeignKey(
        "journey.Center", on_delete=models.PROTECT, related_name="+", db_index=False, editable=False
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        fill_centers([self])
        super().save(*args, **kwargs)
