"""Issue 16 item 2: every abnormal result opens an acknowledgement with a clock.

The acknowledgement is the review (tracker.services.review_result); its deadline is stored on
the result when it is recorded: business hours for an abnormal one, clock hours for a critical
one, from the center's settings. Overdue ones stand out on the worklist.
"""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse

from tests import factories_portal_tracker as fp
from tests.conftest import otp_login
from tracker import services
from tracker.acknowledge import acknowledge_by, add_business_hours
from tracker.models import Flag, LabResult

NY = zoneinfo.ZoneInfo("America/New_York")
WORKLIST = reverse("admin:tracker_worklist_changelist")


def _ny(*args):
    return dt.datetime(*args, tzinfo=NY)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (_ny(2026, 3, 2, 10), 8, _ny(2026, 3, 3, 10)),  # Monday 10:00: Tuesday 10:00
        (_ny(2026, 3, 2, 7), 8, _ny(2026, 3, 2, 17)),  # before opening: the whole day
        (_ny(2026, 3, 6, 16), 8, _ny(2026, 3, 9, 16)),  # Friday 16:00: Monday 16:00
        (_ny(2026, 3, 7, 12), 2, _ny(2026, 3, 9, 11)),  # Saturday: Monday morning
        (_ny(2026, 3, 2, 20), 1, _ny(2026, 3, 3, 10)),  # evening: next morning
        (_ny(2026, 3, 6, 12), 16, _ny(2026, 3, 10, 12)),  # 5 + 8 + 3 hours, across DST (8 March)
    ],
)
def test_business_hours_count_only_the_working_day(start, hours, due):
    assert add_business_hours(start, hours, "America/New_York") == due


class _Center:
    time_zone = "America/New_York"
    ack_abnormal_hours = 8
    ack_critical_hours = 1


def test_the_clock_by_flag():
    friday_night = _ny(2026, 3, 6, 22)
    center = _Center()
    assert acknowledge_by(Flag.NORMAL, friday_night, center) is None
    assert acknowledge_by(Flag.NO_RANGE, friday_night, center) is None
    # A critical result runs on the clock (its alert goes out at once, any hour).
    assert acknowledge_by(Flag.CRITICAL_HIGH, friday_night, center) == _ny(2026, 3, 6, 23)
    assert acknowledge_by(Flag.HIGH, friday_night, center) == _ny(2026, 3, 9, 17)


@pytest.fixture
def journey(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.ack@example.org")
    return fp.child_of(guardian)[1]


@pytest.mark.django_db
def test_recording_starts_the_clock_from_the_centers_settings(journey, center_a):
    center_a.ack_abnormal_hours, center_a.ack_critical_hours = 4, 2
    center_a.save()
    normal, high, critical = fp.record(
        journey, 14, [("AST", "30", "U/L"), ("ALT", "120", "U/L"), ("PLT", "30", "10^9/L")]
    )
    assert (normal.flag, high.flag, critical.flag) == (Flag.NORMAL, Flag.HIGH, Flag.CRITICAL_LOW)
    entered = high.entered_at  # Monday 19 January, 10:00 UTC = 05:00 in New York
    assert normal.acknowledge_by is None
    assert high.acknowledge_by == _ny(2026, 1, 19, 13)  # 9:00 + 4 business hours
    assert critical.acknowledge_by == entered + dt.timedelta(hours=2)


@pytest.mark.django_db
def test_a_correction_starts_a_new_clock(journey):
    (high,) = fp.record(journey, 14, [("ALT", "120", "U/L")])
    when = dt.datetime(2026, 1, 22, 15, tzinfo=dt.UTC)  # Thursday 10:00 in New York
    new = services.correct_result(high, "130", "U/L", by=None, reason="typo", now=when)
    assert new.acknowledge_by == _ny(2026, 1, 23, 10)  # 7 hours on Thursday, 1 on Friday
    assert new.reviewed_at is None


@pytest.mark.django_db
def test_the_center_may_not_set_a_zero_clock(center_a):
    center_a.ack_critical_hours = 0
    with pytest.raises(IntegrityError), transaction.atomic():
        center_a.save()


@pytest.mark.django_db
def test_overdue_acknowledgements_stand_out_on_the_worklist(client, journey, coordinator_a):
    (late,) = fp.record(journey, 7, [("ALT", "120", "U/L")])  # due Monday 12 Jan 17:00 NY
    (fresh,) = fp.record(journey, 14, [("ALT", "130", "U/L")], hour=20)  # due Tue 20 Jan
    otp_login(client, coordinator_a)
    with time_machine.travel(dt.datetime(2026, 1, 20, 15, tzinfo=dt.UTC), tick=False):
        html = client.get(WORKLIST).content.decode()
    review = html[html.index('id="review"') : html.index('id="overdue"')]
    assert review.count("ack-overdue") == 1
    assert "overdue since 2026-01-12 17:00" in review
    assert "2026-01-20 15:00" in review and "overdue since 2026-01-20" not in review
    # Acknowledged: off the list.
    services.review_result(late, by=coordinator_a, note="seen, repeat as planned")
    with time_machine.travel(dt.datetime(2026, 1, 20, 15, tzinfo=dt.UTC), tick=False):
        html = client.get(WORKLIST).content.decode()
    assert "ack-overdue" not in html
    assert LabResult.objects.awaiting_review().get() == fresh
