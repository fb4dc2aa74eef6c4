"""One status rule for a scheduled lab (tracker.schedule.lab_status): the model method, the SQL
annotation, the per-status filters, overdue() and open() all give the same answer."""

import datetime as dt

import pytest
from django.utils import timezone

from tests import factories_tracker as ft
from tracker import schedule
from tracker.models import ScheduledLab, Status

pytestmark = pytest.mark.django_db

D0 = dt.date(2026, 1, 5)
STAMP = timezone.make_aware(dt.datetime(2026, 1, 9, 9))
CLOSINGS = {
    "open": {},
    "done": {"done_at": STAMP},
    "missed": {"missed_at": STAMP},
    "cancelled": {"cancelled_at": STAMP},
    "done-then-cancelled": {"done_at": STAMP, "cancelled_at": STAMP},
    "missed-and-done": {"missed_at": STAMP, "done_at": STAMP},
}
# The platelets draw on day 7 +/- 2: its window is [day 5, day 9].
EXPECTED_OPEN = {4: Status.UPCOMING, 5: Status.DUE, 9: Status.DUE, 10: Status.OVERDUE}


def expected(closing, day):
    if "cancelled" in closing:
        return Status.CANCELLED
    if "missed" in closing:
        return Status.MISSED
    if "done" in closing:
        return Status.DONE
    return EXPECTED_OPEN[day]


@pytest.mark.parametrize("closing", sorted(CLOSINGS))
def test_every_reader_of_the_status_agrees(closing):
    j = ft.planned_journey(D0)
    lab = ScheduledLab.objects.get(journey=j, item__code="platelets", sequence=1)
    ScheduledLab.objects.filter(pk=lab.pk).update(**CLOSINGS[closing])
    lab.refresh_from_db()
    rows = ScheduledLab.objects.filter(pk=lab.pk)
    for day, _status in EXPECTED_OPEN.items():
        today = D0 + dt.timedelta(days=day)
        want = expected(closing, day)
        assert lab.status(today) == want
        assert rows.with_status(today).get().status == want
        assert [s for s in Status if rows.filter(schedule.status_q(s, today)).exists()] == [want]
        assert rows.overdue(today).exists() is (want == Status.OVERDUE)
        assert rows.open().exists() is lab.is_open is (want in schedule.OPEN_STATUSES)
