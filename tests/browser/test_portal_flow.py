"""A family's first visit in a real browser, at phone width.

GIVEN a coordinator who sends the portal invitation (the admin's service), WHEN the guardian opens
the emailed link, chooses a password, logs in and walks the child's pages, THEN the current
stage, the next lab, the chart and its table are there, and logging out ends the session; a
second guardian cannot reach the first family's child (404). Keyboard: the login form is
reachable with Tab and sent with Enter, focus is visible, the skip link moves to the content.
"""

import re

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from journey.portal import emails, invitations
from tests import factories as f
from tests.browser.conftest import PASSWORD, PHONE, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHILD_PAGES = [
    "portal:child",
    "portal:people",
    "portal:card",
    "portal_tracker:plan",
    "portal_tracker:labs",
    "portal_tracker:calendar",
    "portal_tracker:record",
    "portal_notifications:settings",
]


def child_url(name, child):
    """The URL of one of the child's pages (a missing URL name fails the test)."""
    return reverse(name, args=[child.public_id])


def send_invitation(coordinator, guardian):
    """What the admin's "Send the invitation" button does (journey.admin.portal_access):
    the service makes the link, the email carries it. (The admin login itself is left to the
    admin's tests: it is gaining a second factor.)"""
    invitation, raw = invitations.invite(guardian, by=coordinator)
    emails.send_invitation(invitation, raw)


def invitation_link(base, email):
    sent = [m for m in mail.outbox if email in m.to]
    assert sent, f"no invitation email to {email}"
    found = re.search(r"https?://\S+/accounts/invitation/[^/\s]+/", sent[-1].body)
    assert found, sent[-1].body
    # The email names SITE_URL; the live server listens elsewhere: keep only the path.
    return base + re.sub(r"^https?://[^/]+", "", found.group(0))


def test_guardian_accepts_invitation_and_walks_the_portal(personas, new_page):
    base, family = personas["url"], personas["a"]
    maya = family.child
    mail.outbox.clear()

    send_invitation(personas["coordinator"], family.guardian)
    link = invitation_link(base, "ana@example.org")
    email_text = mail.outbox[-1].body
    assert "Maya" not in email_text and "Zolgensma" not in email_text  # no health information

    page = new_page(PHONE)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to Waypoint")
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("Type the same password again").fill(PASSWORD)
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(f"{base}/portal/")
    expect(page.get_by_role("status")).to_contain_text("Your password is set")

    # A fresh login with the new password (log out first, through the header's button).
    page.get_by_role("button", name="Log out").click()
    page.goto(f"{base}/portal/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/portal/$"))
    login(page, base, "ana@example.org")
    expect(page).to_have_url(f"{base}/portal/")

    # Home: the child, the current stage in words.
    card = page.get_by_role("article").filter(has_text="Maya")
    expect(card).to_contain_text("Check-ups after treatment")
    card.get_by_role("link", name="See Maya's journey").click()

    # Child page: where we are now.
    expect(page.get_by_role("heading", level=1)).to_have_text("Maya's journey")
    now = page.locator("section.now")
    expect(now).to_contain_text("Check-ups after treatment")
    expect(page.locator(".timeline [aria-current=step]")).to_contain_text("Now")
    nav = page.get_by_role("navigation", name="Pages about Maya")
    nav.get_by_role("link", name="Lab tests").click()

    # Labs: the latest results first, the dates to come folded under "Upcoming (N)", the
    # chart and its table.
    expect(page.get_by_role("heading", level=1)).to_have_text("Maya's lab tests")
    expect(page.locator("#latest-title + p + .result-list")).to_contain_text("ALT")
    upcoming = page.locator("details.upcoming")
    expect(upcoming.locator(".date-group").first).to_be_hidden()
    upcoming.locator("summary").click()
    expect(upcoming.locator(".date-group").first).to_be_visible()
    expect(upcoming.locator(".date-group").first).to_contain_text(
        re.compile(r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), ")
    )
    chart = page.locator("figure.chart").filter(has_text="ALT").first
    svg = chart.locator("svg[role=img]")
    expect(svg).to_be_visible()
    assert svg.bounding_box()["width"] > 200
    expect(chart.locator("table caption")).to_contain_text("All results of the")
    expect(chart.locator("tbody tr")).to_have_count(5)
    expect(chart.locator("tbody")).to_contain_text("96")
    expect(nav.get_by_role("link", name="Lab tests")).to_have_attribute("aria-current", "page")

    # Reminder settings: the hour and the time zone.
    page.goto(base + reverse("portal_notifications:settings", args=[maya.public_id]))
    change_reminder_settings(page)

    page.get_by_role("button", name="Log out").click()
    page.goto(base + reverse("portal:child", args=[maya.public_id]))
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to Waypoint")


