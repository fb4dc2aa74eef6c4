"""Real-browser fixtures: Chromium through Playwright's sync API, axe-core, a live server, personas.

- Chromium is Debian's (/usr/bin/chromium, or WAYPOINT_CHROMIUM); axe-core comes from npm
  (node_modules/axe-core, `npm ci`). Locally a missing one skips with the reason; in CI (CI=true)
  it fails the run.
- pytest-django's `live_server` runs the app in a thread of this process on the transactional
  test database, so the locmem email outbox sees the invitation the coordinator sends.
- Playwright's sync API keeps an asyncio loop in the main thread; Django's ORM refuses to run
  beside one. DJANGO_ALLOW_ASYNC_UNSAFE is set only while a module's browser is open (the
  loop's lifetime), so the rest of the suite keeps the check.
- The transactional flush empties every table, including the therapy and lab catalogues the
  session loaded once (tests/conftest.py); they are loaded again before each persona set and
  when a module's browser closes, for the tests that run after.
"""

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from devdata.demo_results import NORMAL, UNITS
from journey.models import Stage, Therapy
from journey.services import open_journey, set_infusion_date
from tests import factories as f
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("WAYPOINT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
PASSWORD = "Quiet river at dawn 42"


def require(what, present, how):
    """Skip locally when a browser tool is absent; in CI (or `make screenshots`) fail."""
    if present:
        return
    message = f"{what} is missing ({how})"
    if IN_CI or os.environ.get("WAYPOINT_SCREENSHOTS"):
        pytest.fail(f"{message}: required in CI and for `make screenshots`")
    pytest.skip(message)


def ensure_catalogues():
    """The transactional flush empties the catalogues the session loaded; load them again."""
    if not Therapy.objects.exists():
        call_command("load_catalogue", verbosity=0)
        call_command("load_labs", verbosity=0)


@pytest.fixture(scope="session")
def axe_source():
    require("axe-core", AXE_JS.is_file(), "run `npm ci` at the repository root")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser(django_db_setup, django_db_blocker):
    """One headless Chromium per module; the ORM is allowed beside its loop only meanwhile."""
    require("Chromium", os.path.isfile(CHROMIUM), "apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
    with django_db_blocker.unblock():  # leave the session's catalogues for the tests after us
        ensure_catalogues()


@pytest.fixture
def new_page(browser):
    """new_page(viewport=PHONE, **context options): a page in a fresh context (own cookies)."""
    contexts = []

    def make(viewport=PHONE, **options):
        context = browser.new_context(viewport=viewport, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


# ------------------------------------------------------------------ personas


@dataclass
class Family:
    guardian: object
    child: object
    journey: object


def _at(day, hour=10):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _family(center, email, name, first_name, *, user=True):
    login = f.UserFactory(email=email, full_name=name, password=PASSWORD) if user else None
    guardian = f.GuardianFactory(center=center, email=email, full_name=name, user=login)
    child = f.PatientFactory(
        center=center,
        first_name=first_name,
        last_name="Rivera",
        date_of_birth=timezone.localdate() - dt.timedelta(days=240),
    )
    f.GuardianshipFactory(patient=child, guardian=guardian, is_primary=True)
    return guardian, child


# (day the draw was due, day it was taken, ALT) from day 0; values as devdata/demo_results.py.
DRAWS = [(-1, -3, "22"), (7, 7, "38"), (14, 14, "96"), (21, 22, "61"), (28, 28, "35")]


def _monitoring_journey(child, coordinator, day0):
    """Zolgensma, day 0 `day0`: the tracker draws the plan (schedule_changed, after commit)."""
    from tracker.services import record_results

    therapy = Therapy.objects.get(slug="zolgensma")
    journey = open_journey(child, by=coordinator, therapy=therapy, now=_at(day0 - dt.timedelta(60)))
    with TestCase.captureOnCommitCallbacks(execute=True):
        set_infusion_date(journey, day0, by=coordinator, reason="Infusion booked")
    journey.stage = Stage.MONITORING
    journey.save(update_fields=["stage"])
    # Every draw so far is done (as the care team enters it): the tests the plan asked for,
    # normal values, except ALT, high in weeks 2 and 3. The next draw is still to come.
    for due_day, collected_day, alt in DRAWS:
        labs = journey.scheduled_labs.filter(day_offset=due_day).select_related("item")
        codes = sorted({code for lab in labs for code in lab.item.tests})
        values = {**NORMAL, "ALT": alt}
        when = _at(day0 + dt.timedelta(days=collected_day))
        rows = [(code, values[code], UNITS[code]) for code in codes]
        with TestCase.captureOnCommitCallbacks(execute=True):
            record_results(journey, when, rows, by=coordinator, now=when)
    return journey


@pytest.fixture
def personas(browser, live_server):
    """Center A, its coordinator, an invited (not yet linked) guardian of Maya, who is in
    post-infusion monitoring with results (one high ALT), and guardian B (Leo's, linked)."""
    ensure_catalogues()
    center = f.CenterFactory(
        name="Riverside Children's", main_phone="+1 555 0100", after_hours_phone="+1 555 0199"
    )
    coordinator = f.CoordinatorFactory(email="coordinator@example.org", center=center)
    day0 = timezone.localdate() - dt.timedelta(days=30)
    guardian_a, maya = _family(center, "ana@example.org", "Ana Rivera", "Maya", user=False)
    journey_a = _monitoring_journey(maya, coordinator, day0)
    guardian_b, leo = _family(center, "ben@example.org", "Ben Okafor", "Leo")
    journey_b = open_journey(leo, by=coordinator, therapy=Therapy.objects.get(slug="zolgensma"))
    return {
        "url": live_server.url,
        "center": center,
        "coordinator": coordinator,
        "a": Family(guardian_a, maya, journey_a),
        "b": Family(guardian_b, leo, journey_b),
    }


def login(page, base_url, email, password=PASSWORD):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
