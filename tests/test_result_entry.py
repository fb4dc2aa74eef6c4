"""Issue 13 items 1, 2 and 4: the result form a nurse can trust (dates, numbers, help).

GIVEN a child born 2025-06-01 in a New York center, day 0 on 2026-02-10 (Zolgensma-shaped plan)
WHEN  a coordinator opens or posts the result form at 15:00 UTC on 2026-03-02 (10:00 in New York)
THEN  dates are the center's, bad dates and numbers are refused by the field, unit slips and
      critical values ask to confirm, and the form is prefilled from a worklist draw.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests import factories_tracker as ft
from tests.conftest import otp_login
from tracker.models import LabResult, ScheduledLab

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
DAY0 = dt.date(2026, 2, 10)
NY = "America/New_York"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def journey(center_a):
    return ft.planned_journey(day0=DAY0, center=center_a)


def _url(journey, due=None):
    url = reverse("admin:tracker_enter_results", args=[journey.pk])
    return f"{url}?due={due}" if due else url


UNITS = {"ALT": "U/L", "AST": "U/L", "TBIL": "mg/dL", "INR": "ratio", "CREAT": "mg/dL"}
UNITS.update({"PLT": "10^9/L", "TNI": "ng/L"})


def _post(client, journey, due=None, **values):
    data = {"collected_on": "2026-03-02", "collected_time": "08:30"}
    data.update({f"{code}_unit": unit for code, unit in UNITS.items()})
    return client.post(_url(journey, due), {**data, **values})


def _errors(response, field):
    return " ".join(response.context["form"].errors.get(field, []))


def _saved(journey):
    return LabResult.objects.filter(journey=journey).count()


# ---------------------------------------------------------------- item 1: dates


def test_today_and_now_shortcuts_use_the_centers_zone(client, coordinator_a, journey):
    """The admin's "Today"/"Now" read data-admin-utc-offset: it was the server's (UTC), so
    "Now" typed 15:00 at 10:00 in New York and the form answered "in the future"."""
    otp_login(client, coordinator_a)
    response = client.get(_url(journey))
    assert 'data-admin-utc-offset="-18000"' in response.text
    assert NY in response.text  # the time is labelled with its zone


def test_now_in_the_centers_zone_is_not_in_the_future(client, coordinator_a, journey):
    otp_login(client, coordinator_a)
    response = _post(client, journey, collected_time="10:02", PLT_value="200", PLT_unit="10^9/L")
    assert response.status_code == 302
    result = LabResult.objects.get(journey=journey, test__code="PLT", collected_at__date=NOW)
    assert result.collected_at == dt.datetime(2026, 3, 2, 15, 2, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("0001-01-01", "before"),
        ("1900-01-01", "before"),
        ("2025-05-31", "before the child was born"),
        ("9999-12-31", "future"),
        ("2026-03-03", "future"),
        ("5/12/2026", "year-month-day"),
        ("2026-02-30", "year-month-day"),
    ],
)
def test_impossible_collection_dates_are_refused_by_the_field(
    client, coordinator_a, journey, day, message
):
    otp_login(client, coordinator_a)
    response = _post(client, journey, collected_on=day, ALT_value="41", ALT_unit="U/L")
    assert response.status_code == 200
    assert message in _errors(response, "collected_on")
    assert 'value="41"' in response.text
    assert _saved(journey) == 0


def test_collection_ten_minutes_ahead_is_refused_and_three_is_not(client, coordinator_a, journey):
    otp_login(client, coordinator_a)
    ahead = _post(client, journey, collected_time="10:10", ALT_value="41", ALT_unit="U/L")
    assert "future" in _errors(ahead, "collected_time") + _errors(ahead, "collected_on")
    fine = _post(client, journey, collected_time="10:03", ALT_value="41", ALT_unit="U/L")
    assert fine.status_code == 302


def test_dates_with_month_names_are_read(client, coordinator_a, journey):
    otp_login(client, coordinator_a)
    response = _post(client, journey, collected_on="1 Mar 2026", ALT_value="41", ALT_unit="U/L")
    assert response.status_code == 302
    assert LabResult.objects.get(journey=journey).collected_at.date() == dt.date(2026, 3, 1)


def test_a_year_0001_result_cannot_reach_the_database(journey):
    """The old form saved it, and the family's labs page then answered 500 on every load."""
    from django.core.exceptions import ValidationError

    from tracker import services

    when = dt.datetime(1, 1, 1, 12, tzinfo=dt.UTC)
    with pytest.raises(ValidationError):
        services.record_results(journey, when, [("ALT", "41", "U/L")], by=None)
    assert _saved(journey) == 0