def change_reminder_settings(page):
    """Emails at 19:00 in Chicago's time: saved, said so, and shown again on the next visit."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Reminder emails about Maya")
    hour = page.get_by_label("At what hour (0 to 23)")
    zone = page.get_by_label("Your time zone")
    expect(zone).to_have_value("America/New_York")
    hour.fill("19")
    zone.fill("America/Chicago")
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    page.reload()
    expect(page.get_by_label("At what hour (0 to 23)")).to_have_value("19")
    expect(page.get_by_label("Your time zone")).to_have_value("America/Chicago")


def test_second_guardian_cannot_reach_the_first_familys_child(personas, new_page):
    base, maya, leo = personas["url"], personas["a"].child, personas["b"].child
    page = new_page(PHONE)
    login(page, base, "ben@example.org")
    expect(page.get_by_role("article")).to_have_count(1)
    expect(page.get_by_role("article")).to_contain_text("Leo")
    assert "Maya" not in page.content()

    for name in CHILD_PAGES:
        own, other = child_url(name, leo), child_url(name, maya)
        assert page.goto(base + own).status == 200, name
        assert page.goto(base + other).status == 404, name
        assert "Maya" not in page.content(), name


def test_login_by_keyboard_with_visible_focus_and_skip_link(personas, new_page):
    base = personas["url"]
    page = new_page(PHONE)
    page.goto(f"{base}/accounts/login/")

    # The email field has the focus on arrival; Tab moves through the form; Enter sends it.
    expect(page.get_by_label("Email")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.type("ben@example.org")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Log in")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.press("Enter")  # Enter in the password field sends the form
    expect(page).to_have_url(f"{base}/portal/")
    expect(page.get_by_role("article")).to_contain_text("Leo")

    # On a fresh page the first Tab shows the skip link; Enter moves to the main content.
    page.goto(f"{base}/portal/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")
    in_main = page.evaluate("document.querySelector('main').contains(document.activeElement)")
    assert in_main, "after the skip link, Tab continues inside the main content"
    expect(page.get_by_role("link", name="Leo Rivera")).to_be_focused()
    assert_focus_visible(page)


def assert_focus_visible(page):
    """The focused element draws an outline or a ring (not the browser's nothing)."""
    style = page.evaluate(
        """() => {
            const s = getComputedStyle(document.activeElement);
            return {outline: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0,
                    shadow: s.boxShadow};
        }"""
    )
    visible = (style["outline"] != "none" and style["width"] >= 2) or style["shadow"] != "none"
    assert visible, f"no visible focus indicator: {style}"


PHONE_320 = {"width": 320, "height": 640}


@pytest.mark.parametrize("viewport", [PHONE, PHONE_320], ids=["390px", "320px"])
def test_family_pages_are_never_wider_than_a_phone(personas, new_page, viewport):
    """Home, journey, labs (tables and charts), plan and the emergency card fit a 320 px
    screen: nothing scrolls sideways (issue 13 item 9)."""
    base, family = personas["url"], personas["a"]
    user = f.UserFactory(email="ana.phone@example.org", password=PASSWORD)
    family.guardian.user = user
    family.guardian.save(update_fields=["user"])
    page = new_page(viewport)
    login(page, base, "ana.phone@example.org")
    child = family.child.public_id
    urls = [reverse("portal:home"), reverse("portal:child", args=[child])]
    urls += [reverse("portal_tracker:labs", args=[child]), reverse("portal:card", args=[child])]
    urls += [reverse("portal_tracker:plan", args=[child])]
    # Review finding: the report box (40 columns) and the record's tables were wider.
    urls += [reverse("portal_reports:new", args=[child])]
    urls += [reverse("portal_tracker:record", args=[child])]
    for url in urls:
        page.goto(base + url)
        for details in page.locator("details").all():
            details.evaluate("d => d.open = true")
        wide = page.evaluate(
            """() => [...document.querySelectorAll('main *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                .map(e => e.tagName + '.' + e.className).slice(0, 5)"""
        )
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"] and wide == [], (url, width, wide)
