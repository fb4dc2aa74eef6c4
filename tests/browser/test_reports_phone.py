"""'Something is wrong' on a phone (390 px): the link on the child page, the form, "call now".

GIVEN Maya's guardian (post-infusion monitoring, Zolgensma's "call now" signs) on a phone
WHEN  they follow "Something is wrong", tick a sign and send
THEN  the page says to call the center now with tappable numbers; both pages pass axe-core
      and nothing is wider than the screen.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from journey.portal import invitations
from tests.browser.conftest import PASSWORD, VIEWPORTS
from tests.browser.test_accessibility import AXE_RUN, WCAG

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _axe(page, axe_source):
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    return page.evaluate(AXE_RUN, WCAG)


def _fits(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_urgent_report_on_a_phone(personas, new_page, axe_source):
    base, maya = personas["url"], personas["a"].child
    _, token = invitations.invite(personas["a"].guardian, by=personas["coordinator"])
    page = new_page(VIEWPORTS["phone"])
    page.goto(base + reverse("accept_invitation", args=[token]))
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("Type the same password again").fill(PASSWORD)
    page.get_by_role("button", name="Save and continue").click()
    page.goto(base + reverse("portal:child", args=[maya.public_id]))
    page.get_by_role("link", name="Something is wrong").click()
    expect(page.get_by_role("heading", name="Something is wrong with Maya")).to_be_visible()
    assert _axe(page, axe_source) == [] and _fits(page)
    page.get_by_label("Yellow skin", exact=False).check()
    page.get_by_role("button", name="Send to the care team").click()
    expect(page.get_by_role("heading", name="Call Riverside Children's now")).to_be_visible()
    expect(page.locator('a[href="tel:+15550199"]').first).to_be_visible()
    assert _axe(page, axe_source) == [] and _fits(page)
