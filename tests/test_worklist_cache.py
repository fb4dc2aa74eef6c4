"""The worklist is served from its cache, and every change it shows is there on the next load.

GIVEN a coordinator who has just loaded the worklist (so its lists are cached)
WHEN  something a list shows changes through the normal path: a result recorded, reviewed
      or corrected, a new day, a reminder failing or escalating in the dispatch, a plan
      extended or its extension closed, a journey closed or moved, a patient renamed
THEN  the next load shows the change; a load with nothing changed reads no list from the
      database, and no cached page holds a CSRF token or another center's rows.
"""

import datetime as dt
import re
import uuid

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from journey import services as journey_services
from journey.models import Membership, Stage
from notifications import dispatch
from notifications.models import Kind, Reminder, Status
from tests import factories as f
from tests import factories_tracker as ft
from tests.conftest import otp_login
from tests.factories_notifications import Family, smtp  # noqa: F401
from tracker import services, worklist_cache
from tracker.models import LabResult, PlanItem, ScheduledLab

WORKLIST = reverse("admin:tracker_worklist_changelist")
D0 = dt.date(2026, 1, 5)
pytestmark = pytest.mark.django_db


def at(day):
    """Noon UTC on `day` after day 0, frozen."""
    moment = dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(12), tzinfo=dt.UTC)
    return time_machine.travel(moment, tick=False)


@pytest.fixture(autouse=True)
def _cache_on(settings):
    """On too without Redis: a test is one process, so its local cache hears every change."""
    settings.WAYPOINT_WORKLIST_CACHE_SECONDS = 60


@pytest.fixture
def clock():
    with at(20) as traveller:
        yield traveller


def _page(client, query=""):
    response = client.get(WORKLIST + query)
    assert response.status_code == 200
    return response


def _counts(response):
    """{section key: the count in its heading} as the page shows them."""
    found = re.findall(r'id="([\w-]+)">\s*<h2>[^<]*\((\d+)\)</h2>', response.text)
    return {key: int(n) for key, n in found}


def _cached(response):
    """True when the lists came from the cache (the view draws them only on a miss)."""
    return "sections" not in response.context


def _journey(center, **kwargs):
    return ft.planned_journey(D0, center=center, **kwargs)


def _draw(journey, day, rows, by=None):
    collected = timezone.make_aware(dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(9)))
    return services.record_results(journey, collected, rows, by=by, now=collected)


# ---------------------------------------------------------------- the cache itself


def test_a_warm_load_reads_no_list_and_shows_the_same_page(client, coordinator_a, center_a, clock):
    _journey(center_a)
    otp_login(client, coordinator_a)
    first = _page(client)
    assert not _cached(first)
    with CaptureQueriesContext(connection) as ctx:
        second = _page(client)
    assert _cached(second)
    assert _counts(second) == _counts(first) and _counts(first)["overdue"] > 0
    tables = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "tracker_" not in tables and "notifications_" not in tables
    # With Redis none at all (permissions and centers: journey/security/admin_site.py); without
    # it the session, user, device, permissions (2) and memberships come from the database.
    limit = 0 if settings.REDIS_URL else 6
    assert len(ctx.captured_queries) <= limit, [q["sql"] for q in ctx.captured_queries]


def test_no_csrf_token_is_cached_and_each_client_gets_its_own(coordinator_a, center_a, clock):
    _journey(center_a)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    tokens = []
    for client in (first, second):
        otp_login(client, coordinator_a)
        response = _page(client)
        assert worklist_cache.MARK not in response.text
        found = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
        assert len(found) > 1  # the logout form's and the lists' forms'
        tokens.append(set(found))
    assert _cached(response) and not tokens[0] & tokens[1]
    lab = ScheduledLab.objects.overdue(timezone.localdate()).first()
    data = {"action": "missed", "target": lab.public_id, "note": "moved away"}
    token = found[-1]  # a form of the cached lists
    response = second.post(WORKLIST, {**data, "csrfmiddlewaretoken": token}, follow=True)
    assert response.status_code == 200 and "Saved." in response.text  # the flash shows


def test_each_page_and_language_has_its_own_entry(client, coordinator_a, center_a, clock):
    for _ in range(4):
        _journey(center_a)  # 4 x 6 overdue: two pages
    otp_login(client, coordinator_a)
    first, second = _page(client), _page(client, "?overdue=2")
    assert not _cached(second) and first.text != second.text
    assert _cached(_page(client, "?overdue=02")) and _cached(_page(client, "?overdue=x"))
    spanish = client.get(WORKLIST, headers={"accept-language": "es"})
    assert not _cached(spanish) and "Download CSV" not in spanish.text


