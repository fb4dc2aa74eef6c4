"""The coordinator downloads the worklist as one CSV.

GIVEN patients at center A with overdue draws, an abnormal result and draws due this week
WHEN  coordinator A downloads the worklist CSV from the worklist page
THEN  one row per worklist entry with a "list" column, the columns of tracker.export.COLUMNS,
      coordinator B sees none of A's rows, a name that looks like a formula is quoted, and the
      query count is the same for 10 and 100 patients.
"""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests import factories as f
from tests import factories_tracker as ft
from tracker import export, services
from tracker.models import LabResult, ScheduledLab

TODAY = dt.date(2026, 3, 2)
DAY0 = TODAY - dt.timedelta(days=20)
CSV_URL = reverse("admin:tracker_worklist_csv")
WORKLIST = reverse("admin:tracker_worklist_changelist")
pytestmark = pytest.mark.django_db

try:  # the admin's second factor (journey.security), once it is in tests/conftest.py
    from tests.conftest import otp_login as staff_login
except ImportError:  # pragma: no cover - before the 2FA gate lands

    def staff_login(client, user):
        client.force_login(user)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC), tick=False):
        yield


def _patient_with_work(center, therapy, **patient):
    """A planned journey with overdue draws, one abnormal result and draws due this week."""
    patient = f.PatientFactory(center=center, date_of_birth=dt.date(2025, 6, 1), **patient)
    j = f.JourneyFactory(patient=patient, therapy=therapy, infusion_date=DAY0)
    services.generate_plan(j, reason="test")
    collected = timezone.make_aware(dt.datetime.combine(DAY0 + dt.timedelta(days=14), dt.time(9)))
    services.record_results(j, collected, [("PLT", "120", "10^9/L")], by=None)
    return j


def _download(client, user):
    staff_login(client, user)
    response = client.get(CSV_URL)
    assert response.status_code == 200
    return response, list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_has_the_worklist_rows_and_columns(client, coordinator_a, center_a):
    j = _patient_with_work(center_a, ft.therapy(), first_name="Maya", last_name="Lopez")
    response, rows = _download(client, coordinator_a)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="worklist-2026-03-02.csv"'
    assert list(rows[0]) == export.COLUMNS
    by_list = {}
    for row in rows:
        by_list.setdefault(row["list"], []).append(row)
    overdue = ScheduledLab.objects.overdue(TODAY).filter(journey=j).count()
    due = ScheduledLab.objects.due_between(TODAY, TODAY + dt.timedelta(days=7)).filter(journey=j)
    assert len(by_list["overdue"]) == overdue == 6
    assert len(by_list["due_next_7_days"]) == due.count() >= 1
    (review,) = by_list["awaiting_review"]
    result = LabResult.objects.get(journey=j)
    assert review["patient"] == "Maya Lopez"
    assert review["patient_id"] == str(j.patient.public_id)
    assert review["center"] == "Center A"
    assert (review["what"], review["result"], review["unit"]) == ("Platelets", "120", "10^9/L")
    assert review["flag"] == result.flag == "low"
    assert review["collected_at"] == "2026-02-24T04:00-05:00"  # 09:00 UTC in New York
    first = by_list["overdue"][0]
    assert first["due_on"] and first["window_end"] < TODAY.isoformat()
    assert first["result"] == "" and first["flag"] == ""


def test_the_worklist_page_links_to_the_csv(client, coordinator_a, center_a):
    staff_login(client, coordinator_a)
    assert CSV_URL in client.get(WORKLIST).text


def test_coordinator_b_sees_none_of_center_a(client, coordinator_a, coordinator_b, center_a):
    therapy = ft.therapy()
    _patient_with_work(center_a, therapy, last_name="Alpha")
    _patient_with_work(f.CenterFactory(name="Center C"), therapy, last_name="Gamma")
    _, rows = _download(client, coordinator_b)
    assert rows == []
    _, rows = _download(client, coordinator_a)
    assert rows and {r["center"] for r in rows} == {"Center A"}
    assert all("Gamma" not in r["patient"] for r in rows)


def test_formula_injection_is_quoted(client, coordinator_a, center_a):
    _patient_with_work(center_a, ft.therapy(), first_name='=HYPERLINK("x")', last_name="+Neg")
    _, rows = _download(client, coordinator_a)
    assert rows
    for row in rows:
        assert row["patient"] == '\'=HYPERLINK("x") +Neg'
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Maya", "Maya"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_safe_cell(value, expected):
    assert export.safe_cell(value) == expected


def test_needs_the_worklist_view_permission(client, center_a):
    outsider = f.UserFactory(email="staff.noperm@example.org", is_staff=True)
    f.CenterFactory()
    staff_login(client, outsider)
    assert client.get(CSV_URL).status_code == 403
    client.logout()
    response = client.get(CSV_URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def _csv_queries(client, user):
    staff_login(client, user)
    client.get(CSV_URL)  # warm the session
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(CSV_URL)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode("utf-8-sig").count("\n") - 1


def test_query_count_is_constant_for_10_and_100_patients(client, coordinator_a, center_a):
    therapy = ft.therapy()
    for _ in range(10):
        _patient_with_work(center_a, therapy)
    small, small_rows = _csv_queries(client, coordinator_a)
    for _ in range(90):
        _patient_with_work(center_a, therapy)
    large, large_rows = _csv_queries(client, coordinator_a)
    assert large_rows > small_rows * 9
    assert large == small
    print(f"worklist CSV queries: {small} for 10 patients, {large} for 100 ({large_rows} rows)")
