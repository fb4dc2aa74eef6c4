"""A message thread from both sides: the family's page (phone and desktop) and the coordinator's
admin page, with a short exchange about a high ALT.

GIVEN Maya's guardian asked "Is this ALT bad?" and the coordinator answered
WHEN  the guardian opens the thread at phone and desktop width, and the coordinator (second
      factor passed) opens it in the admin
THEN  both messages are on both pages (once: not also as the portal's status box), the
      family's page passes axe-core, and with
      WAYPOINT_SCREENSHOTS (`make screenshots`) they are saved as thread-phone.png,
      thread-desktop.png and admin-thread-desktop.png.
"""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from conversations import services
from tests import factories as f
from tests.browser.conftest import DESKTOP, PASSWORD, VIEWPORTS, login
from tests.browser.test_accessibility import Audit, screenshot_dir
from tests.conftest import otp_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUBJECT = "ALT on the last results"
QUESTION = "Is this ALT bad? The portal shows it as high and Maya seems fine."
ANSWER = (
    "Thank you for asking. A rise like this is common in the first weeks after the infusion; "
    "Dr. Patel has seen it and the next draw will show if it is coming down. Please call us "
    "if Maya's skin or eyes look yellow, or she is unusually sleepy."
)
MAX_HEIGHT = 1400  # keep the PNGs small: the top of the page


@pytest.fixture
def exchange(personas):
    """Maya's guardian (given a login) wrote yesterday; the coordinator answered this morning."""
    family, coordinator = personas["a"], personas["coordinator"]
    family.guardian.user = f.UserFactory(
        email=family.guardian.email, full_name=family.guardian.full_name, password=PASSWORD
    )
    family.guardian.save(update_fields=["user"])
    asked = timezone.now() - dt.timedelta(hours=20)
    thread = services.start_thread(family.guardian, family.child, SUBJECT, QUESTION, now=asked)
    services.post_message(thread, coordinator, ANSWER, now=asked + dt.timedelta(hours=2))
    return thread


def _save(page, name):
    folder = screenshot_dir()
    if folder is None:
        return
    size = page.viewport_size
    height = page.evaluate("document.documentElement.scrollHeight")
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(height, MAX_HEIGHT)}
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, clip=clip)


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_family_reads_the_thread(personas, exchange, new_page, axe_source, viewport):
    base, maya = personas["url"], personas["a"].child
    page = new_page(VIEWPORTS[viewport])
    login(page, base, "ana@example.org")
    audit = Audit(page, axe_source, viewport)
    audit.folder = None  # saved below, at most MAX_HEIGHT tall
    url = reverse("portal_messages:thread", args=[maya.public_id, exchange.public_id])
    audit.visit("thread", base + url)
    expect(page.get_by_role("heading", name=SUBJECT)).to_be_visible()
    expect(page.get_by_text(QUESTION)).to_be_visible()
    expect(page.get_by_text(ANSWER)).to_be_visible()
    # The thread's messages are not the page's flash messages (base.html's status box).
    expect(page.locator("div.messages[role=status]")).to_have_count(0)
    assert audit.findings["thread"] == [], audit.report()
    _save(page, f"thread-{viewport}")


def test_the_coordinator_reads_the_thread_in_the_admin(personas, exchange, new_page):
    base, coordinator = personas["url"], personas["coordinator"]
    client = Client()
    otp_login(client, coordinator)  # the second factor passed, as after the TOTP step
    page = new_page(DESKTOP)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}]
    )
    response = page.goto(f"{base}/admin/conversations/thread/{exchange.pk}/change/")
    assert response.status == 200
    expect(page.get_by_text(QUESTION)).to_be_visible()
    expect(page.get_by_text(ANSWER)).to_be_visible()
    expect(page.get_by_text("Maya Rivera").first).to_be_visible()
    _save(page, "admin-thread-desktop")
