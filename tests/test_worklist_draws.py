"""Issue 13 item 5: a worklist a nurse can work.

GIVEN a coordinator whose center has children with overdue and upcoming draws and results
WHEN  they open the worklist
THEN  each list of labs shows one row per draw (journey and due day) with its tests listed,
      each draw links in one click to result entry for that day, results come critical
      first, then abnormal, then oldest, times are in the center's zone, and "missed"
      closes every test of the draw.
"""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests import factories as f
from tests import factories_tracker as ft
from tests.conftest import otp_login
from tracker import services
from tracker.draws import group_draws
from tracker.models import LabResult, ScheduledLab

TODAY = dt.date(2026, 3, 2)
DAY0 = TODAY - dt.timedelta(days=20)
WORKLIST = reverse("admin:tracker_worklist_changelist")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC), tick=False):
        yield


def _journey(center, therapy=None, day0=DAY0):
    patient = f.PatientFactory(center=center, date_of_birth=dt.date(2025, 6, 1))
    journey = f.JourneyFactory(patient=patient, therapy=therapy or ft.therapy(), infusion_date=day0)
    services.generate_plan(journey, reason="test")
    return journey


def _at(day, hour, zone=dt.UTC):
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zone)


def _sections(client):
    response = client.get(WORKLIST)
    assert response.status_code == 200
    return response, {entry.page.key: entry for entry in response.context["sections"]}


def test_overdue_and_due_soon_show_one_row_per_draw_with_its_tests(client, coordinator_a, center_a):
    journey = _journey(center_a)
    overdue = group_draws(ScheduledLab.objects.overdue(TODAY).filter(journey=journey))
    assert len(overdue) < ScheduledLab.objects.overdue(TODAY).filter(journey=journey).count()
    otp_login(client, coordinator_a)
    response, sections = _sections(client)
    page = sections["overdue"].page
    assert page.count == len(overdue)
    assert [row["due_on"] for row in page.rows] == sorted(d.due_on for d in overdue)
    for draw, row in zip(sorted(overdue, key=lambda d: d.due_on), page.rows, strict=True):
        titles = sorted({lab.item.title for lab in draw.rows})
        assert row["tests"] == titles
    due_soon = sections["due-soon"].page
    assert len({(r["journey_id"], r["due_on"]) for r in due_soon.rows}) == len(due_soon.rows)


def test_each_draw_links_in_one_click_to_result_entry_for_its_day(client, coordinator_a, center_a):
    journey = _journey(center_a)
    otp_login(client, coordinator_a)
    response, sections = _sections(client)
    entry = reverse("admin:tracker_enter_results", args=[journey.pk])
    for key in ("overdue", "due-soon"):
        for row in sections[key].page.rows:
            assert f'href="{entry}?due={row["due_on"].isoformat()}"' in response.text


def test_results_come_critical_first_then_abnormal_then_oldest(client, coordinator_a, center_a):
    therapy = ft.therapy()
    older, newer, critical = (_journey(center_a, therapy) for _ in range(3))
    day = DAY0 + dt.timedelta(days=14)
    services.record_results(older, _at(day, 9), [("PLT", "120", "10^9/L")], by=None)
    services.record_results(newer, _at(day, 11), [("PLT", "110", "10^9/L")], by=None)
    services.record_results(critical, _at(day, 12), [("PLT", "12", "10^9/L")], by=None)
    otp_login(client, coordinator_a)
    _, sections = _sections(client)
    order = [row["journey__patient_id"] for row in sections["review"].page.rows]
    assert order == [critical.patient_id, older.patient_id, newer.patient_id]
    keys = list(sections)
    assert keys.index("review") < keys.index("overdue")


def test_result_times_show_in_the_centers_zone(client, coordinator_a, center_a):
    center_a.time_zone = "America/Chicago"
    center_a.save()
    journey = _journey(center_a)
    collected = _at(DAY0 + dt.timedelta(days=14), 15)  # 09:00 in Chicago (CST)
    services.record_results(journey, collected, [("PLT", "120", "10^9/L")], by=None)
    otp_login(client, coordinator_a)  # the coordinator's own zone is UTC
    response, _ = _sections(client)
    day = (DAY0 + dt.timedelta(days=14)).isoformat()
    assert f"{day} 09:00" in response.text
    assert f"{day} 15:00" not in response.text


def test_missed_closes_every_test_of_the_draw(client, coordinator_a, center_a):
    journey = _journey(center_a)
    otp_login(client, coordinator_a)
    _, sections = _sections(client)
    row = next(r for r in sections["overdue"].page.rows if len(r["labs"]) > 1)
    data = {"action": "missed", "target": row["labs"], "note": "family travelling"}
    assert client.post(WORKLIST, data).status_code == 302
    labs = ScheduledLab.objects.filter(journey=journey, due_on=row["due_on"], window_end__lt=TODAY)
    assert labs.count() == len(row["labs"]) and all(lab.missed_at for lab in labs)
    _, sections = _sections(client)
    assert row["due_on"] not in [r["due_on"] for r in sections["overdue"].page.rows]


def test_missed_refuses_another_centers_draw(client, coordinator_b, center_a, center_b):
    journey = _journey(center_a)
    labs = list(ScheduledLab.objects.overdue(TODAY).filter(journey=journey)[:2])
    otp_login(client, coordinator_b)
    data = {"action": "missed", "target": [str(lab.public_id) for lab in labs], "note": "x"}
    assert client.post(WORKLIST, data).status_code == 404
    assert not ScheduledLab.objects.filter(missed_at__isnull=False).exists()


def test_review_rows_are_not_lost_when_results_are_many(client, coordinator_a, center_a):
    journey = _journey(center_a)
    collected = timezone.make_aware(dt.datetime.combine(DAY0 + dt.timedelta(days=14), dt.time(9)))
    services.record_results(journey, collected, [("PLT", "120", "10^9/L")], by=None)
    otp_login(client, coordinator_a)
    _, sections = _sections(client)
    assert sections["review"].page.count == LabResult.objects.awaiting_review().count() == 1


def test_the_worklists_day_is_the_centers(client, coordinator_a, center_a):
    """At 03:00 UTC it is still yesterday in Los Angeles: a draw whose window closes on the
    center's today is not overdue yet (the coordinator's own zone is UTC)."""
    center_a.time_zone = "America/Los_Angeles"
    center_a.save()
    journey = _journey(center_a)
    lab = ScheduledLab.objects.filter(journey=journey).order_by("window_end").first()
    evening = dt.datetime.combine(lab.window_end + dt.timedelta(days=1), dt.time(3), dt.UTC)
    with time_machine.travel(evening, tick=False):  # the evening of window_end in LA
        otp_login(client, coordinator_a)
        response, sections = _sections(client)
    assert response.context["today"] == lab.window_end
    assert lab.due_on not in {row["due_on"] for row in sections["overdue"].page.rows}
