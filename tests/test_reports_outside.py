"""Outside results from the family: what counts, and when.

GIVEN Mia on day 84 after her infusion, the liver series ending on a rule, AST, TBIL and INR
      already recorded normal by the care team for the last planned draw
WHEN  her guardian reports ALT from a local lab (typed, or as a photo or PDF), and a
      coordinator verifies, corrects or rejects it
THEN  until verified it counts for nothing (no result, flag, exit rule, draw done, chart,
      worklist list); verifying records it through the coordinator's own service (flag,
      extension, draw done) and links it, with who and when; a correction needs a reason and
      keeps what the family sent; a rejection needs a reason. Bad input is refused by the
      field with the staff entry's rules, and nothing is saved.
"""

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from reports import outside
from reports.models import OutsideResult, OutsideStatus
from tests.factories_outside import (
    DAY84,
    NOW,
    liver_item,
    liver_rows,
    mia_on_day84,
    staff_draw,
    upload,
)
from tracker.models import Flag, LabResult, LabTest
from tracker.services import results_awaiting_review

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    settings.WAYPOINT_PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def mia(center_a):
    guardian, child, journey = mia_on_day84(center_a)
    staff_draw(journey, {"AST": "30", "TBIL": "0.5", "INR": "1.0"})
    return guardian, child, journey


def alt():
    return LabTest.objects.get(code="ALT")


def family_sends(mia, value="120", unit="U/L", day=DAY84, **kwargs):
    guardian, _child, journey = mia
    return outside.submit_outside_result(
        guardian, journey, test=alt(), value=value, unit=unit, collected_on=day, **kwargs
    )


def verify(report, by, value="120", unit="U/L", day=DAY84, note=""):
    return outside.verify_outside_result(
        report, by=by, test=alt(), value=value, unit=unit, collected_on=day, note=note
    )


# ---- until verified it counts for nothing ----


def test_an_unverified_high_alt_moves_no_flag_rule_or_draw(mia, coordinator_a):
    _guardian, _child, journey = mia
    family_sends(mia, value="120")
    assert not LabResult.objects.filter(journey=journey, test__code="ALT").exists()
    item = liver_item(journey)
    assert item.extended_at is None
    assert item.held_open_by == [{"test": "ALT", "reason": "missing"}]  # still waiting for ALT
    assert liver_rows(journey)[-1].due_on == DAY84  # no extra draw
    assert liver_rows(journey)[-1].done_at is None
    abnormal = results_awaiting_review(coordinator_a)
    assert not abnormal.filter(test__code="ALT").exists()


def test_verifying_records_it_like_the_coordinators_form(mia, coordinator_a):
    _guardian, _child, journey = mia
    report = family_sends(mia, value="120", lab_name="Quest, Main St")
    result = verify(report, coordinator_a)
    assert (result.value_entered, result.unit_entered, result.flag) == ("120", "U/L", Flag.HIGH)
    assert result.entered_by == coordinator_a
    item = liver_item(journey)
    assert item.extended_at is not None
    assert [h["test"] for h in item.held_open_by] == ["ALT"]
    rows = liver_rows(journey)
    assert rows[-1].extension and rows[-2].done_at is not None
    report.refresh_from_db()
    assert report.status == OutsideStatus.VERIFIED
    assert (report.result, report.verified_by, report.verified_at) == (result, coordinator_a, NOW)


def test_a_normal_verified_alt_completes_the_draw_and_the_series(mia, coordinator_a):
    _guardian, _child, journey = mia
    verify(family_sends(mia, value="20"), coordinator_a, value="20")
    assert liver_rows(journey)[-1].done_at is not None
    assert liver_item(journey).extended_at is None


def test_correcting_needs_a_reason_and_keeps_what_the_family_sent(mia, coordinator_a):
    report = family_sends(mia, value="12")
    with pytest.raises(ValidationError) as caught:
        verify(report, coordinator_a, value="120")
    assert "note" in caught.value.message_dict
    assert not LabResult.objects.filter(test__code="ALT").exists()
    result = verify(report, coordinator_a, value="120", note="The lab's PDF says 120")
    report.refresh_from_db()
    assert report.status == OutsideStatus.CORRECTED
    assert (report.value, result.value_entered) == ("12", "120")
    assert report.verify_note == "The lab's PDF says 120"


def test_rejecting_needs_a_reason_and_never_counts(mia, coordinator_a):
    report = family_sends(mia)
    with pytest.raises(ValidationError):
        outside.reject_outside_result(report, by=coordinator_a, reason="  ")
    outside.reject_outside_result(report, by=coordinator_a, reason="Another child's report")
    report.refresh_from_db()
    assert (report.status, report.verify_note) == (OutsideStatus.REJECTED, "Another child's report")
    assert report.result is None
    assert not LabResult.objects.filter(test__code="ALT").exists()