def test_the_page_after_saving_says_what_was_saved(client, coordinator_a, journey):
    otp_login(client, coordinator_a)
    response = _post(
        client, journey, ALT_value="41", ALT_unit="U/L", PLT_value="200", PLT_unit="10^9/L"
    )
    page = client.get(response.url)
    text = re.sub(r"\s+", " ", page.text)
    assert "2026-03-02 08:30" in text and NY in text
    assert "ALT 41 U/L" in text and "PLT 200 10^9/L" in text


# ---------------------------------------------------------------- item 2: numbers


@pytest.mark.parametrize(
    ("value", "unit", "message"),
    [
        ("1_000", "U/L", "digits"),
        ("1e3", "U/L", "digits"),
        ("١٢٣", "U/L", "digits"),  # Arabic-Indic digits
        ("４２", "U/L", "digits"),  # full-width digits
        ("1e24", "U/L", "digits"),
        ("1" + "0" * 24, "U/L", "not a possible"),
        ("400", "ukat/L", "not a possible"),  # 24,000 U/L: beyond the limit in that unit
        ("0.00001", "U/L", "too small"),
    ],
)
def test_values_that_are_not_plain_possible_numbers_are_refused(
    client, coordinator_a, journey, value, unit, message
):
    otp_login(client, coordinator_a)
    response = _post(client, journey, ALT_value=value, ALT_unit=unit, AST_value="30")
    assert response.status_code == 200
    assert message in _errors(response, "ALT_value")
    assert 'value="30"' in response.text
    assert _saved(journey) == 0


def test_a_tiny_platelet_count_in_per_microlitre_never_rounds_to_zero(
    client, coordinator_a, journey
):
    otp_login(client, coordinator_a)
    response = _post(client, journey, PLT_value="0.01", PLT_unit="/uL")
    assert "too small" in _errors(response, "PLT_value")
    assert _saved(journey) == 0


@pytest.mark.parametrize(
    ("code", "value", "unit", "flag", "likely"),
    [
        ("PLT", "250", "/uL", "Critical low", "10^9/L"),
        ("TBIL", "17", "mg/dL", "Critical high", "umol/L"),
    ],
)
def test_a_likely_unit_slip_asks_to_confirm_with_the_flag_and_the_likely_unit(
    client, coordinator_a, journey, code, value, unit, flag, likely
):
    otp_login(client, coordinator_a)
    response = _post(client, journey, **{f"{code}_value": value, f"{code}_unit": unit})
    assert response.status_code == 200
    assert _saved(journey) == 0
    warning = " ".join(response.context["warnings"][code])
    assert flag in warning and likely in warning
    confirm = response.context["form"]["confirm"].value()
    again = _post(
        client, journey, confirm=confirm, **{f"{code}_value": value, f"{code}_unit": unit}
    )
    assert again.status_code == 302
    assert LabResult.objects.get(journey=journey).value_entered == value


def test_a_critical_value_asks_to_confirm_and_a_changed_value_asks_again(
    client, coordinator_a, journey
):
    otp_login(client, coordinator_a)
    first = _post(client, journey, ALT_value="900", ALT_unit="U/L")
    assert "Critical high" in " ".join(first.context["warnings"]["ALT"])
    confirm = first.context["form"]["confirm"].value()
    changed = _post(client, journey, confirm=confirm, ALT_value="990", ALT_unit="U/L")
    assert changed.status_code == 200 and _saved(journey) == 0
    assert (
        _post(
            client,
            journey,
            confirm=changed.context["form"]["confirm"].value(),
            ALT_value="990",
            ALT_unit="U/L",
        ).status_code
        == 302
    )


# ---------------------------------------------------------------- item 4: the form helps


def _draw_due(journey, day):
    return ScheduledLab.objects.filter(journey=journey, due_on=day).select_related("item")


