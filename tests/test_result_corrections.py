"""Issue 13 item 3: a wrong result can be corrected, or marked entered in error, from the admin.

GIVEN a child in a New York center with a platelet result of 30 (critical) on day 14
WHEN  the coordinator corrects it, marks it entered in error, or types it again for the same time
THEN  the old value stays in history, the family sees what counts now, and nothing is silent.
"""

import datetime as dt
import re
import uuid
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from tests import factories_portal_tracker as fp
from tests import factories_tracker as ft
from tests.conftest import otp_login
from tests.test_result_entry import UNITS
from tracker import services
from tracker.models import LabResult, ScheduledLab

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
DAY0 = dt.date(2026, 2, 10)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def journey(center_a):
    return ft.planned_journey(day0=DAY0, center=center_a)


def _collected(day=14, hour=9):
    when = dt.datetime.combine(DAY0 + dt.timedelta(days=day), dt.time(hour))
    return timezone.make_aware(when, timezone.get_default_timezone())


@pytest.fixture
def low_platelets(journey):
    (result,) = services.record_results(journey, _collected(), [("PLT", "30", "10^9/L")], by=None)
    return result


def _action_url(result, action):
    return reverse(f"admin:tracker_labresult_{action}", args=[result.pk])


def test_the_results_list_offers_correct_and_entered_in_error(client, coordinator_a, low_platelets):
    otp_login(client, coordinator_a)
    html = client.get(reverse("admin:tracker_labresult_changelist")).text
    assert _action_url(low_platelets, "correct") in html
    assert _action_url(low_platelets, "error") in html
    assert "2026-02-24 04:00 (America/New_York)" in html  # collected 09:00 UTC, center's time


@pytest.mark.parametrize("action", ["correct", "error"])
def test_the_action_pages_bound_every_input(client, coordinator_a, low_platelets, action):
    otp_login(client, coordinator_a)
    html = client.get(_action_url(low_platelets, action)).text
    inputs = re.findall(r"<(?:input|textarea)\b[^>]*>", html)
    typed = [i for i in inputs if "textarea" in i or 'type="text"' in i]
    assert typed and all("maxlength=" in i for i in typed)


def test_correcting_from_the_admin_keeps_the_old_value_in_history(
    client, coordinator_a, low_platelets
):
    otp_login(client, coordinator_a)
    url = _action_url(low_platelets, "correct")
    assert client.get(url).status_code == 200
    missing = client.post(url, {"value": "300", "unit": "10^9/L", "reason": " "})
    assert "reason" in missing.context["form"].errors and 'value="300"' in missing.text
    response = client.post(url, {"value": "300", "unit": "10^9/L", "reason": "Typo: 300"})
    assert response.status_code == 302
    low_platelets.refresh_from_db()
    new = low_platelets.superseded_by
    assert (new.value, new.flag, new.correction_reason) == (300, "normal", "Typo: 300")
    assert low_platelets.superseded_at is not None and low_platelets.value == 30
    assert new.entered_by == coordinator_a


def test_marking_entered_in_error_withdraws_the_result_and_reopens_its_draw(
    client, coordinator_a, low_platelets
):
    lab = ScheduledLab.objects.get(pk=low_platelets.scheduled_lab_id)
    assert lab.done_at is not None
    otp_login(client, coordinator_a)
    url = _action_url(low_platelets, "error")
    assert "reason" in client.post(url, {"reason": ""}).context["form"].errors
    response = client.post(url, {"reason": "Another child's sample"})
    assert response.status_code == 302
    low_platelets.refresh_from_db()
    assert low_platelets.entered_in_error_at == NOW
    assert low_platelets.entered_in_error_by == coordinator_a
    assert low_platelets.entered_in_error_reason == "Another child's sample"
    assert not LabResult.objects.current().filter(pk=low_platelets.pk).exists()
    assert not LabResult.objects.awaiting_review().filter(pk=low_platelets.pk).exists()
    assert ScheduledLab.objects.get(pk=lab.pk).done_at is None
    with pytest.raises(ValidationError):
        services.mark_entered_in_error(low_platelets, by=coordinator_a, reason="again")


def test_an_abnormal_result_entered_in_error_no_longer_extends_the_series(journey):
    item = journey.monitoring_plan.items.get(code="platelets")
    last = item.scheduled.order_by("-sequence").first()
    when = timezone.make_aware(dt.datetime.combine(last.due_on, dt.time(9)))
    with time_machine.travel(when + dt.timedelta(hours=1), tick=False):
        (wrong,) = services.record_results(journey, when, [("PLT", "30", "10^9/L")], by=None)
        services.record_results(
            journey, when + dt.timedelta(minutes=5), [("PLT", "250", "10^9/L")], by=None
        )
        item.refresh_from_db()
        assert item.extension_open
        services.mark_entered_in_error(wrong, by=None, reason="wrong child")
    item.refresh_from_db()
    assert not item.extension_open


def test_an_entered_in_error_mark_needs_a_reason_in_the_database(low_platelets):
    low_platelets.entered_in_error_at = NOW
    with pytest.raises(IntegrityError), transaction.atomic():
        low_platelets.save(update_fields=["entered_in_error_at"])


def test_a_second_current_result_for_the_same_test_and_time_is_refused_by_the_database(
    journey, low_platelets
):
    copy = LabResult.objects.get(pk=low_platelets.pk)
    copy.pk, copy.public_id = None, uuid.uuid4()
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()