def test_another_centers_coordinator_never_gets_the_page(
    client, coordinator_a, coordinator_b, center_a, clock
):
    j = _journey(center_a)
    otp_login(client, coordinator_a)
    assert str(j.patient) in _page(client).text
    otp_login(client, coordinator_b)
    response = _page(client)
    assert str(j.patient) not in response.text and set(_counts(response).values()) == {0}


def test_without_the_cache_the_page_is_drawn_every_time(
    client, coordinator_a, center_a, clock, settings
):
    settings.WAYPOINT_WORKLIST_CACHE_SECONDS = 0
    _journey(center_a)
    otp_login(client, coordinator_a)
    assert not _cached(_page(client)) and not _cached(_page(client))


# ---------------------------------------------------------------- results


def test_a_new_result_then_its_review_then_its_correction(client, coordinator_a, center_a, clock):
    j = _journey(center_a)
    otp_login(client, coordinator_a)
    assert _counts(_page(client))["review"] == 0
    [result] = _draw(j, 14, [("PLT", "40", "10^9/L")], by=coordinator_a)
    page = _page(client)
    assert _counts(page)["review"] == 1 and "40 10^9/L" in page.text
    services.correct_result(result, "45", "10^9/L", by=coordinator_a, reason="typo")
    page = _page(client)
    assert "45 10^9/L" in page.text and "40 10^9/L" not in page.text
    current = LabResult.objects.get(supersedes=result)
    data = {"action": "review", "target": current.public_id, "note": "seen"}
    response = client.post(WORKLIST, data, follow=True)
    assert "Saved." in response.text and _counts(response)["review"] == 0


def test_a_review_through_the_service(client, coordinator_a, center_a, clock):
    j = _journey(center_a)
    [result] = _draw(j, 14, [("PLT", "40", "10^9/L")], by=coordinator_a)
    otp_login(client, coordinator_a)
    assert _counts(_page(client))["review"] == 1
    services.review_result(result, by=coordinator_a, note="seen")  # a queryset update
    assert _counts(_page(client))["review"] == 0


# ---------------------------------------------------------------- days and plans


def test_a_lab_due_this_week_is_overdue_days_later(client, coordinator_a, center_a):
    with at(20) as traveller:
        _journey(center_a)
        otp_login(client, coordinator_a)
        before = _counts(_page(client))
        traveller.move_to(dt.datetime.combine(D0 + dt.timedelta(days=32), dt.time(12)))
        otp_login(client, coordinator_a)  # the session's idle limit passed meanwhile
        after = _counts(_page(client))
    assert after["overdue"] > before["overdue"]
    assert after["due-soon"] != before["due-soon"]


def test_an_extension_shows_and_closing_it_removes_it(client, coordinator_a, center_a):
    with at(84):
        j = _journey(center_a)
        otp_login(client, coordinator_a)
        assert _counts(_page(client))["extended"] == 0
        _draw(j, 84, [("PLT", "120", "10^9/L")], by=coordinator_a)
        page = _page(client)
        assert _counts(page)["extended"] == 1
        item = PlanItem.objects.get(plan__journey=j, extended_at__isnull=False)
        data = {"action": "close_extension", "item": item.pk, "note": "hematology follows"}
        response = client.post(WORKLIST, data, follow=True)
    assert _counts(response)["extended"] == 0


def test_a_lab_marked_missed_or_moved(client, coordinator_a, center_a, clock):
    _journey(center_a)
    otp_login(client, coordinator_a)
    overdue = _counts(_page(client))["overdue"]
    labs = ScheduledLab.objects.overdue(timezone.localdate()).order_by("pk")
    services.mark_missed(labs[0], by=coordinator_a, reason="moved away")
    assert _counts(_page(client))["overdue"] == overdue - 1
    services.reschedule_lab(labs[1], D0 + dt.timedelta(days=40), by=coordinator_a, reason="ok")
    assert _counts(_page(client))["overdue"] == overdue - 2


# ---------------------------------------------------------------- journeys and patients


def test_closing_the_journey_empties_the_lists(client, coordinator_a, center_a, clock):
    j = _journey(center_a)
    otp_login(client, coordinator_a)
    assert _counts(_page(client))["overdue"] > 0
    journey_services.move_stage(j, Stage.WITHDRAWN, by=coordinator_a, reason="family moved")
    assert set(_counts(_page(client)).values()) == {0}


