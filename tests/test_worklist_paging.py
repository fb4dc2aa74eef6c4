"""The worklist shows a page of each list, most urgent first, and always the list's full count.

GIVEN coordinators whose centers have more overdue draws than one page holds (a draw: one
      journey's labs due the same day, one row)
WHEN  they open the worklist, follow its pager links or ask for a whole list (?overdue=all)
THEN  every row is reachable in urgency order, each list's count is the whole list, the
      CSV still holds every row, the query count does not depend on the center's size, and
      no page parameter shows another center's rows.
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

from notifications.models import Kind, Reminder, Status
from tests import factories as f
from tests import factories_tracker as ft
from tests.conftest import otp_login
from tracker import services
from tracker.draws import group_draws
from tracker.models import ScheduledLab
from tracker.services import worklist

TODAY = dt.date(2026, 3, 2)
DAY0 = TODAY - dt.timedelta(days=20)
WORKLIST = reverse("admin:tracker_worklist_changelist")
CSV_URL = reverse("admin:tracker_worklist_csv")
OVERDUE_PER_PATIENT = 6  # on day 20: baseline, liver x2, platelets day 7, troponin x2
DRAWS_PER_PATIENT = 3  # baseline; day 7 (liver, platelets, troponin); day 14 (liver, troponin)
PER_PAGE = worklist.PER_PAGE
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC), tick=False):
        yield


def _patients_with_work(center, n, therapy=None):
    """n planned journeys, each with 6 overdue draws, an abnormal result and draws this week."""
    therapy = therapy or ft.therapy()
    for _ in range(n):
        patient = f.PatientFactory(center=center, date_of_birth=dt.date(2025, 6, 1))
        j = f.JourneyFactory(patient=patient, therapy=therapy, infusion_date=DAY0)
        services.generate_plan(j, reason="test")
        day14 = dt.datetime.combine(DAY0 + dt.timedelta(days=14), dt.time(9))
        collected = timezone.make_aware(day14)
        services.record_results(j, collected, [("PLT", "120", "10^9/L")], by=None)


def _overdue_in_order(center):
    """The center's overdue draws by urgency: first window closed longest ago first."""
    labs = ScheduledLab.objects.overdue(TODAY).filter(journey__center=center)
    draws = group_draws(labs.order_by("pk"))
    draws.sort(key=lambda d: (min(r.window_end for r in d.rows), d.due_on, d.journey_id))
    return [(draw.journey_id, draw.due_on) for draw in draws]


def _get(client, query=""):
    response = client.get(WORKLIST + query)
    assert response.status_code == 200
    return response, {entry.page.key: entry for entry in response.context["sections"]}


def _ids(entry):
    return [(row["journey_id"], row["due_on"]) for row in entry.page.rows]


def test_every_overdue_row_is_reachable_page_by_page_in_urgency_order(
    client, coordinator_a, center_a
):
    _patients_with_work(center_a, 14)  # 42 overdue draws: three pages of 20 or fewer
    expected = _overdue_in_order(center_a)
    assert len(expected) == 14 * DRAWS_PER_PATIENT
    otp_login(client, coordinator_a)
    seen, query, pages = [], "", 0
    while True:
        response, sections = _get(client, query)
        overdue = sections["overdue"]
        assert overdue.page.count == len(expected)  # the whole list's count on every page
        assert len(overdue.page.rows) <= PER_PAGE
        assert f"({len(expected)})" in response.text
        seen += _ids(overdue)
        pages += 1
        if not overdue.next_url:
            break
        query = overdue.next_url.split("#")[0]
    assert pages == 3
    assert seen == expected
    assert "Rows 41–42 of 42 (page 3 of 3)." in response.text  # the last page's pager
    assert 'rel="prev"' in response.text and 'rel="next"' not in response.text


def test_show_all_lists_the_whole_section_and_links_back(client, coordinator_a, center_a):
    _patients_with_work(center_a, 8)
    expected = _overdue_in_order(center_a)
    otp_login(client, coordinator_a)
    response, sections = _get(client)
    assert len(sections["overdue"].page.rows) == PER_PAGE
    assert sections["overdue"].all_url in response.text.replace("&amp;", "&")
    response, sections = _get(client, "?overdue=all")
    assert _ids(sections["overdue"]) == expected
    assert f"The whole list: {len(expected)} rows." in response.text
    assert f"Show the first {PER_PAGE} only" in response.text
    assert sections["overdue"].page.shows_all and sections["overdue"].first_url == "?#overdue"


def test_a_page_past_the_end_shows_the_last_page_and_garbage_the_first(
    client, coordinator_a, center_a
):
    _patients_with_work(center_a, 8)  # 24 overdue draws: two pages
    expected = _overdue_in_order(center_a)
    otp_login(client, coordinator_a)
    last = (2, expected[PER_PAGE:])
    for past in ("9", "99999999999999999999"):  # the second is past any integer column
        _, sections = _get(client, f"?overdue={past}")
        assert (sections["overdue"].page.number, _ids(sections["overdue"])) == last
    for garbage in ("abc", "0", "-3", "2.5"):
        _, sections = _get(client, f"?overdue={garbage}")
        first = (1, expected[:PER_PAGE])
        assert (sections["overdue"].page.number, _ids(sections["overdue"])) == first


def test_paging_one_section_keeps_the_others_page(client, coordinator_a, center_a):
    _patients_with_work(center_a, 30)  # 30 results awaiting review, 180 overdue
    otp_login(client, coordinator_a)
    _, sections = _get(client, "?review=2&overdue=x")
    assert sections["review"].page.count == 30
    assert len(sections["review"].page.rows) == 30 - PER_PAGE
    assert sections["overdue"].next_url == "?review=2&overdue=2#overdue"
    assert sections["review"].previous_url == "?#review"


