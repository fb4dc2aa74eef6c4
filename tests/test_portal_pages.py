"""What a family sees: their children, the journey timeline, next steps, who can see it, the
emergency card, phone numbers one tap away, dates in their time zone, pages in their language.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from journey import services
from journey.models import ChecklistStep, Stage, Therapy
from tests import factories as f
from tests import factories_portal as fp

guardian_a, child_a, client_a = fp.guardian_a, fp.child_a, fp.client_a


@pytest.fixture
def journey_a(child_a, coordinator_a):
    return fp.journey_with_history(child_a, coordinator_a)


def page(client, name, child=None):
    args = [child.public_id] if child else []
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def test_home_lists_children_with_stage_and_next_step(client_a, guardian_a, journey_a):
    html = page(client_a, "portal:home")
    assert "Mia Rivera" in html
    assert "Confirming the diagnosis" in html  # plain words, not "Diagnosis confirmed"
    assert "Next step" in html
    assert reverse("portal:child", args=[journey_a.patient.public_id]) in html


def test_home_without_a_journey_says_so(client_a, child_a):
    assert "not started the plan yet" in page(client_a, "portal:home")


def test_timeline_shows_done_current_next_with_dates(client_a, child_a, coordinator_a):
    opened = timezone.make_aware(dt.datetime(2026, 3, 2, 15, 0), dt.UTC)
    with time_machine.travel(opened, tick=False):
        journey = fp.journey_with_history(child_a, coordinator_a)
    with time_machine.travel(opened + dt.timedelta(days=20), tick=False):
        services.move_stage(
            journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="ok", override_reason="x"
        )
    html = page(client_a, "portal:child", child_a)
    timeline = html[html.index('class="timeline"') :]
    assert re.search(
        r"Done</span>\s*<span class=\"timeline__name\">Confirming the diagnosis", timeline
    )
    assert re.search(
        r"Now</span>\s*<span class=\"timeline__name\">Tests before treatment", timeline
    )
    assert re.search(r"Next</span>\s*<span class=\"timeline__name\">Insurance approval", timeline)
    # A done stage shows the day it ended; the current one since when (issue 13 item 7).
    assert "on March 22, 2026" in timeline and "since March 22, 2026" in timeline
    assert 'aria-current="step"' in timeline


def test_ended_journey_is_shown_plainly(client_a, child_a, coordinator_a):
    journey = fp.journey_with_history(child_a, coordinator_a, moves=1)
    services.move_stage(journey, Stage.WITHDRAWN, by=coordinator_a, reason="parents paused")
    html = page(client_a, "portal:child", child_a)
    assert "Ended" in html and "Stopped" in html and "The family decided to stop." in html
    assert "parents paused" not in html  # the coordinator's own note stays in the admin
    assert "Next steps" not in html


def test_next_steps_say_who_and_when(client_a, child_a, journey_a):
    ChecklistStep.objects.filter(journey=journey_a, code="genetic-report-on-file").update(
        due_on=dt.date(2020, 1, 5)
    )
    ChecklistStep.objects.create(
        journey=journey_a,
        code="bring-papers",
        stage=Stage.DIAGNOSIS_CONFIRMED,
        title="Bring the insurance card",
        responsible="family",
        due_on=timezone.localdate() + dt.timedelta(days=3),
    )
    html = page(client_a, "portal:child", child_a)
    assert "The care team has the gene test report" in html  # family wording
    assert "Your care team" in html and "The clinic" in html
    assert "Bring the insurance card" in html and "For you" in html
    assert "Jan. 5, 2020" in html and "Late" in html  # not colour alone


def test_dates_are_in_the_guardians_time_zone(client, center_a, coordinator_a):
    guardian, child = fp.family(center_a, email="tokyo@example.org", time_zone="Asia/Tokyo")
    late_evening_utc = timezone.make_aware(dt.datetime(2026, 5, 1, 20, 0), dt.UTC)
    with time_machine.travel(late_evening_utc, tick=False):
        fp.journey_with_history(child, coordinator_a)
    client.force_login(guardian.user)
    html = page(client, "portal:child", child)
    assert "May 2, 2026" in html  # already the next day in Tokyo
    assert "May 1, 2026" not in html


def test_page_is_in_the_guardians_language(client, center_a):
    guardian, child = fp.family(center_a, email="es@example.org", language="es")
    client.force_login(guardian.user)
    response = client.get(reverse("portal:child", args=[child.public_id]))
    assert '<html lang="es">' in response.content.decode()
    assert response["Content-Language"] == "es"


def test_every_child_page_has_both_phone_numbers_as_tel_links(client_a, child_a, journey_a):
    for name in ["portal:child", "portal:people", "portal:card"]:
        html = page(client_a, name, child_a)
        assert 'href="tel:+15550100"' in html, name
        assert 'href="tel:+15550199"' in html, name


def test_who_can_see_lists_guardians_and_the_care_team(client_a, child_a, center_a, center_b):
    f.CoordinatorFactory(email="nurse@example.org", full_name="Nora Nurse", center=center_a)
    f.CoordinatorFactory(email="far@example.org", full_name="Far Away", center=center_b)
    html = page(client_a, "portal:people", child_a)
    assert "Mia" in html
    assert "Nora Nurse" in html and "Care coordinator" in html
    assert "Far Away" not in html
    assert "Can log in" in html


def test_emergency_card(client_a, child_a, coordinator_a):
    therapy = Therapy.objects.get(slug="zolgensma")
    journey = fp.journey_with_history(child_a, coordinator_a, therapy=therapy)
    day0 = timezone.localdate() + dt.timedelta(days=10)
    services.set_infusion_date(journey, day0, by=coordinator_a, reason="set")
    html = page(client_a, "portal:card", child_a)
    assert "Mia Rivera" in html.split('class="wallet"')[1]  # full name for the ER (issue 13)
    assert "Zolgensma" in html and date_format(day0) in html
    assert therapy.urgent_symptoms[0]["en"] in html
    assert "+1 555 0199" in html
    assert "data-print" in html and "portal/print.js" in html


def test_emergency_card_before_a_therapy_is_chosen(client_a, child_a):
    html = page(client_a, "portal:card", child_a)
    assert "not chosen yet" in html and "not set yet" in html


@pytest.mark.parametrize("name", ["portal:home", "portal:child", "portal:people", "portal:card"])
def test_pages_are_accessible_by_construction(client_a, child_a, journey_a, name):
    html = page(client_a, name, None if name == "portal:home" else child_a)
    assert html.count("<h1") == 1
    assert '<html lang="en">' in html
    assert 'href="#main"' in html and 'id="main"' in html
    assert '<form method="post" action="/accounts/logout/"' in html
    assert "<title>" in html and "{%" not in html