def test_a_checked_report_cannot_be_checked_again(mia, coordinator_a):
    report = family_sends(mia)
    verify(report, coordinator_a)
    with pytest.raises(ValidationError):
        verify(report, coordinator_a)
    with pytest.raises(ValidationError):
        outside.reject_outside_result(report, by=coordinator_a, reason="late")
    assert LabResult.objects.filter(test__code="ALT").count() == 1


def test_an_upload_only_report_is_verified_with_what_the_coordinator_reads(mia, coordinator_a):
    guardian, _child, journey = mia
    report = outside.submit_outside_result(guardian, journey, upload=upload())
    assert report.test is None and report.file
    result = verify(report, coordinator_a, value="20")
    report.refresh_from_db()
    assert (report.status, report.result) == (OutsideStatus.VERIFIED, result)


def test_verifying_a_duplicate_time_is_refused_by_the_value(mia, coordinator_a):
    _guardian, _child, journey = mia
    staff_draw(journey, {"ALT": "20"})
    report = family_sends(mia)
    with pytest.raises(ValidationError) as caught:
        verify(report, coordinator_a)
    assert "value" in caught.value.message_dict
    report.refresh_from_db()
    assert report.status == OutsideStatus.PENDING


# ---- the family's form: the staff entry's bounds, by the field ----


def new_url(child):
    return reverse("portal_reports:outside_new", args=[child.public_id])


def post(client, mia, **data):
    guardian, child, _journey = mia
    client.force_login(guardian.user)
    fields = {"test": alt().pk, "value": "120", "unit": "U/L", "collected_on": "2026-03-30"}
    fields.update(data)
    return client.post(new_url(child), {k: v for k, v in fields.items() if v is not None})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"value": "1,000"}, "value"),
        ({"value": "-5"}, "value"),
        ({"value": "abc"}, "value"),
        ({"value": "1" * 20}, "value"),
        ({"value": "1" * 21}, "value"),
        ({"unit": "mg/dL"}, "unit"),
        ({"unit": "no-such-unit"}, "unit"),
        ({"collected_on": "2026-04-02"}, "collected_on"),
        ({"collected_on": "2025-05-01"}, "collected_on"),
        ({"collected_on": "0001-01-01"}, "collected_on"),
        ({"collected_on": "9999-12-31"}, "collected_on"),
        ({"collected_on": "31/02/2026"}, "collected_on"),
        ({"test": "999999"}, "test"),
        ({"test": "x"}, "test"),
        ({"value": None}, "value"),
        ({"test": None, "value": None, "unit": None, "collected_on": None}, "test"),
        ({"lab_name": "x" * 121}, "lab_name"),
    ],
)
def test_bad_input_is_explained_by_the_field_and_nothing_is_saved(client, mia, data, field):
    response = post(client, mia, **data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not OutsideResult.objects.exists()


def test_a_typed_result_is_saved_and_shown_on_the_labs_page(client, mia):
    _guardian, child, _journey = mia
    response = post(client, mia, lab_name="Quest, Main St")
    labs = reverse("portal_tracker:labs", args=[child.public_id])
    assert response.status_code == 302 and response["Location"] == labs + "#outside"
    report = OutsideResult.objects.get()
    assert (report.value, report.unit, report.collected_on) == ("120", "U/L", DAY84)
    page = client.get(labs).content.decode()
    assert "Sent to your care team, not checked yet" in page
    assert "Quest, Main St" in page


def test_the_form_fields_are_bounded(client, mia):
    guardian, child, _journey = mia
    client.force_login(guardian.user)
    page = client.get(new_url(child)).content.decode()
    assert 'name="value" maxlength="20"' in page or 'maxlength="20"' in page
    assert 'maxlength="120"' in page
    assert 'accept="image/jpeg,image/png,application/pdf"' in page


# ---- no chart and no alert until verified ----


def test_no_chart_and_no_critical_alert_until_verified(
    client, mia, coordinator_a, monkeypatch, django_capture_on_commit_callbacks
):
    from notifications.models import Kind, Reminder
    from tests.factories_reports import run_tasks_inline

    run_tasks_inline(monkeypatch)
    guardian, child, _journey = mia
    labs = reverse("portal_tracker:labs", args=[child.public_id])
    client.force_login(guardian.user)
    before = len(client.get(labs).context["charts"])
    with django_capture_on_commit_callbacks(execute=True):
        report = family_sends(mia, value="900")
    assert len(client.get(labs).context["charts"]) == before
    assert not Reminder.objects.filter(kind=Kind.CRITICAL_RESULT).exists()
    with django_capture_on_commit_callbacks(execute=True):
        verify(report, coordinator_a, value="900")
    assert len(client.get(labs).context["charts"]) == before + 1
    assert Reminder.objects.filter(kind=Kind.CRITICAL_RESULT, patient=child).exists()