def test_a_worklist_draw_prefills_its_tests_and_date(client, coordinator_a, journey):
    day = DAY0 + dt.timedelta(days=14)
    expected = {code for lab in _draw_due(journey, day) for code in lab.item.tests}
    otp_login(client, coordinator_a)
    response = client.get(_url(journey, day.isoformat()))
    form = response.context["form"]
    assert {t.code for t in form.tests} == expected
    assert form["collected_on"].value() == day


def test_a_future_draw_prefills_today_in_the_centers_zone(client, coordinator_a, journey):
    day = DAY0 + dt.timedelta(days=28)
    with time_machine.travel(dt.datetime(2026, 3, 3, 2, 0, tzinfo=dt.UTC), tick=False):
        otp_login(client, coordinator_a)
        response = client.get(_url(journey, day.isoformat()))
    assert response.context["form"]["collected_on"].value() == dt.date(2026, 3, 2)


@pytest.mark.parametrize("due", ["yesterday", "2026-13-01", "0001-01-01", "9" * 50, "2026-03-02"])
def test_a_bad_or_empty_due_is_ignored(client, coordinator_a, journey, due):
    otp_login(client, coordinator_a)
    response = client.get(_url(journey, due))
    assert response.status_code == 200
    assert len(response.context["form"].tests) == 7  # every test of the plan


def test_the_form_shows_last_values_range_and_baseline_in_staff_words(
    client, coordinator_a, journey
):
    from tracker import services

    before = timezone.make_aware(dt.datetime(2026, 2, 5, 9), timezone.get_default_timezone())
    services.record_results(journey, before, [("ALT", "22", "U/L")], by=None)
    later = timezone.make_aware(dt.datetime(2026, 2, 17, 9), timezone.get_default_timezone())
    services.record_results(journey, later, [("ALT", "48", "U/L")], by=None)
    otp_login(client, coordinator_a)
    text = re.sub(r"\s+", " ", client.get(_url(journey)).text)
    assert "liver test (ALT)" not in text
    assert "48 U/L" in text and "2026-02-17" in text  # last value and its date
    assert "5–51 U/L" in text  # the range for a child of 9 months
    assert "baseline 22 U/L" in text


def test_every_text_input_has_a_maxlength(client, coordinator_a, journey):
    otp_login(client, coordinator_a)
    html = client.get(_url(journey)).text
    inputs = re.findall(r"<input\b[^>]*>", html)
    texts = [i for i in inputs if re.search(r'type="(text|number)"', i)]
    assert texts
    assert all("maxlength=" in i for i in texts), [i for i in texts if "maxlength" not in i]


def test_typed_text_survives_a_service_error(client, coordinator_a, journey):
    otp_login(client, coordinator_a)
    response = _post(client, journey, collected_on="2025-01-01", ALT_value="41 ", AST_value="3x")
    assert 'value="41 "' in response.text and 'value="3x"' in response.text


@pytest.mark.parametrize("language", ["en", "es"])
def test_dates_are_written_and_read_as_iso_in_every_language(language):
    """Django's locales wrote 12/05/2026 (en) and 05/12/2026 (es), and the admin's "Today"
    filled in that first input format; both languages now write year-month-day."""
    from django.utils import formats, translation

    with translation.override(language):
        assert formats.get_format("DATE_INPUT_FORMATS")[0] == "%Y-%m-%d"
        assert formats.date_format(dt.date(2026, 12, 5), "SHORT_DATE_FORMAT") == "2026-12-05"


def test_the_form_costs_a_fixed_number_of_queries(client, coordinator_a, journey):
    """Last values, ranges and baselines for every test come from a few queries, however many
    results the child has."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tracker import services

    otp_login(client, coordinator_a)
    url = _url(journey, (DAY0 + dt.timedelta(days=14)).isoformat())
    client.get(url)  # warm the session and content types

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for day in (1, 2, 3, 4, 5, 6):
        when = timezone.make_aware(dt.datetime(2026, 2, 10 + day, 9), dt.UTC)
        rows = [("ALT", "20", "U/L"), ("AST", "30", "U/L"), ("PLT", "200", "10^9/L")]
        services.record_results(journey, when, rows, by=None)
    print(f"result form: {few} queries")
    assert count() == few <= 15