def test_typing_the_same_test_and_time_again_asks_whether_it_is_a_correction(
    client, coordinator_a, journey, low_platelets
):
    otp_login(client, coordinator_a)
    local = timezone.localtime(
        low_platelets.collected_at, zoneinfo.ZoneInfo(journey.center.time_zone)
    )
    data = {
        "collected_on": local.date().isoformat(),
        "collected_time": local.strftime("%H:%M"),
        "PLT_value": "60",
        **{f"{code}_unit": unit for code, unit in UNITS.items()},
    }
    url = reverse("admin:tracker_enter_results", args=[journey.pk])
    asked = client.post(url, data)
    assert asked.status_code == 200
    assert "correction" in " ".join(asked.context["form"].errors.get("PLT_value", []))
    assert LabResult.objects.filter(journey=journey).count() == 1
    answered = client.post(url, {**data, "PLT_correct": "on", "correction_reason": "Recount"})
    assert answered.status_code == 302
    current = LabResult.objects.current().get(journey=journey, test__code="PLT")
    assert (current.value, current.supersedes_id) == (60, low_platelets.pk)


def test_outsiders_get_404_on_the_result_actions(client, coordinator_b, low_platelets):
    otp_login(client, coordinator_b)
    for action in ("correct", "error"):
        assert client.get(_action_url(low_platelets, action)).status_code == 404
        response = client.post(_action_url(low_platelets, action), {"reason": "x", "value": "1"})
        assert response.status_code == 404
    assert LabResult.objects.current().get(pk=low_platelets.pk)


@pytest.mark.urls("tests.urls_portal_tracker")
def test_the_family_sees_the_corrected_value_marked_corrected_on_its_day(client, center_a):
    guardian = fp.guardian_with_login(center_a, "parent.c@example.org")
    child, journey = fp.child_of(guardian)
    (old,) = fp.record(journey, 7, [("ALT", "320", "U/L")])
    with time_machine.travel(dt.datetime(2026, 1, 20, 15, tzinfo=dt.UTC), tick=False):
        services.correct_result(old, "32", "U/L", by=None, reason="typo")
        (gone,) = fp.record(journey, 14, [("AST", "999", "U/L")])
        services.mark_entered_in_error(gone, by=None, reason="wrong child")
    client.force_login(guardian.user)
    url = reverse("portal_tracker:labs", kwargs={"public_id": child.public_id})
    text = re.sub(r"<[^>]+>", " ", client.get(url).content.decode())
    text = re.sub(r"\s+", " ", text)
    assert "320 U/L" not in text and "999 U/L" not in text
    assert "32 U/L" in text and "corrected by the care team on Jan. 20, 2026" in text


def test_the_results_list_costs_the_same_queries_for_one_or_many_results(
    client, coordinator_a, journey, low_platelets
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    otp_login(client, coordinator_a)
    url = reverse("admin:tracker_labresult_changelist")
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    one = count()
    for day in (15, 16, 17, 18, 19):
        services.record_results(journey, _collected(day), [("ALT", "20", "U/L")], by=None)
    assert count() == one


def test_a_correction_that_looks_like_a_unit_slip_asks_to_confirm(
    client, coordinator_a, low_platelets
):
    otp_login(client, coordinator_a)
    url = _action_url(low_platelets, "correct")
    data = {"value": "250", "unit": "/uL", "reason": "Recount"}
    asked = client.post(url, data)
    assert asked.status_code == 200 and "10^9/L" in " ".join(asked.context["warnings"])
    assert LabResult.objects.current().get(journey=low_platelets.journey_id).value == 30
    confirm = asked.context["form"]["confirm"].value()
    assert client.post(url, {**data, "confirm": confirm}).status_code == 302
    assert LabResult.objects.current().get(journey=low_platelets.journey_id).value_entered == "250"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite allows no DDL in a test's transaction"
)
def test_migration_0007_marks_rows_the_new_rules_refuse_entered_in_error(journey, low_platelets):
    """Rows saved before the constraints (a year 0001 typo, the same test and time twice) are
    kept but marked entered in error, so the constraints can be added and pages stop failing."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("tracker.migrations.0007_result_entry_trust")
    names = {"labresult_one_current_per_time", "labresult_collected_after_1900"}
    with connection.cursor() as cursor:  # no deferred checks pending before the DDL
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.schema_editor() as editor:
        for constraint in LabResult._meta.constraints:
            if constraint.name in names:
                editor.remove_constraint(LabResult, constraint)
    twice = LabResult.objects.get(pk=low_platelets.pk)
    twice.pk, twice.public_id, twice.value_entered = None, uuid.uuid4(), "31"
    twice.entered_at = low_platelets.entered_at + dt.timedelta(minutes=1)
    twice.save()
    typo = LabResult.objects.get(pk=low_platelets.pk)
    typo.pk, typo.public_id = None, uuid.uuid4()
    typo.collected_at = dt.datetime(1, 1, 1, 12, tzinfo=dt.UTC)
    typo.save()
    migration.withdraw_rows_the_new_rules_refuse(apps, None)
    current = set(LabResult.objects.current().filter(journey=journey).values_list("pk", flat=True))
    assert current == {twice.pk}
    assert "before 1900" in LabResult.objects.get(pk=typo.pk).entered_in_error_reason


def test_a_current_result_before_1900_is_refused_by_the_database(low_platelets):
    typo = LabResult.objects.get(pk=low_platelets.pk)
    typo.pk, typo.public_id = None, uuid.uuid4()
    typo.collected_at = dt.datetime(1, 1, 1, 12, tzinfo=dt.UTC)
    with pytest.raises(IntegrityError), transaction.atomic():
        typo.save()
