"""Issue 13 item 1 (infusion date): a date more than two years ahead or absurd is refused; a
past date on a journey whose infusion is only scheduled asks whether the infusion happened;
dates are typed unambiguously (ISO or month names, never 5/12/2026); the page says what it
saved.
"""

import datetime as dt

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError

from journey import services
from journey.models import InfusionDateChange, Stage
from tests import admin_journey
from tests.admin_journey import url

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
pytestmark = pytest.mark.django_db

client_a, journey_a, zolgensma = (
    admin_journey.client_a,
    admin_journey.journey_a,
    admin_journey.zolgensma,
)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _post(client, journey, value, happened=False):
    data = {"infusion_date": value, "reason": "booked"}
    if happened:
        data["infusion_happened"] = "on"
    return client.post(url("journey_infusion_date", journey.pk), data)


def _unchanged(journey):
    journey.refresh_from_db()
    return journey.infusion_date is None and not InfusionDateChange.objects.exists()


@pytest.mark.parametrize("value", ["2028-03-03", "2126-03-01", "9999-12-31"])
def test_a_date_more_than_two_years_ahead_is_refused_by_the_field(client_a, journey_a, value):
    response = _post(client_a, journey_a, value)
    assert response.status_code == 200
    assert "two years ahead" in str(response.context["form"].errors["infusion_date"])
    assert _unchanged(journey_a)


def test_two_years_ahead_to_the_day_is_accepted(client_a, journey_a):
    assert _post(client_a, journey_a, "2028-03-02").status_code == 302
    journey_a.refresh_from_db()
    assert journey_a.infusion_date == dt.date(2028, 3, 2)


def test_the_service_refuses_it_too(journey_a, coordinator_a):
    with pytest.raises(ValidationError) as err:
        services.set_infusion_date(journey_a, dt.date(2030, 1, 1), by=coordinator_a, reason="x")
    assert "infusion_date" in err.value.message_dict


@pytest.mark.parametrize("value", ["5/12/2026", "12/05/2026", "05.12.2026", "0001-01-01x"])
def test_an_ambiguous_or_garbled_date_is_refused_with_the_formats_to_use(
    client_a, journey_a, value
):
    response = _post(client_a, journey_a, value)
    assert response.status_code == 200
    assert "2026-05-12 or 12 May 2026" in str(response.context["form"].errors["infusion_date"])
    assert _unchanged(journey_a)


@pytest.mark.parametrize("value", ["2026-05-12", "12 May 2026", "May 12, 2026", "12 may 2026"])
def test_iso_and_month_names_are_understood(client_a, journey_a, value):
    response = _post(client_a, journey_a, value)
    assert response.status_code == 302
    journey_a.refresh_from_db()
    assert journey_a.infusion_date == dt.date(2026, 5, 12)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Infusion date saved: 2026-05-12."
    ]


def test_a_past_date_while_only_scheduled_asks_whether_the_infusion_happened(client_a, journey_a):
    response = _post(client_a, journey_a, "2026-02-20")
    assert response.status_code == 200
    asked = str(response.context["form"].errors["infusion_happened"])
    assert "Did the infusion happen on 2026-02-20?" in asked
    assert _unchanged(journey_a)
    response = _post(client_a, journey_a, "2026-02-20", happened=True)
    assert response.status_code == 302
    assert response.url == url("journey_move_stage", journey_a.pk)
    journey_a.refresh_from_db()
    assert journey_a.infusion_date == dt.date(2026, 2, 20)


def test_a_past_date_after_the_infusion_needs_no_question(client_a, journey_a):
    journey_a.infusion_date = dt.date(2026, 2, 1)
    journey_a.stage = Stage.MONITORING
    journey_a.save()
    response = _post(client_a, journey_a, "2026-02-03")
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Infusion date saved: 2026-02-03 (was 2026-02-01)."
    ]


def test_the_date_is_a_text_box_so_a_typo_is_never_sent_as_empty(client_a, journey_a):
    """Review finding: the browser's date picker sent 02/30/2026 as "", which cleared the saved
    date. A text box sends what was typed; the typo is refused by the field, the date kept."""
    journey_a.infusion_date = TODAY + dt.timedelta(days=20)
    journey_a.save(update_fields=["infusion_date"])
    page = client_a.get(url("journey_infusion_date", journey_a.pk)).content.decode()
    assert 'type="date"' not in page
    response = _post(client_a, journey_a, "02/30/2026")
    assert response.status_code == 200
    assert "2026-05-12 or 12 May 2026" in response.content.decode()
    journey_a.refresh_from_db()
    assert journey_a.infusion_date == TODAY + dt.timedelta(days=20)
