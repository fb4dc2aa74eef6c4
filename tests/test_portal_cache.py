"""The portal page cache is always correct: every change a page shows is seen on the next load.

GIVEN a guardian whose home and labs pages are cached (a first load)
WHEN  the care team changes something through the normal services or the admin
THEN  the next load shows it (and a revoked child answers 404), while a repeat load with
      nothing changed runs one query (the user) however many children and results there are.
"""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from journey import services as journey_services
from journey.models import Guardianship, Stage
from journey.portal import cache as portal_cache
from journey.portal import words
from tests import factories_portal_tracker as fp
from tests.factories_portal import family, journey_with_history
from tracker.models import LabResult
from tracker.services import correct_result

pytestmark = pytest.mark.django_db
TODAY = dt.datetime(2026, 5, 20, 15, tzinfo=dt.UTC)
SESSION = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1
LOGIN = 0 if settings.WAYPOINT_LOGIN_CACHE_SECONDS else 1  # the user, unless cached
HOME = reverse("portal:home")


def labs_url(child):
    return reverse("portal_tracker:labs", kwargs={"public_id": child.public_id})


def get(client, url, status=200):
    with time_machine.travel(TODAY, tick=False):
        response = client.get(url)
    assert response.status_code == status
    return response.content.decode() if status == 200 else ""


def main(page):
    """The page between <main> tags: the part that comes from the portal cache."""
    return page[page.index("<main") : page.index("</main>")]


def count(client, url):
    with time_machine.travel(TODAY, tick=False), CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture
def family_with_labs(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.a@example.org")
    child, journey = fp.child_of(guardian, first_name="Maya")
    fp.history(journey, 10)
    return guardian, child, journey


@pytest.fixture
def logged_in(client, family_with_labs):
    client.force_login(family_with_labs[0].user)
    return client


# ---------------------------------------------------------------- query counts


def page_url(page, child):
    if page == "home":
        return HOME
    if page == "child":
        return reverse("portal:child", args=[child.public_id])
    return reverse(f"portal_tracker:{page}", kwargs={"public_id": child.public_id})


@pytest.mark.parametrize("page", ["home", "child", "plan", "labs"])
def test_a_repeat_load_runs_no_family_query_however_big_the_family(client, center_a, page):
    small = fp.guardian_with_login(center_a, "small@example.org")
    small_child, small_journey = fp.child_of(small, first_name="Ana")
    fp.history(small_journey, 5)
    big = fp.guardian_with_login(center_a, "big@example.org")
    big_child, big_journey = fp.child_of(big, first_name="Leo")
    fp.history(big_journey, 60)
    for name in ("Kai", "Noa"):
        fp.history(fp.child_of(big, first_name=name)[1], 30)

    counts = []
    for guardian, child in ((small, small_child), (big, big_child)):
        client.force_login(guardian.user)
        url = page_url(page, child)
        get(client, url)  # cold: fills the cache
        counts.append(count(client, url))
    # The user comes from the cache too with Redis (journey/security/lookups.py).
    assert counts == [SESSION + LOGIN, SESSION + LOGIN]


@pytest.mark.parametrize("page", ["home", "child", "plan", "labs"])
def test_a_load_after_a_change_costs_the_same_however_long_the_history(client, center_a, page):
    guardian = fp.guardian_with_login(center_a, "parent@example.org")
    short, short_journey = fp.child_of(guardian, first_name="Ana")
    fp.history(short_journey, 5)
    long, long_journey = fp.child_of(guardian, first_name="Leo")
    fp.history(long_journey, 60)
    client.force_login(guardian.user)

    counts = []
    for child in (short, long):
        url = page_url(page, child)
        get(client, url)
        portal_cache.bump_patients([child.pk])  # as a change to the child does
        counts.append(count(client, url))
    assert counts[0] == counts[1]
    # home: children, journeys, steps, next visits; child: child, journey, steps,
    # next visit, stage changes; plan: child, journey, items, dates, lab catalogue; labs:
    # child, journey, dates, results, lab catalogue.
    assert counts[0] == SESSION + LOGIN + {"home": 4, "child": 5, "plan": 5, "labs": 5}[page]


# ---------------------------------------------------------------- changes are seen


def test_a_new_result_shows_on_the_next_load(logged_in, family_with_labs):
    guardian, child, journey = family_with_labs
    assert "512 U/L" not in get(logged_in, labs_url(child))
    fp.record(journey, 30, [("ALT", "512", "U/L")])
    assert "512 U/L" in get(logged_in, labs_url(child))


def test_a_corrected_result_shows_on_the_next_load(logged_in, family_with_labs):
    guardian, child, journey = family_with_labs
    before = get(logged_in, labs_url(child))
    assert "corrected by the care team" not in before
    result = LabResult.objects.current().filter(journey=journey, test__code="ALT").first()
    correct_result(result, "77", "U/L", by=None, reason="Typo")
    page = get(logged_in, labs_url(child))
    assert "corrected by the care team" in page
    assert "77 U/L" in page


def test_a_stage_move_shows_on_home(client, center_a, coordinator_a):
    guardian, child = family(center_a, email="mum@example.org")
    journey = journey_with_history(child, coordinator_a)
    client.force_login(guardian.user)
    assert str(words.stage_name(Stage.PRE_TREATMENT)) not in get(client, HOME)
    journey_services.move_stage(
        journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="Ready", override_reason="test"
    )
    assert str(words.stage_name(Stage.PRE_TREATMENT)) in get(client, HOME)


def test_a_step_done_shows_on_home(client, center_a, coordinator_a):
    guardian, child = family(center_a, email="mum@example.org")
    journey = journey_with_history(child, coordinator_a)
    client.force_login(guardian.user)
    step = journey.steps.filter(stage=journey.stage, done_on__isnull=True).order_by("due_on")
    first = step.first()
    title = str(words.step_title(first))
    assert f"Next step:</span> {title}" in get(client, HOME)
    journey_services.complete_step(first, by=coordinator_a)
    assert f"Next step:</span> {title}" not in get(client, HOME)


def test_a_moved_infusion_date_moves_the_next_visit_on_home(logged_in, family_with_labs):
    from django.test import TestCase

    guardian, child, journey = family_with_labs
    before = get(logged_in, HOME)
    with TestCase.captureOnCommitCallbacks(execute=True):  # the plan follows after commit
        journey_services.set_infusion_date(
            journey, fp.DAY0 + dt.timedelta(days=200), by=None, reason="Moved"
        )
    after = main(get(logged_in, HOME))
    cache.clear()  # what the page shows when built from scratch
    assert after == main(get(logged_in, HOME)) != main(before)


def test_a_revoked_guardianship_hides_the_child_at_once(logged_in, family_with_labs):
    guardian, child, journey = family_with_labs
    assert "Maya" in get(logged_in, HOME)
    get(logged_in, labs_url(child))
    Guardianship.objects.filter(guardian=guardian, patient=child).delete()
    get(logged_in, labs_url(child), status=404)
    assert "Maya" not in get(logged_in, HOME)


def test_a_guardian_removed_through_the_m2m_loses_the_child(logged_in, family_with_labs):
    guardian, child, journey = family_with_labs
    get(logged_in, labs_url(child))
    child.guardians.remove(guardian)
    get(logged_in, labs_url(child), status=404)


def test_a_child_linked_later_appears(logged_in, family_with_labs, center_a):
    guardian = family_with_labs[0]
    get(logged_in, HOME)
    fp.child_of(guardian, first_name="Zoe")
    assert "Zoe" in get(logged_in, HOME)


def test_a_new_language_shows_at_once(logged_in, family_with_labs):
    guardian, child, journey = family_with_labs
    assert "My children" in get(logged_in, HOME)
    get(logged_in, labs_url(child))
    guardian.language = "es"
    guardian.save(update_fields=["language"])
    home = get(logged_in, HOME)
    assert "Mis hijos" in home
    assert "My children" not in home
    assert 'lang="es"' in get(logged_in, labs_url(child))


def test_a_new_center_phone_shows_at_once(logged_in, family_with_labs, center_a):
    guardian, child, journey = family_with_labs
    get(logged_in, labs_url(child))
    center_a.main_phone = "+1 555 7777"
    center_a.save(update_fields=["main_phone"])
    assert "+1 555 7777" in get(logged_in, labs_url(child))


def test_a_new_day_recomputes_late_steps(client, center_a, coordinator_a):
    guardian, child = family(center_a, email="mum@example.org")
    journey = journey_with_history(child, coordinator_a)
    client.force_login(guardian.user)
    due = journey.steps.filter(stage=journey.stage, due_on__isnull=False).order_by("due_on")
    due_on = due.first().due_on
    with time_machine.travel(dt.datetime.combine(due_on, dt.time(12), dt.UTC), tick=False):
        client.force_login(guardian.user)
        assert "tag--late" not in client.get(HOME).content.decode()
    later = dt.datetime.combine(due_on + dt.timedelta(days=1), dt.time(12), dt.UTC)
    with time_machine.travel(later, tick=False):
        client.force_login(guardian.user)  # a day later the session has timed out
        assert "tag--late" in client.get(HOME).content.decode()


def test_an_edit_in_the_admin_shows_at_once(superuser, client, family_with_labs, center_a):
    from django.test import Client

    from tests.conftest import otp_login

    guardian, child, journey = family_with_labs
    client.force_login(guardian.user)
    assert "+1 555 7777" not in get(client, labs_url(child))
    admin = Client()
    otp_login(admin, superuser)
    url = reverse("admin:journey_center_change", args=[center_a.pk])
    form = admin.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    response = admin.post(url, {**data, "main_phone": "+1 555 7777"})
    assert response.status_code == 302
    assert "+1 555 7777" in get(client, labs_url(child))


def test_a_stage_move_shows_on_the_child_page_timeline(client, center_a, coordinator_a):
    guardian, child = family(center_a, email="mum@example.org")
    journey = journey_with_history(child, coordinator_a)
    client.force_login(guardian.user)
    url = reverse("portal:child", args=[child.public_id])
    before = main(get(client, url))
    journey_services.move_stage(
        journey, Stage.PRE_TREATMENT, by=coordinator_a, reason="Ready", override_reason="test"
    )
    after = main(get(client, url))
    cache.clear()
    assert after == main(get(client, url)) != before


def test_a_missed_draw_shows_on_the_plan_page(logged_in, family_with_labs):
    from tracker.models import ScheduledLab
    from tracker.services import mark_missed

    guardian, child, journey = family_with_labs
    url = reverse("portal_tracker:plan", kwargs={"public_id": child.public_id})
    before = main(get(logged_in, url))
    with time_machine.travel(TODAY, tick=False):
        lab = ScheduledLab.objects.open().filter(journey=journey).order_by("due_on").first()
        mark_missed(lab, by=None, reason="Did not come")
    after = main(get(logged_in, url))
    cache.clear()
    assert after == main(get(logged_in, url)) != before


# ---------------------------------------------------------------- access and safety


def test_another_guardians_child_is_404_with_a_warm_cache(client, family_with_labs, center_a):
    guardian, child, journey = family_with_labs
    client.force_login(guardian.user)
    get(client, labs_url(child))
    other = fp.guardian_with_login(center_a, "other@example.org")
    client.force_login(other.user)
    get(client, labs_url(child), status=404)


def test_no_csrf_token_is_cached_but_every_page_has_its_own(logged_in, family_with_labs):
    guardian, child, journey = family_with_labs
    for template, context in [("portal/home.html", {"children": []})]:
        parts = portal_cache.render_parts(template, context)
        assert not any("csrfmiddlewaretoken" in text for text in parts.values())
    first = get(logged_in, labs_url(child))
    assert "csrfmiddlewaretoken" in first  # the logout form, rendered per request


def test_a_commit_during_a_build_is_not_hidden_by_the_page_being_built(logged_in, family_with_labs):
    """A reader that took its tokens before a commit may store a page built from older data:
    it lands under the token the commit deleted, and the next load builds again."""
    guardian, child, journey = family_with_labs
    calls = []

    def build_then_a_writer_commits():
        calls.append(1)
        portal_cache.bump_patients([child.pk])  # the writer's after-commit bump
        return {"title": "old", "body_class": "", "head": "", "content": "old"}

    with time_machine.travel(TODAY, tick=False):
        portal_cache.child_parts(guardian, "labs", child.public_id, build_then_a_writer_commits)
        fresh = portal_cache.child_parts(
            guardian, "labs", child.public_id, lambda: {**dict.fromkeys(portal_cache.PARTS, "new")}
        )
    assert fresh["content"] == "new"
    assert calls == [1]


def _request(guardian):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    request = RequestFactory().get(HOME)
    request.session, request.user, request.guardian = SessionStore(), guardian.user, guardian
    request._messages = FallbackStorage(request)
    return request


def test_a_flash_message_still_shows_above_a_cached_page(family_with_labs):
    from django.contrib import messages

    from journey import views

    guardian = family_with_labs[0]
    views.home(_request(guardian))  # the parts are now cached
    request = _request(guardian)
    messages.success(request, "Welcome. Your password is set.")
    page = views.home(request).content.decode()
    assert "Welcome. Your password is set." in page
    assert "Maya" in page


def test_the_layout_around_the_parts_is_the_full_template_less_the_token(family_with_labs):
    import re

    from django.utils.safestring import mark_safe

    guardian = family_with_labs[0]
    parts = {name: mark_safe(f"<p>{name}</p>") for name in portal_cache.PARTS}
    fast = portal_cache.respond(_request(guardian), parts).content.decode()
    request = _request(guardian)
    full = portal_cache.render(request, portal_cache.LAYOUT_TEMPLATE, {"parts": parts})

    def tokenless(html):
        return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", html)

    assert 'name="csrfmiddlewaretoken" value="' in fast
    assert tokenless(fast) == tokenless(full.content.decode())
