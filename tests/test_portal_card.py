"""Issue 13 item 11: an emergency card an emergency room can use.

Full name, date of birth, diagnosis, therapy and infusion date, the current steroid and what
it means (stress dose), the latest key results with their dates, the center's 24-hour number,
and "treat as needed; call the 24-hour number" (never "call before treating").
"""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from journey.models import Condition
from tests import factories as f
from tests import factories_portal_tracker as fp

pytestmark = pytest.mark.django_db
TODAY = dt.datetime(2026, 1, 25, 15, tzinfo=dt.UTC)  # day 20 of the Zolgensma plan


@pytest.fixture
def family(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.card@example.org")
    child, journey = fp.child_of(guardian, first_name="Maya")
    child.last_name, child.date_of_birth = "Rivera", dt.date(2025, 6, 3)
    child.save()
    sma = Condition.objects.filter(code="sma").first() or f.ConditionFactory(
        code="sma", name="Spinal muscular atrophy"
    )
    f.DiagnosisFactory(patient=child, condition=sma)
    fp.record(journey, -3, [("ALT", "30", "U/L"), ("PLT", "260", "10^9/L")])
    fp.record(journey, 14, [("ALT", "120", "U/L"), ("PLT", "240", "10^9/L")])
    return guardian, child, journey


def _card(client, guardian, child, when=TODAY):
    client.force_login(guardian.user)
    with time_machine.travel(when, tick=False):
        html = client.get(reverse("portal:card", args=[child.public_id])).content.decode()
    wallet = html[html.index('class="wallet"') :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", wallet)).replace("&#x27;", "'")


def test_the_card_names_the_child_fully_with_birth_date_and_diagnosis(client, family):
    guardian, child, _journey = family
    card = _card(client, guardian, child)
    assert "Maya Rivera" in card
    assert "June 3, 2025" in card
    assert "Spinal muscular atrophy" in card
    assert "Zolgensma" in card and "Jan. 5, 2026" in card


def test_the_card_says_treat_then_call_never_call_before_treating(client, family):
    guardian, child, _journey = family
    card = _card(client, guardian, child)
    assert "before treating" not in card
    assert "Treat as needed" in card
    assert "+1 555 0199" in card or child.center.after_hours_phone in card


def test_the_card_shows_the_current_steroid_and_the_stress_dose_risk(client, family):
    guardian, child, _journey = family
    card = _card(client, guardian, child)
    assert "Prednisolone 1 mg/kg/day" in card
    assert "since Jan. 4, 2026" in card  # the day before the infusion
    assert "stress dose" in card


def test_no_steroid_line_once_the_course_is_long_over(client, family):
    guardian, child, _journey = family
    card = _card(client, guardian, child, when=dt.datetime(2026, 9, 1, 15, tzinfo=dt.UTC))
    assert "stress dose" not in card


def test_the_card_lists_the_latest_key_results_with_their_dates(client, family):
    guardian, child, _journey = family
    card = _card(client, guardian, child)
    assert "ALT" in card and "120 U/L" in card and "Jan. 19, 2026" in card
    assert "30 U/L" not in card  # only the latest of each test
    assert "PLT" in card and "240" in card


def test_the_card_puts_results_outside_the_range_first(client, family):
    guardian, child, journey = family
    fp.record(journey, 16, [("ALT", "30", "U/L"), ("PLT", "40", "10^9/L")])
    card = _card(client, guardian, child)
    results = card[card.index("Latest results") :]
    assert results.index("PLT 40") < results.index("ALT 30")


def test_the_card_costs_the_same_queries_with_many_results(client, family, center_a):
    guardian, child, journey = family
    url = reverse("portal:card", args=[child.public_id])
    client.force_login(guardian.user)
    with time_machine.travel(TODAY, tick=False), CaptureQueriesContext(connection) as few:
        client.get(url)
    for day in (-2, -1, 7):
        fp.record(journey, day, [("ALT", "40", "U/L"), ("AST", "40", "U/L")])
    with time_machine.travel(TODAY, tick=False), CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)
