"""Each tracker page runs the same small number of queries however long the history is.

GIVEN two children of one guardian, one with 5 results and one with 60
WHEN  the guardian opens each page for each child
THEN  both runs make the same number of queries, and no more than the page's budget.
"""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories_portal_tracker as fp
from tracker import calendar
from tracker.models import LabResult

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_portal_tracker")]
TODAY = dt.datetime(2026, 5, 20, 15, tzinfo=dt.UTC)
# Session (none when cached, with Redis), the user with their guardian row (one query),
# then the page: the journey with its child (one query, through journey.access), then plan:
# items + their dates (prefetch) + lab catalogue;
# labs: dates + results + catalogue; calendar: the live link. Every request reads them all:
# no page is cached. The feed: link+guardian+login, access check, dates.
SESSION = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1
# labs: + 1 for the family's outside results not checked yet (reports.labs_block), one query
# whatever their number.
BUDGET = {"portal_tracker:plan": 5, "portal_tracker:labs": 6, "portal_tracker:calendar": 3}
BUDGET = {name: budget + SESSION for name, budget in BUDGET.items()}


@pytest.fixture
def children(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.a@example.org")
    short, short_journey = fp.child_of(guardian, first_name="Maya")
    long, long_journey = fp.child_of(guardian, first_name="Leo")
    assert fp.history(short_journey, 5) == 5
    assert fp.history(long_journey, 60) == 60
    fp.record(long_journey, 35, [("ALT", "140", "U/L"), ("PLT", "30", "10^9/L")])  # flagged
    assert LabResult.objects.filter(journey=long_journey).count() == 62
    return guardian, short, long


def _count(client, name, child):
    url = reverse(name, kwargs={"public_id": child.public_id})
    with time_machine.travel(TODAY, tick=False), CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", list(BUDGET))
def test_page_queries_do_not_grow_with_history(client, children, name, django_assert_num_queries):
    guardian, short, long = children
    client.force_login(guardian.user)
    for child in (short, long):
        calendar.new_feed(guardian, child)
    _count(client, name, short)  # warm the session
    few, many = _count(client, name, short), _count(client, name, long)
    assert few == many
    with django_assert_num_queries(BUDGET[name]), time_machine.travel(TODAY, tick=False):
        client.get(reverse(name, kwargs={"public_id": long.public_id}))


def test_feed_queries_do_not_grow_with_history(client, children, django_assert_max_num_queries):
    guardian, short, long = children
    counts = []
    for child in (short, long):
        path = calendar.feed_path(calendar.new_feed(guardian, child))
        with time_machine.travel(TODAY, tick=False), CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(3):
        client.get(path)
