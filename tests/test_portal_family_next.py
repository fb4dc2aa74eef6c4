"""Issue 13 item 7: the home and child pages show the draw the family must act on.

Zolgensma plan from day 0 = Jan. 5, 2026 (tests.factories_portal_tracker): weekly draws on
days 7, 14, 21, 28 (Jan. 12, 19, 26, Feb. 2), each any day from 2 days before to 2 after.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from journey import services
from journey.models import ChecklistStep, Responsible, Stage
from tests import factories_portal as fpj
from tests import factories_portal_tracker as fp
from tracker.models import ScheduledLab

pytestmark = pytest.mark.django_db
guardian_a, child_a, client_a = fpj.guardian_a, fpj.child_a, fpj.client_a


def _noon(day):
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


@pytest.fixture
def family(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.next@example.org")
    child, journey = fp.child_of(guardian, first_name="Maya")
    return guardian, child, journey


def _pages(client, guardian, child, today):
    client.force_login(guardian.user)
    with time_machine.travel(_noon(today), tick=False):
        home = client.get(reverse("portal:home")).content.decode()
        page = client.get(reverse("portal:child", args=[child.public_id])).content.decode()
    return _text(home), _text(page)


def _text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


def test_a_draw_past_its_window_does_not_hide_tomorrows(client, family):
    guardian, child, _journey = family
    # Jan. 25: the Jan. 19 draw closed on Jan. 21, undone; the next draw is tomorrow.
    home, page = _pages(client, guardian, child, dt.date(2026, 1, 25))
    assert "Next blood test: Monday, Jan. 26, 2026" in home
    assert "Jan. 19" not in home and "Late" not in home
    assert "Monday, Jan. 26, 2026" in page
    assert "Any day from Jan. 24, 2026 to Jan. 28, 2026 is fine." in page
    # The missed one is the care team's to sort out: said once, calmly, no "Late" tag.
    assert "The blood test of Jan. 19, 2026 was not done in time" in page
    assert "Please call your care team to book it" not in page


def test_a_late_draw_still_inside_its_window_says_what_to_do(client, family):
    guardian, child, _journey = family
    # Jan. 28: the Jan. 26 draw is late but its window runs to today.
    home, page = _pages(client, guardian, child, dt.date(2026, 1, 28))
    assert "Late" in home and "Jan. 26, 2026" in home and "go by Jan. 28, 2026" in home
    assert "This was due on Jan. 26, 2026. There is still time: please have it done by" in page
    assert "Jan. 28, 2026" in page


def test_the_next_draw_names_its_tests_once(client, family):
    guardian, child, journey = family
    home, page = _pages(client, guardian, child, dt.date(2026, 1, 25))
    section = page[page.index("Next blood test") : page.index("See all lab tests")]
    rows = ScheduledLab.objects.filter(journey=journey, due_on=dt.date(2026, 1, 26))
    assert rows.count() >= 2  # liver panel, platelets, troponin: one draw
    assert section.count("Monday, Jan. 26, 2026") == 1
    titles = [r.item.title for r in rows]
    for title in titles:
        assert section.count(title) == 1


def test_steps_the_clinic_owns_never_show_late(client_a, child_a, coordinator_a):
    journey = fpj.journey_with_history(child_a, coordinator_a)
    ChecklistStep.objects.filter(journey=journey).update(due_on=dt.date(2020, 1, 5))
    ChecklistStep.objects.filter(journey=journey, code="genetic-report-on-file").update(
        responsible=Responsible.CLINIC
    )
    ChecklistStep.objects.create(
        journey=journey,
        code="bring-papers",
        stage=Stage.DIAGNOSIS_CONFIRMED,
        title="Bring the insurance card",
        responsible=Responsible.FAMILY,
        due_on=dt.date(2020, 1, 4),
    )
    home = _text(client_a.get(reverse("portal:home")).content.decode())
    page = _text(client_a.get(reverse("portal:child", args=[child_a.public_id])).content.decode())
    steps = page[page.index("Next steps") : page.index("The whole journey")]
    family_step = steps[steps.index("Bring the insurance card") :][:120]
    clinic_step = steps[steps.index("The care team has the gene test report") :][:120]
    assert "Late" in family_step
    assert "Late" not in clinic_step
    assert steps.count("Late") == 1
    assert "Late" in home  # the family's own step comes first and is theirs


def test_a_done_stage_shows_the_day_it_ended(client_a, child_a, coordinator_a):
    opened = dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC)
    with time_machine.travel(opened, tick=False):
        journey = fpj.journey_with_history(child_a, coordinator_a)
    with time_machine.travel(opened + dt.timedelta(days=20), tick=False):
        services.move_stage(
            journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="ok", override_reason="x"
        )
    page = _text(client_a.get(reverse("portal:child", args=[child_a.public_id])).content.decode())
    timeline = page[page.index("The whole journey") :]
    diagnosis = timeline[
        timeline.index("Confirming the diagnosis") : timeline.index("Tests before treatment")
    ]
    assert "March 22, 2026" in diagnosis and "March 2, 2026" not in diagnosis
    assert "since" not in diagnosis and "on March 22, 2026" in diagnosis
    now = timeline[timeline.index("Tests before treatment") :][:80]
    assert "since March 22, 2026" in now


def test_each_child_on_the_home_page_gets_its_own_next_draw(client, family):
    guardian, child, _journey = family
    other, _ = fp.child_of(guardian, first_name="Leo", day0=dt.date(2026, 1, 8))
    home, _page = _pages(client, guardian, child, dt.date(2026, 1, 25))
    maya, leo = home[home.index("Maya") :], home[home.index("Leo") :]
    if home.index("Leo") < home.index("Maya"):
        leo = leo[: leo.index("Maya")]
    else:
        maya = maya[: maya.index("Leo")]
    assert "Next blood test: Monday, Jan. 26, 2026" in maya
    assert "Next blood test: Thursday, Jan. 29, 2026" in leo