def test_a_journey_moved_to_another_center(
    client, coordinator_a, coordinator_b, center_a, center_b, clock
):
    j = _journey(center_a)
    other = Client()
    otp_login(client, coordinator_a)
    otp_login(other, coordinator_b)
    assert _counts(_page(client))["overdue"] > 0 and _counts(_page(other))["overdue"] == 0
    j.center = center_b
    j.save()
    assert _counts(_page(client))["overdue"] == 0 and _counts(_page(other))["overdue"] > 0


def test_a_renamed_patient(client, coordinator_a, center_a, clock):
    j = _journey(center_a)
    otp_login(client, coordinator_a)
    assert "Zebediah" not in _page(client).text
    j.patient.first_name = "Zebediah"
    j.patient.save()
    assert "Zebediah" in _page(client).text


def test_a_superuser_sees_every_centers_changes(client, superuser, center_a, center_b, clock):
    _journey(center_b)
    otp_login(client, superuser)
    overdue = _counts(_page(client))["overdue"]
    _journey(center_a)
    assert _counts(_page(client))["overdue"] == 2 * overdue


# ---------------------------------------------------------------- reminders


def _pending(family, kind, **kwargs):
    now = timezone.now()
    return Reminder.objects.bulk_create(  # no signal: only the dispatch can tell the cache
        [
            Reminder(
                key=f"test:{uuid.uuid4().hex}",
                kind=kind,
                center=family.center,
                patient=family.patient,
                journey=family.journey,
                due_on=now.date(),
                send_at=now - dt.timedelta(minutes=1),
                time_zone="UTC",
                **kwargs,
            )
        ]
    )[0]


def test_a_reminder_that_fails_in_the_dispatch(client, coordinator_a, center_a, smtp):  # noqa: F811
    family = Family(center=center_a, father_tz=None)
    _pending(family, Kind.STAGE_CHANGED, guardian=family.mother)
    otp_login(client, coordinator_a)
    assert _counts(_page(client))["failed-reminders"] == 0
    smtp.sink.refuse[family.mother.email] = "550 5.1.1 No such user"
    dispatch.dispatch_due()
    page = _page(client)
    assert _counts(page)["failed-reminders"] == 1 and "No such user" in page.text


def test_an_escalation_while_it_is_sent_and_after_a_lost_lease(client, coordinator_a, center_a):
    family = Family(center=center_a, father_tz=None)
    lab = family.lab(timezone.localdate() - dt.timedelta(days=10))
    _pending(family, Kind.OVERDUE_COORDINATOR, user=coordinator_a, scheduled_lab=lab)
    otp_login(client, coordinator_a)
    assert _counts(_page(client))["escalated-labs"] == 0
    assert dispatch.claim_batch(10, timezone.now()) is not None  # now "sending"
    assert _counts(_page(client))["escalated-labs"] == 1
    assert dispatch.recover_expired_leases(timezone.now() + dt.timedelta(days=1)) == 1
    assert Reminder.objects.get().status == Status.PENDING
    assert _counts(_page(client))["escalated-labs"] == 0


def test_a_new_center_never_finds_a_page_of_a_rolled_back_one(client, coordinator_a, clock):
    """Tests roll back, pks come back: creating a center bumps its version."""
    center = f.CenterFactory()
    otp_login(client, coordinator_a)
    assert worklist_cache.center_key(center.pk) not in worklist_cache.cache.get_many(
        [worklist_cache.center_key(center.pk)]
    )


# ---------------------------------------------------------------- who sees it


def test_a_coordinator_moved_to_another_center_sees_its_lists_at_once(
    client, coordinator_a, center_a, center_b, clock
):
    """Permissions and centers come from the cache too (journey/security/admin_site.py)."""
    a, b = _journey(center_a), _journey(center_b)
    otp_login(client, coordinator_a)
    page = _page(client).text
    assert str(a.patient) in page and str(b.patient) not in page
    Membership.objects.filter(user=coordinator_a).delete()  # a queryset delete: post_delete
    Membership.objects.create(user=coordinator_a, center=center_b)
    page = _page(client).text
    assert str(a.patient) not in page and str(b.patient) in page


def test_a_permission_taken_away_counts_at_once(client, coordinator_a, center_a, clock):
    _journey(center_a)
    otp_login(client, coordinator_a)
    _page(client)
    view = Permission.objects.get(codename="view_scheduledlab")
    for group in coordinator_a.groups.all():
        group.permissions.remove(view)
    coordinator_a.user_permissions.remove(view)
    assert client.get(WORKLIST).status_code == 403
