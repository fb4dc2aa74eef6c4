"""Issue 13 item 10: words for families only.

Every family page, for a child on every therapy in the catalogue, and every family email is
scanned for staff and catalogue notes: "verify", sources, label talk, "x ULN", centre
templates, web addresses of sources. Before the infusion the plan shows what comes before;
the post-infusion warning signs appear once the infusion is near.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from journey.models import Stage, Therapy
from notifications import emails
from tests import factories_portal_tracker as fp
from tests.test_notifications_emails import GUARDIAN, _row, _texts, world  # noqa: F401

pytestmark = pytest.mark.django_db

# Staff and catalogue words that must never reach a family.
STAFF_WORDS = re.compile(
    r"\bverif|\bunverified\b|\bsources?\b|\blabel\b|\bULN\b|\btemplate\b|Waypoint default"
    r"|hepatology|openFDA|https?://(?!testserver|127\.0\.0\.1)",
    re.I,
)
PAGES = ["portal:home", "portal:child", "portal:people", "portal:card"]
PAGES += ["portal_notifications:settings"]
PAGES += ["portal_tracker:plan", "portal_tracker:labs", "portal_tracker:calendar"]
PAGES += ["portal_tracker:record"]
TODAY = dt.datetime(2026, 1, 25, 15, tzinfo=dt.UTC)


def _visible(html):
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html).replace("&#x27;", "'")


def _leaks(text):
    return sorted({m.group(0) for m in STAFF_WORDS.finditer(text)})


def test_no_staff_or_catalogue_note_on_any_family_page(client, center_a):
    guardian = fp.guardian_with_login(center_a, "parent.words@example.org")
    children = []
    for therapy in Therapy.objects.filter(market_status="approved").order_by("slug"):
        child, journey = fp.child_of(
            guardian, first_name=therapy.slug.title(), therapy=therapy.slug
        )
        if journey.infusion_date and therapy.slug != "kebilidi":
            fp.record(journey, -3, [("ALT", "30", "U/L")])
        children.append(child)
    client.force_login(guardian.user)
    found = {}
    with time_machine.travel(TODAY, tick=False):
        for name in PAGES:
            for child in children if name != "portal:home" else children[:1]:
                args = [] if name == "portal:home" else [child.public_id]
                response = client.get(reverse(name, args=args))
                assert response.status_code == 200, (name, child.first_name)
                leaks = _leaks(_visible(response.content.decode()))
                if leaks:
                    found[(name, child.first_name)] = leaks
    assert found == {}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", GUARDIAN)
def test_no_staff_or_catalogue_note_in_any_family_email(world, kind, language):  # noqa: F811
    family, lab, step, result = world
    family.mother.language = language
    for minimal in (False, True):
        message = emails.build(_row(family, kind, lab, step, result), minimal=minimal)
        for text in _texts(message):
            assert _leaks(_visible(text)) == [], (kind, text)


def _plan(client, guardian, child, when):
    client.force_login(guardian.user)
    with time_machine.travel(when, tick=False):
        url = reverse("portal_tracker:plan", args=[child.public_id])
        return _visible(client.get(url).content.decode())


def test_before_the_infusion_the_plan_shows_what_comes_before(client, center_a):
    guardian = fp.guardian_with_login(center_a, "parent.before@example.org")
    child, journey = fp.child_of(guardian, first_name="Leo", therapy="elevidys", day0=None)
    page = _plan(client, guardian, child, TODAY)
    assert "What comes before the treatment day" in page
    assert "Insurance approval" in page and "Treatment day is planned" in page
    # Signs of liver injury after the infusion mean nothing yet: not shown.
    assert "jaundice" not in page and "myositis" not in page
    assert "Call if anything about your child worries you" in page


def test_warning_signs_appear_once_the_infusion_is_near(client, center_a):
    guardian = fp.guardian_with_login(center_a, "parent.near@example.org")
    child, journey = fp.child_of(guardian, first_name="Leo", therapy="elevidys")
    journey.stage = Stage.INFUSION_SCHEDULED
    journey.save(update_fields=["stage"])
    far = _plan(client, guardian, child, fp.DAY0 - dt.timedelta(days=40))
    near = _plan(client, guardian, child, fp.DAY0 - dt.timedelta(days=10))
    after = _plan(client, guardian, child, fp.DAY0 + dt.timedelta(days=3))
    assert "jaundice" not in far
    assert "jaundice" in near and "jaundice" in after
