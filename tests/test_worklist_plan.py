"""The worklist's SQL is compiled once per process and run with each request's values.

GIVEN a coordinator whose center has overdue draws, draws this week, abnormal results, and a
      mail relay that went down, and another center with its own
WHEN  the worklist is drawn by the compiled plan (tracker.services.worklist_plan) on later
      days, for either coordinator, with pages past the end
THEN  every section's rows and totals are those the sections' own querysets give that day,
      for that user's centers only; a provider that runs a query while its section is built,
      or reads the clock instead of `at`, is refused when the plan is compiled.
"""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

from journey.models import Center
from notifications.models import Relay, RelayState
from tests import factories as f
from tests import factories_tracker as ft
from tracker import services
from tracker.admin.worklist import _fields
from tracker.services import worklist, worklist_plan
from tracker.services.worklist_pages import section_pages

pytestmark = pytest.mark.django_db
DAY0 = dt.date(2026, 2, 10)


def _work(center, n=3):
    therapy = ft.therapy()
    for _ in range(n):
        patient = f.PatientFactory(center=center, date_of_birth=dt.date(2025, 6, 1))
        journey = f.JourneyFactory(patient=patient, therapy=therapy, infusion_date=DAY0)
        services.generate_plan(journey, reason="test")
        collected = timezone.make_aware(
            dt.datetime.combine(DAY0 + dt.timedelta(days=14), dt.time(9))
        )
        services.record_results(journey, collected, [("PLT", "120", "10^9/L")], by=None)


def _relay_down(since):
    Relay.objects.create(state=RelayState.DOWN, down_since=since, retry_at=since)


def _shown(pages):
    """{section key: (total, page number, the rows' keys)} of [SectionPage]."""
    return {page.key: (page.count, page.number, [_key(row) for row in page.rows]) for page in pages}


def _key(row):
    if isinstance(row, dict):
        return row.get("pk") or (row["journey_id"], row["due_on"], tuple(row["labs"]))
    return row.pk


def _both(user, when, numbers=None):
    """The pages from the compiled plan and from the sections' own querysets."""
    numbers = numbers or {}
    at = worklist.WorklistTime(timezone.localdate(when), when)
    compiled = worklist_plan.pages_for(user, at, lambda s: numbers.get(s.key, 1), _fields)
    sections = worklist.sections(user, at=at)
    plain = section_pages([(s, numbers.get(s.key, 1), _fields(s)) for s in sections])
    return _shown(compiled), _shown(plain)


def test_the_compiled_plan_shows_what_the_querysets_show_on_each_day_for_each_center(
    coordinator_a, coordinator_b, center_a, center_b
):
    _work(center_a, 4)
    _work(center_b, 1)
    _relay_down(timezone.make_aware(dt.datetime.combine(DAY0, dt.time(8))))
    for days in (15, 22, 40):
        when = timezone.make_aware(dt.datetime.combine(DAY0 + dt.timedelta(days=days), dt.time(15)))
        with time_machine.travel(when, tick=False):
            for user in (coordinator_a, coordinator_b):
                compiled, plain = _both(user, when)
                assert compiled == plain
                assert compiled["overdue"][0] > 0 and compiled["relay-down"][0] == 1
    a, _ = _both(coordinator_a, when)
    b, _ = _both(coordinator_b, when)
    assert a["overdue"][0] == 4 * b["overdue"][0]  # each center's own draws


def test_a_page_past_the_end_is_the_last_page_as_without_the_plan(coordinator_a, center_a):
    _work(center_a, 8)
    when = timezone.make_aware(dt.datetime.combine(DAY0 + dt.timedelta(days=40), dt.time(15)))
    with time_machine.travel(when, tick=False):
        compiled, plain = _both(coordinator_a, when, {"overdue": 99, "due-soon": 2})
    assert compiled == plain
    assert compiled["overdue"][1] > 1  # the last of several pages


@override_settings(NOTIFICATIONS_RELAY_ALERT_SECONDS=3600)
def test_a_value_worked_out_from_the_time_follows_each_request(coordinator_a, center_a):
    """The relay banner's cutoff (now minus the alert delay) is worked out per request, with
    the setting of the moment: it is not frozen with the compiled SQL."""
    down = timezone.now()
    _relay_down(down)

    def banner(minutes):
        when = down + dt.timedelta(minutes=minutes)
        at = worklist.WorklistTime(timezone.localdate(when), when)
        pages = worklist_plan.pages_for(coordinator_a, at, lambda s: 1, _fields)
        return {page.key: page.count for page in pages}["relay-down"]

    assert banner(30) == 0
    assert banner(61) == 1
    with override_settings(NOTIFICATIONS_RELAY_ALERT_SECONDS=7200):
        assert banner(61) == 0


def _register(provider):
    worklist.register_worklist_section(provider)
    return provider


@pytest.fixture
def extra_provider():
    added = []
    yield added.append
    for provider in added:
        worklist._SECTION_PROVIDERS.remove(provider)


def test_a_section_that_runs_a_query_while_built_is_refused(
    coordinator_a, center_a, extra_provider
):
    def centers_by_query(user, at=None):
        ids = list(Center.objects.values_list("pk", flat=True))  # kept in the SQL: refused
        return worklist.WorklistSection("by-query", "x", "", Center.objects.filter(pk__in=ids))

    extra_provider(_register(centers_by_query))
    at = worklist.WorklistTime.current()
    with pytest.raises(ImproperlyConfigured, match="ran a query"):
        worklist_plan.pages_for(coordinator_a, at, lambda s: 1, lambda s: None)


def test_a_section_that_reads_the_clock_is_refused(coordinator_a, center_a, extra_provider):
    def by_clock(user, at=None):
        rows = Relay.objects.filter(down_since__lt=timezone.now()).order_by("pk")
        return worklist.WorklistSection("by-clock", "x", "", rows)

    extra_provider(_register(by_clock))
    at = worklist.WorklistTime.current()
    with pytest.raises(ImproperlyConfigured, match="take the time from `at`"):
        worklist_plan.pages_for(coordinator_a, at, lambda s: 1, lambda s: None)