def _queries(client, query):
    client.get(WORKLIST + query)  # warm the session and content types
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(WORKLIST + query)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_query_count_is_the_same_for_a_small_and_a_large_center(
    client, coordinator_a, coordinator_b, center_a, center_b
):
    therapy = ft.therapy()
    _patients_with_work(center_a, 8, therapy)  # 24 overdue draws: two pages
    _patients_with_work(center_b, 40, therapy)  # 120 overdue draws: six pages
    counts = {}
    for who in (coordinator_a, coordinator_b):
        otp_login(client, who)
        for query in ("", "?overdue=2", "?overdue=all&review=all&due-soon=all"):
            counts[who.pk, query] = _queries(client, query)
    for query in ("", "?overdue=2", "?overdue=all&review=all&due-soon=all"):
        assert counts[coordinator_a.pk, query] == counts[coordinator_b.pk, query], counts
    print(f"worklist queries: {counts}")


def test_a_page_past_the_end_costs_two_more_queries(client, coordinator_a, center_a):
    """A bookmarked page the list has shrunk below: a count, then the last page."""
    _patients_with_work(center_a, 1)
    otp_login(client, coordinator_a)
    assert _queries(client, "?overdue=5") == _queries(client, "?overdue=1") + 2


def test_no_page_parameter_shows_another_centers_rows(
    client, coordinator_a, coordinator_b, center_a
):
    _patients_with_work(center_a, 5)
    names = [str(lab.journey.patient) for lab in ScheduledLab.objects.select_related("journey")]
    otp_login(client, coordinator_b)
    keys = [entry.page.key for entry in client.get(WORKLIST).context["sections"]]
    for value in ("1", "2", "all", "999"):
        response, sections = _get(client, "?" + "&".join(f"{key}={value}" for key in keys))
        assert all(entry.page.count == 0 and entry.page.rows == [] for entry in sections.values())
        assert not any(name in response.text for name in names)


def test_the_csv_still_holds_every_row(client, coordinator_a, center_a):
    _patients_with_work(center_a, 6)  # 36 overdue, more than a page
    otp_login(client, coordinator_a)
    response = client.get(CSV_URL)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    overdue = [row for row in rows if row["list"] == "overdue"]
    assert len(overdue) == 6 * OVERDUE_PER_PATIENT > PER_PAGE
    _, sections = _get(client)
    draws = {(row["patient_id"], row["due_on"]) for row in overdue}
    assert sections["overdue"].page.count == len(draws) == 6 * DRAWS_PER_PATIENT


def test_acting_on_a_later_page_comes_back_to_it(client, coordinator_a, center_a):
    _patients_with_work(center_a, 8)
    draw = _overdue_in_order(center_a)[PER_PAGE + 2]
    labs = ScheduledLab.objects.overdue(TODAY).filter(journey_id=draw[0], due_on=draw[1])
    targets = [str(lab.public_id) for lab in labs]
    otp_login(client, coordinator_a)
    data = {"action": "missed", "target": targets, "note": "moved away"}
    response = client.post(WORKLIST + "?overdue=2", data)
    assert (response.status_code, response.url) == (302, WORKLIST + "?overdue=2")
    assert all(lab.missed_at for lab in ScheduledLab.objects.filter(public_id__in=targets))
    _, sections = _get(client, "?overdue=2")
    assert sections["overdue"].page.count == 23 and draw not in _ids(sections["overdue"])


def _failed_reminders(center, n):
    guardianship = f.GuardianshipFactory(patient__center=center)
    now = timezone.now()
    Reminder.objects.bulk_create(
        Reminder(
            key=f"g{guardianship.guardian_id}:paging:{i}",
            kind=Kind.LAB_REMINDER,
            guardian=guardianship.guardian,
            center=center,
            patient=guardianship.patient,
            due_on=TODAY,
            send_at=now - dt.timedelta(minutes=i),
            time_zone="UTC",
            status=Status.FAILED,
            attempts=5,
            last_error=f"550 mailbox {i:02d}",
        )
        for i in range(n)
    )


def test_registered_sections_are_paged_too(client, coordinator_a, center_a, center_b):
    _failed_reminders(center_a, 30)
    _failed_reminders(center_b, 3)
    otp_login(client, coordinator_a)
    response, sections = _get(client)
    failed = sections["failed-reminders"]
    assert failed.page.count == 30 and len(failed.page.rows) == PER_PAGE
    assert "550 mailbox 00" in response.text and "550 mailbox 29" not in response.text
    response, sections = _get(client, "?failed-reminders=2")
    assert [r.last_error for r in sections["failed-reminders"].page.rows] == [
        f"550 mailbox {i:02d}" for i in range(PER_PAGE, 30)
    ]


def test_a_coordinator_without_centers_sees_empty_lists_and_a_superuser_every_center(
    client, coordinator_a, center_a, superuser
):
    """A section that cannot have rows (no centers to look in) is left out of the page's one
    key statement; the superuser's lists hold every center's rows."""
    _patients_with_work(center_a, 2)
    coordinator_a.memberships.all().delete()
    otp_login(client, coordinator_a)
    _, sections = _get(client, "?overdue=3")
    assert all(entry.page.count == 0 and entry.page.rows == [] for entry in sections.values())
    otp_login(client, superuser)
    _, sections = _get(client)
    assert sections["overdue"].page.count == 2 * DRAWS_PER_PATIENT
    assert sections["review"].page.count == 2
