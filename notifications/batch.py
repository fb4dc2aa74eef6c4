"""Per-batch look-ups done once: minimal-mode flags, quiet hours and digest counts."""

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone

from tracker.models import LabResult, ScheduledLab

from . import clock
from .models import CenterNotificationSettings, Preference, Reminder
from .models import Status as S

WEEK = dt.timedelta(days=7)


class BatchContext:
    def __init__(self, minimal_centers, minimal_pairs, digests, quiet=None):
        self.minimal_centers = minimal_centers
        self.minimal_pairs = minimal_pairs
        self.digests = digests
        self.quiet = quiet or {}

    def for_row(self, row):
        minimal = row.center_id in self.minimal_centers or (
            (row.guardian_id, row.patient_id) in self.minimal_pairs
        )
        return {"minimal": minimal, "digest": self.digests.get(row.center_id)}

    def quiet_until(self, row, now):
        """The end of the recipient's quiet hours when `now` is inside them, else None.

        A backlog (after an outage) drains within each family's own hours: planning put
        every row outside them, but a row sent late may have drifted into them.
        """
        hours = self.quiet.get((row.guardian_id, row.patient_id))
        if hours is None:
            return None
        later = clock.send_at(row.time_zone, earliest=now, quiet=hours)
        return later if later > now else None


def batch_context(rows):
    centers = {r.center_id for r in rows}
    minimal_centers = set(
        CenterNotificationSettings.objects.filter(center_id__in=centers, minimal=True).values_list(
            "center_id", flat=True
        )
    )
    guardians = {r.guardian_id for r in rows if r.guardian_id}
    prefs = Preference.objects.filter(guardian_id__in=guardians).filter(
        Q(minimal=True) | Q(quiet_start__isnull=False)
    )
    minimal_pairs, quiet = set(), {}
    for guardian, patient, minimal, start, end in prefs.values_list(
        "guardian_id", "patient_id", "minimal", "quiet_start", "quiet_end"
    ):
        if minimal:
            minimal_pairs.add((guardian, patient))
        if start is not None:
            quiet[(guardian, patient)] = (start, end)
    digest_centers = {r.center_id for r in rows if r.kind == "daily_digest"}
    return BatchContext(minimal_centers, minimal_pairs, digest_counts(digest_centers), quiet)


def digest_counts(center_ids):
    """{center_id: {overdue, due_soon, to_review, failed}} in four grouped queries."""
    if not center_ids:
        return {}
    today = timezone.localdate()
    counts = {c: {"overdue": 0, "due_soon": 0, "to_review": 0, "failed": 0} for c in center_ids}
    # Each row's own center (labs and results copy their journey's): read from the partial
    # indexes led by the center, no join.
    sources = [
        ("overdue", ScheduledLab.objects.overdue(today)),
        ("due_soon", ScheduledLab.objects.due_between(today, today + WEEK)),
        ("to_review", LabResult.objects.awaiting_review()),
        ("failed", Reminder.objects.filter(status=S.FAILED)),
    ]
    for name, queryset in sources:
        grouped = queryset.filter(center_id__in=center_ids).values("center_id")
        for entry in grouped.annotate(n=Count("pk")):
            counts[entry["center_id"]][name] = entry["n"]
    return counts
