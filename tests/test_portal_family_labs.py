"""Issue 13 item 9: labs on a phone.

Latest and flagged results first; upcoming draws folded into "Upcoming (N)"; a draw never
listed twice with the same tests; one date format per language (charts included). The
320 px width is checked in a real browser (tests/browser/test_portal_flow.py).
"""

import datetime as dt
import re
import uuid

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from tests import factories_portal_tracker as fp
from tracker.models import ScheduledLab

pytestmark = pytest.mark.django_db
TODAY = dt.datetime(2026, 1, 25, 15, tzinfo=dt.UTC)  # day 20


@pytest.fixture
def family(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.labs@example.org")
    child, journey = fp.child_of(guardian, first_name="Maya")
    fp.record(journey, -3, [("ALT", "30", "U/L"), ("PLT", "260", "10^9/L")])
    fp.record(journey, 7, [("ALT", "31", "U/L"), ("PLT", "250", "10^9/L")])
    fp.record(journey, 14, [("PLT", "240", "10^9/L"), ("ALT", "120", "U/L")])
    return guardian, child, journey


def _labs(client, guardian, child, when=TODAY):
    client.force_login(guardian.user)
    with time_machine.travel(when, tick=False):
        url = reverse("portal_tracker:labs", args=[child.public_id])
        return client.get(url).content.decode()


def _text(html):
    html = re.sub(r"<(style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


def test_latest_and_flagged_results_come_first(client, family):
    guardian, child, _journey = family
    text = _text(_labs(client, guardian, child))
    first = text.index("Latest results")
    assert first < text.index("Upcoming (") < text.index("All results by day")
    latest = text[first : text.index("Upcoming (")]
    # The high ALT (day 14) first, then the normal platelet count; older values not here.
    assert latest.index("ALT") < latest.index("PLT")
    assert "120 U/L" in latest and "Jan. 19, 2026" in latest
    assert "31 U/L" not in latest and "30 U/L" not in latest


def test_upcoming_draws_are_folded_with_their_count(client, family):
    guardian, child, journey = family
    html = _labs(client, guardian, child)
    upcoming = html[html.index('<details class="upcoming">') :]
    summary = re.search(r"<summary>\s*Upcoming \((\d+)\)", upcoming)
    assert summary
    days = ScheduledLab.objects.open().filter(
        journey=journey, window_end__gte=dt.date(2026, 1, 25), item__inpatient=False
    )
    days = days.exclude(item__kind="checkpoint").values("due_on").distinct().count()
    assert int(summary.group(1)) == days
    assert "next: Monday, Jan. 26, 2026" in _text(upcoming)


def test_a_draw_is_never_listed_twice_with_the_same_tests(client, family):
    # Two plan items with the same tests on one day (a centre's own copy of a label item,
    # a template's overlapping runs): one draw, its tests named once.
    guardian, child, journey = family
    row = ScheduledLab.objects.filter(journey=journey, due_on=dt.date(2026, 1, 26)).first()
    item = row.item
    item.pk, item.code, item.position = None, f"{item.code}-centre", item.position + 50
    if hasattr(item, "public_id"):
        item.public_id = uuid.uuid4()
    item.save()
    row.pk, row.item, row.public_id = None, item, uuid.uuid4()
    row.save()
    for name in ("portal_tracker:labs", "portal_tracker:plan"):
        client.force_login(guardian.user)
        with time_machine.travel(TODAY, tick=False):
            html = client.get(reverse(name, args=[child.public_id])).content.decode()
        group = html[html.index("Monday, Jan. 26, 2026") :]
        group = group[: group.index("</ul>")]
        items = re.findall(r"<li>([^<]+)</li>", group)
        assert items and len(items) == len(set(items)), (name, items)


@pytest.mark.parametrize(
    "language, other_format",
    # English: the long date is "Jan. 12, 2026"; a chart tick "January 12" was a second format.
    [("en", r"\bJanuary \d")],
)
def test_one_date_format_per_language_charts_included(client, family, language, other_format):
    guardian, child, _journey = family
    guardian.language = language
    guardian.save()
    html = _labs(client, guardian, child)
    with translation.override(language):
        svg = " ".join(re.findall(r"<svg\b.*?</svg>", html, re.S))
    assert svg
    assert not re.search(other_format, re.sub(r"<[^>]+>", " ", svg)), language


def test_a_late_draw_inside_its_window_says_by_when_on_labs_and_plan(client, family):
    guardian, child, _journey = family
    when = dt.datetime(2026, 1, 28, 15, tzinfo=dt.UTC)  # the Jan. 26 draw, window to Jan. 28
    client.force_login(guardian.user)
    for name in ("portal_tracker:labs", "portal_tracker:plan"):
        with time_machine.travel(when, tick=False):
            html = client.get(reverse(name, args=[child.public_id])).content.decode()
        text = _text(html)
        assert "This was due on Jan. 26, 2026. There is still time: please have it done by" in text
        assert "Any day from Jan. 24, 2026 to Jan. 28, 2026" not in text
