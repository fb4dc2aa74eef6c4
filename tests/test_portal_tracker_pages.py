"""The plan and labs pages say what families need, in plain words, never by colour alone."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from journey.portal import words
from tests import factories_portal_tracker as fp
from tracker.models import Flag, Status
from tracker.portal import wording as w

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_portal_tracker")]
TODAY = dt.datetime(2026, 2, 10, 15, tzinfo=dt.UTC)  # day 36: past the first month


@pytest.fixture
def family(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.a@example.org")
    child, journey = fp.child_of(guardian, first_name="Maya")
    return guardian, child, journey


def _get(client, guardian, name, child):
    client.force_login(guardian.user)
    with time_machine.travel(TODAY, tick=False):
        response = client.get(reverse(name, kwargs={"public_id": child.public_id}))
    assert response.status_code == 200
    return response


def _text(response):
    html = response.content.decode()
    html = re.sub(r"<(style|svg)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return text.replace("&#x27;", "'").replace(" :", ":")


# ---------------------------------------------------------------- plan page


def test_plan_lists_labs_in_plain_words_with_how_often_and_until_when(client, family):
    guardian, child, _journey = family
    text = _text(_get(client, guardian, "portal_tracker:plan", child))
    assert "Liver tests (ALT, AST, bilirubin, INR)" in text
    assert (
        "every week from Jan. 12, 2026 until Feb. 2, 2026, then every 2 weeks until March 30, 2026"
        in text
    )
    assert "Heart test (troponin-I): every week from Jan. 12, 2026 until Feb. 2, 2026, " in text
    assert "then every month until April 5, 2026" in text
    assert "We keep testing until the results are back to normal." in text
    assert "Yearly follow-up visit: every year from Jan. 5, 2027 until Jan. 5, 2031" in text


def test_plan_shows_the_next_date_with_its_window(client, family):
    guardian, child, journey = family
    # Everything before day 36 is done or missed, so the next is day 42 (Feb. 16).
    for day in (7, 14, 21, 28):
        fp.record(journey, day, fp.LIVER + [("PLT", "250", "10^9/L"), ("TNI", "5", "ng/L")])
    journey.scheduled_labs.filter(due_on__lt=dt.date(2026, 2, 1), done_at__isnull=True).update(
        missed_at=TODAY
    )
    text = _text(_get(client, guardian, "portal_tracker:plan", child))
    assert "Overdue" not in text
    assert "Coming up Monday, Feb. 16, 2026" in text
    assert "Any day from Feb. 13, 2026 to Feb. 19, 2026 is fine." in text


def test_plan_puts_the_next_draw_first_and_leaves_missed_ones_to_the_care_team(client, family):
    guardian, child, _journey = family
    text = _text(_get(client, guardian, "portal_tracker:plan", child))
    # Issue 13 item 7: draws past their window (the baseline, days 7 to 28) no longer come
    # first with "call to book it"; the next draw (day 42, Feb. 16) leads.
    assert "Please call the care team to book it." not in text
    assert text.index("Monday, Feb. 16, 2026") < text.index("Not done in time:")
    assert "Sunday, Jan. 4, 2026" in text  # the baseline draw, named in the missed line


def test_plan_has_steroid_notes_family_notes_and_call_now(client, family):
    guardian, child, journey = family
    response = _get(client, guardian, "portal_tracker:plan", child)
    text = _text(response)
    assert "Steroid medicine" in text and "Prednisolone 1 mg/kg/day" in text
    assert "Ask about the RESTORE registry" in text  # the therapy's family notes
    assert "Call the care team right away if Maya has any of these" in text
    assert "Yellow skin, or yellow in the whites of the eyes (jaundice)" in text
    assert (
        "Call 911 (or your local emergency number) now if Maya has trouble breathing "
        "or will not wake up." in text
    )
    html = response.content.decode()
    assert 'href="tel:+15550100"' in html and 'href="tel:+15550199"' in html
    assert 'media="print" href="/static/portal/plan-print.css"' in html


def test_plan_before_the_infusion_date_is_set(client, center_a):
    guardian = fp.guardian_with_login(center_a, "early@example.org")
    child, _journey = fp.child_of(guardian, first_name="Ana", day0=None)
    text = _text(_get(client, guardian, "portal_tracker:plan", child))
    assert "The care team has not set the infusion date yet." in text
    assert "Call 911" in text  # the urgent part is always there


def test_plan_for_an_ex_vivo_therapy_marks_hospital_counts(client, center_a):
    guardian = fp.guardian_with_login(center_a, "exvivo@example.org")
    child, _journey = fp.child_of(
        guardian, therapy="casgevy", born=dt.date(2010, 1, 1), first_name="Sam"
    )
    text = _text(_get(client, guardian, "portal_tracker:plan", child))
    assert "(in the hospital)" in text
    assert "every month" in text


# ---------------------------------------------------------------- labs page


def test_labs_show_each_result_against_its_range_with_words(client, family):
    guardian, child, journey = family
    fp.record(journey, -3, [("ALT", "20", "U/L"), ("PLT", "250", "10^9/L")])
    fp.record(journey, 7, [("ALT", "32", "U/L"), ("PLT", "40", "10^9/L")])
    fp.record(journey, 14, [("ALT", "110", "U/L")])
    text = _text(_get(client, guardian, "portal_tracker:labs", child))
    assert "liver test (ALT): 32 U/L — normal range 5–51 ✓ Normal" in text
    assert "▲ Higher than normal (2.16 times the top of the normal range)" in text
    assert "‼ Much lower than normal" in text
    assert "The care team is told about this result right away." in text
    assert "before treatment" in text


def test_labs_list_upcoming_with_status_in_words(client, family):
    guardian, child, _journey = family
    text = _text(_get(client, guardian, "portal_tracker:labs", child))
    # Draws past their window are the care team's (issue 13 items 7 and 9): one calm line;
    # the dates to come are folded under "Upcoming (N)".
    assert "Not done in time:" in text and "! Overdue" not in text
    assert "Upcoming (" in text and "○ Coming up" in text
    assert "Monday, Feb. 16, 2026" in text


def test_trend_chart_is_accessible_svg_with_table(client, family):
    guardian, child, journey = family
    fp.record(journey, -3, [("ALT", "20", "U/L")])
    fp.record(journey, 7, [("ALT", "25", "U/L")])
    fp.record(journey, 14, [("ALT", "120", "U/L")])
    html = _get(client, guardian, "portal_tracker:labs", child).content.decode()
    svg = re.search(r'<svg class="lab-chart".*?</svg>', html, flags=re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="chart-alt-title chart-alt-desc"' in svg
    assert '<title id="chart-alt-title">liver test (ALT) over time</title>' in svg
    assert "3 results of the liver test (ALT)" in svg
    assert 'class="chart-band"' in svg  # the normal range, shaded
    assert "Before treatment (20)" in svg  # the child's baseline line
    assert "2 times the top of normal (102)" in svg  # Zolgensma's taper rule, 2 x 51
    assert "Infusion day" in svg and "Steroid medicine" in svg
    assert 'class="point point-critical"' not in svg and 'class="point point-high"' in svg
    assert ">High</text>" in svg  # the flag in words beside its triangle
    assert "<caption>All results of the liver test (ALT)</caption>" in html
    assert '<th scope="col">Normal range</th>' in html
    assert html.count('<th scope="row">') >= 3


def test_rows_and_charts_built_in_python_escape_every_text(client, family):
    """The labs page's rows and charts are strings built in Python: no text reaches the page
    unescaped (a catalogue name with markup in it stays text)."""
    from tracker.models import LabTest

    guardian, child, journey = family
    LabTest.objects.filter(code="ALT").update(family_name='liver <b>"test"</b> (ALT)')
    fp.record(journey, 7, [("ALT", "25", "U/L")])
    fp.record(journey, 14, [("ALT", "120", "U/L")])
    html = _get(client, guardian, "portal_tracker:labs", child).content.decode()
    assert "<b>" not in html
    escaped = "liver &lt;b&gt;&quot;test&quot;&lt;/b&gt; (ALT)"
    svg = re.search(r'<svg class="lab-chart".*?</svg>', html, flags=re.S).group(0)
    assert f'<title id="chart-alt-title">{escaped} over time</title>' in svg
    assert f"<strong>{escaped}</strong>: 120 U/L" in html  # the result in its day's list


def test_corrected_results_show_only_the_correction(client, family):
    from tracker.services import correct_result

    guardian, child, journey = family
    (old,) = fp.record(journey, 7, [("ALT", "320", "U/L")])
    correct_result(old, "32", "U/L", by=None, reason="typo")
    text = _text(_get(client, guardian, "portal_tracker:labs", child))
    assert "320 U/L" not in text
    assert "32 U/L" in text and "corrected by the care team" in text


def test_result_dates_are_in_the_guardians_zone(client, center_a):
    """Collected 02:00 UTC on Jan. 13 is still Jan. 12 for a family in New York."""
    from django.utils import timezone

    from tracker.services import record_results

    guardian = fp.guardian_with_login(center_a, "ny@example.org", time_zone="America/New_York")
    child, journey = fp.child_of(guardian)
    when = dt.datetime(2026, 1, 13, 2, tzinfo=dt.UTC)
    record_results(journey, when, [("ALT", "20", "U/L")], by=None, now=when)
    client.force_login(guardian.user)
    with time_machine.travel(TODAY, tick=False), timezone.override("America/New_York"):
        response = client.get(reverse("portal_tracker:labs", kwargs={"public_id": child.public_id}))
    assert "Monday, Jan. 12, 2026" in _text(response)


# ---------------------------------------------------------------- wording (pure)


def test_how_often_splits_into_rhythms():
    d = dt.date(2026, 1, 5)
    days = [7, 14, 21, 28, 42, 56, 70, 84]
    with translation.override("en"):
        text = w.how_often([d + dt.timedelta(days=x) for x in days])
    assert text == (
        "every week from Jan. 12, 2026 until Feb. 2, 2026, then every 2 weeks until March 30, 2026"
    )


def test_how_often_single_and_odd_gaps():
    d = dt.date(2026, 1, 5)
    with translation.override("en"):
        assert w.how_often([d]) == "once, on Jan. 5, 2026"
        assert w.how_often([d, d + dt.timedelta(days=10)]).startswith("every 10 days from")


def test_ranges_flags_and_statuses_never_rely_on_colour():
    with translation.override("en"):
        assert w.normal_range(Decimal("5"), Decimal("51"), 0) == "normal range 5–51"
        assert w.normal_range(None, Decimal("21"), 0) == "normal up to 21"
        assert w.normal_range(None, None, 0) == "no normal range for this test"
        for flag in Flag.values:
            text = w.flag_text(flag)
            assert text.symbol and text.words
        for status in Status.values:
            assert w.status_text(status).words


def test_tel_href_and_headings():
    assert words.tel_href("+1 (555) 010-2000") == "tel:+15550102000"
    assert words.tel_href("555 0100") == "tel:5550100"
    assert words.tel_href("") == ""


def test_urgent_lines_follow_the_language():
    line = {"en": "Yellow skin", "es": "Piel amarilla"}
    with translation.override("es"):
        assert words.urgent_line(line) == "Piel amarilla"
    with translation.override("en"):
        assert words.urgent_line({"en": "Only English"}) == "Only English"


def test_one_call_now_helper_for_plan_and_card():
    """The care plan and the emergency card list the same lines (one helper, issue 12)."""
    from types import SimpleNamespace

    therapy = SimpleNamespace(urgent_symptoms=[{"en": "Fever", "es": "Fiebre"}, "", "Rash"])
    assert words.urgent_lines(therapy, "es-mx") == ["Fiebre", "Rash"]
    with translation.override("en"):
        assert words.urgent_lines(therapy) == ["Fever", "Rash"]
    assert words.urgent_lines(None) == []


@pytest.mark.parametrize(
    ("regimen", "checkpoint", "expected"),
    [
        ("Prednisolone from the day before the infusion, for 30 days.", 30, (-1, 30)),
        ("Corticosteroid from the day before the infusion, for at least 60 days.", None, (-1, 58)),
        ("Prednisone for 7 days starting 3 days before each eye's surgery.", None, (-3, 3)),
        ("Corticosteroid around the injection.", 30, None),  # start unknown: draw nothing
        ("", None, None),
    ],
)
def test_steroid_period_is_read_from_the_regimen_and_the_taper_checkpoint(
    regimen, checkpoint, expected
):
    from types import SimpleNamespace

    from tracker.portal.labs import _steroid_period

    day0 = dt.date(2026, 1, 5)
    journey = SimpleNamespace(therapy=SimpleNamespace(steroid_regimen=regimen), infusion_date=day0)
    checkpoints = [day0 + dt.timedelta(days=checkpoint)] if checkpoint else []
    period = _steroid_period(journey, checkpoints)
    if expected is None:
        assert period is None
    else:
        assert period == tuple(day0 + dt.timedelta(days=x) for x in expected)


@pytest.mark.parametrize("name", ["portal_tracker:plan", "portal_tracker:labs"])
def test_a_child_without_a_journey_gets_calm_empty_pages(client, center_a, name):
    from tests import factories as f

    guardian = fp.guardian_with_login(center_a, "new@example.org")
    child = f.GuardianshipFactory(guardian=guardian, patient__center=center_a).patient
    text = _text(_get(client, guardian, name, child))
    assert "Call 911" in text or "No lab tests or visits are planned right now." in text


@pytest.mark.parametrize("name", ["portal_tracker:plan", "portal_tracker:labs"])
def test_pages_render_in_spanish_dates(client, center_a, name):
    """The Spanish catalogue comes later; dates and numbers already follow the language."""
    guardian = fp.guardian_with_login(center_a, "es@example.org", language="es")
    child, journey = fp.child_of(guardian, first_name="Lucía")
    fp.record(journey, 7, [("TBIL", "0.4", "mg/dL")])
    with translation.override("es"):
        text = _text(_get(client, guardian, name, child))
    assert "enero de 2026" in text
    if name == "portal_tracker:labs":
        assert "0,4 mg/dL" in text


# ---------------------------------------------------------------- always current (issue 12)


def test_a_new_result_shows_on_the_next_load_of_the_labs_page(client, family):
    guardian, child, journey = family
    assert "512 U/L" not in _text(_get(client, guardian, "portal_tracker:labs", child))
    fp.record(journey, 30, [("ALT", "512", "U/L")])
    assert "512 U/L" in _text(_get(client, guardian, "portal_tracker:labs", child))
