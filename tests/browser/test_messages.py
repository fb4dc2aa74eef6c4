"""Secure messages with the keyboard only, at phone and desktop width.

GIVEN Leo's guardian, logged in
WHEN  they reach "Messages" from the child's page, open "Write a new message", send an empty
      form, then a subject and a message, all with Tab, typing and Enter
THEN  every page (the list, the form, the form with its errors, the thread) passes axe-core,
      and the message is in the thread.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import VIEWPORTS, login
from tests.browser.test_accessibility import AXE_RUN, WCAG

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _axe(page, axe_source):
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    return page.evaluate(AXE_RUN, WCAG)


FOCUSED = """() => {
    const el = document.activeElement;
    const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
    return (el.innerText || "") + "|" + label;
}"""


def _tab_to(page, text, limit=80):
    """Press Tab until the focused element's text or label contains `text`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if text in page.evaluate(FOCUSED):
            return
    raise AssertionError(f"Tab never reached {text!r}")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_writing_to_the_care_team_with_the_keyboard_only(personas, new_page, axe_source, viewport):
    base, leo = personas["url"], personas["b"].child
    page = new_page(VIEWPORTS[viewport])
    login(page, base, "ben@example.org")
    page.goto(base + reverse("portal:child", args=[leo.public_id]))

    _tab_to(page, "Messages")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Messages about Leo")).to_be_visible()
    assert _axe(page, axe_source) == []

    _tab_to(page, "Write a new message")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="A message about Leo")).to_be_visible()
    assert _axe(page, axe_source) == []

    _tab_to(page, "Send to the care team")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Please fix what is marked below.")).to_be_visible()
    assert _axe(page, axe_source) == []

    _tab_to(page, "Subject")
    page.keyboard.type("Sleeping a lot")
    _tab_to(page, "Your message")
    page.keyboard.type("Leo sleeps most of the day since Monday.")
    _tab_to(page, "Send to the care team")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Sleeping a lot")).to_be_visible()
    expect(page.get_by_text("Leo sleeps most of the day since Monday.")).to_be_visible()
    assert _axe(page, axe_source) == []
