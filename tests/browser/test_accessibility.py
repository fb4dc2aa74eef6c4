"""axe-core on every portal page, at phone (390x844) and desktop (1280x800) width.

GIVEN a guardian invited by the care team, WHEN each portal page is opened (login, the
invitation, home, the child's pages, the password change), THEN axe-core finds no WCAG 2.2 A/AA
violation, and a flagged result carries a word and a shape, not only a colour.

`make screenshots` runs this module with WAYPOINT_SCREENSHOTS=docs/screenshots: each page is
then also saved as <page>-phone.png / <page>-desktop.png (CI never sets it).
"""

import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from journey.portal import invitations
from tests.browser.conftest import PASSWORD, ROOT, VIEWPORTS, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_RUN = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => n.target.join(" ") + "  " + n.failureSummary),
    }));
}"""
SCREENSHOTS = os.environ.get("WAYPOINT_SCREENSHOTS", "")


def screenshot_dir():
    if not SCREENSHOTS:
        return None
    folder = Path(SCREENSHOTS)
    folder = folder if folder.is_absolute() else ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Audit:
    """Opens pages, runs axe on each, keeps the findings, saves screenshots when asked."""

    def __init__(self, page, axe_source, viewport):
        self.page, self.axe_source, self.viewport = page, axe_source, viewport
        self.findings, self.folder = {}, screenshot_dir()
        # A style or script the Content-Security-Policy blocks leaves the page half-drawn.
        self.blocked, self._console = {}, []
        page.on("console", self._on_console)

    def _on_console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self._console.append(message.text)

    def check(self, name):
        """axe on the page as it is now (page.evaluate is not subject to the page's CSP)."""
        page = self.page
        page.wait_for_load_state("load")
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(self.axe_source)
        violations = page.evaluate(AXE_RUN, WCAG)
        self.findings[name] = violations
        self.blocked[name], self._console[:] = list(self._console), []
        print(
            f"axe {self.viewport:7} {name:18} violations={len(violations)} "
            f"csp_blocked={len(self.blocked[name])}"
        )
        for text in self.blocked[name]:
            print(f"    blocked: {text[:160]}")
        if self.folder is not None:
            self.screenshot(name)

    def screenshot(self, name, locator=None):
        """The top of the page (at most two screens, to keep the PNGs small), or one element."""
        path = str(self.folder / f"{name}-{self.viewport}.png")
        if locator is not None:
            locator.screenshot(path=path)
            return
        size = self.page.viewport_size
        height = self.page.evaluate("document.documentElement.scrollHeight")
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(height, 2 * size["height"])}
        self.page.screenshot(path=path, full_page=True, clip=clip)

    def visit(self, name, url, status=200):
        response = self.page.goto(url)
        assert response.status == status, f"{name}: {url} answered {response.status}"
        self.check(name)

    def report(self):
        lines = []
        for name, violations in self.findings.items():
            for v in violations:
                lines.append(f"{name}: {v['id']} ({v['impact']}) {v['help']}")
                lines += [f"    {node}" for node in v["nodes"][:5]]
        return "\n".join(lines)


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_every_portal_page_passes_axe(personas, new_page, axe_source, viewport):
    base, family = personas["url"], personas["a"]
    maya = family.child
    _, token = invitations.invite(family.guardian, by=personas["coordinator"])
    page = new_page(VIEWPORTS[viewport])
    audit = Audit(page, axe_source, viewport)

    audit.visit("login", f"{base}/accounts/login/")
    audit.visit("password-reset", base + reverse("password_reset"))
    audit.visit("invitation", base + reverse("accept_invitation", args=[token]))
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("Type the same password again").fill(PASSWORD)
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(f"{base}/portal/")
    page.get_by_role("button", name="Log out").click()
    audit.visit("invitation-used", base + reverse("accept_invitation", args=[token]), 410)
    login(page, base, "ana@example.org")

    audit.visit("home", base + reverse("portal:home"))
    audit.visit("child", base + reverse("portal:child", args=[maya.public_id]))
    audit.visit("labs", base + reverse("portal_tracker:labs", args=[maya.public_id]))
    assert_flags_are_not_colour_only(page)
    if audit.folder is not None:
        audit.screenshot("labs-chart", page.locator("figure.chart").filter(has_text="ALT").first)
    audit.visit("plan", base + reverse("portal_tracker:plan", args=[maya.public_id]))
    audit.visit("calendar", base + reverse("portal_tracker:calendar", args=[maya.public_id]))
    page.get_by_role("button", name="Make my calendar link").click()
    expect(page.get_by_label("Or copy this private link", exact=False)).to_be_visible()
    audit.check("calendar-link")
    audit.visit("people", base + reverse("portal:people", args=[maya.public_id]))
    audit.visit("card", base + reverse("portal:card", args=[maya.public_id]))
    audit.visit("reminders", base + reverse("portal_notifications:settings", args=[maya.public_id]))
    audit.visit("record", base + reverse("portal_tracker:record", args=[maya.public_id]))
    audit.visit("password-change", base + reverse("password_change"))
    leo = personas["b"].child  # another family's child: the 404 page
    audit.visit("not-found", base + reverse("portal:child", args=[leo.public_id]), 404)

    blocked = {name: texts[0][:120] for name, texts in audit.blocked.items() if texts}
    problems = []
    if any(audit.findings.values()):
        problems.append("axe violations:\n" + audit.report())
    if blocked:
        problems.append(f"the Content-Security-Policy blocks part of these pages: {blocked}")
    assert not problems, "\n".join(problems)


def assert_flags_are_not_colour_only(page):
    """A flagged result: a symbol and words in the list and the table, a shape and a word on
    the chart (triangle or diamond, not the normal circle)."""
    flagged = page.locator(".result-list .flag:not(.flag--normal):not(.flag--none)")
    assert flagged.count() > 0, "the personas have a high ALT: a flag must show"
    for i in range(flagged.count()):
        text = flagged.nth(i).inner_text().strip()
        assert any(w in text for w in ("Higher", "Lower", "higher", "lower")), text
        assert text[0] in "▲▼‼", f"no symbol before the words: {text!r}"
    chart = page.locator("figure.chart").filter(has_text="ALT").first
    shapes = chart.locator("svg polygon.point")
    assert shapes.count() > 0, "a flagged point is drawn as a triangle or diamond"
    svg_text = chart.locator("svg").inner_html()
    assert "High" in svg_text or "high" in svg_text, "the flagged point is named on the chart"
    expect(chart.locator("tbody")).to_contain_text("Higher than normal")
    # The coming dates, folded under "Upcoming (N)": opened, each has a symbol and a word for
    # its status ("○ Coming up", "! Overdue").
    page.locator("details.upcoming > summary").click()
    statuses = page.locator(".date-group .status")
    assert statuses.count() > 0
    for text in statuses.all_inner_texts():
        symbol, _, words = text.strip().partition(" ")
        assert symbol and len(words) >= 3, f"a status needs a symbol and words: {text!r}"


def test_axe_reports_a_planted_violation(browser, axe_source):
    """Guards the guard: the same axe call finds an image without a text alternative."""
    page = browser.new_page()
    try:
        page.set_content('<html lang="en"><title>t</title><main><img src="x.png"></main></html>')
        page.evaluate(axe_source)
        found = {v["id"] for v in page.evaluate(AXE_RUN, WCAG)}
    finally:
        page.close()
    assert "image-alt" in found
