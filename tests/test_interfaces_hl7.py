"""HL7 v2 results in: stored before the ACK, mapped, recorded through tracker's service once."""

import datetime as dt
from decimal import Decimal

import hl7
import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from interfaces import processing, resolve
from interfaces.inbox import receive_hl7
from interfaces.models import InboundMessage, InboundResult, LocalCode, MessageStatus
from tests import factories as f
from tests.hl7_samples import child, liver, local, make_lab
from tracker.models import LabResult, LabTest

pytestmark = pytest.mark.django_db


def msa(answer):
    return hl7.parse(answer.decode()).segment("MSA")


def take(raw, channel="mllp"):
    row, answer = receive_hl7(raw, channel)
    processing.process_message(row.pk)
    row.refresh_from_db()
    return row, answer


@pytest.fixture
def setup(center_a):
    return make_lab(center_a), child(center_a)


def test_final_results_are_recorded_with_flags_and_complete_the_draw(setup):
    lab, journey = setup
    row, answer = take(liver(alt="42"))
    assert str(msa(answer)(1)) == "AA" and str(msa(answer)(2)) == "MSG0001"
    assert row.status == MessageStatus.PROCESSED
    results = {r.test.code: r for r in LabResult.objects.filter(journey=journey)}
    assert set(results) == {"ALT", "AST", "TBIL", "INR"}
    alt = results["ALT"]
    assert alt.value == Decimal("42") and alt.flag
    # OBR-7 08:00 at -05:00 is 13:00 UTC; the draw of day 7 is done.
    assert alt.collected_at == dt.datetime(2026, 1, 12, 13, 0, tzinfo=dt.UTC)
    assert alt.scheduled_lab is not None and alt.scheduled_lab.done_at is not None
    kept = InboundResult.objects.get(lab_result=alt)
    assert kept.reference_range == "7-56" and kept.result_status == "F"


def test_a_resent_message_changes_nothing(setup):
    take(liver())
    row, answer = take(liver())
    assert str(msa(answer)(1)) == "AA"
    assert InboundMessage.objects.count() == 1
    assert LabResult.objects.count() == 4
    processing.process_message(row.pk)
    assert LabResult.objects.count() == 4


def test_a_correction_supersedes_the_final_result(setup):
    take(liver(id="M1", alt="42"))
    take(liver(id="M2", alt="48", status="C"))
    alt = LabResult.objects.filter(test__code="ALT")
    assert alt.count() == 2
    current = alt.get(superseded_at__isnull=True)
    assert current.value == Decimal("48") and current.supersedes is not None


def test_a_final_resent_under_a_new_id_is_not_recorded_twice(setup):
    take(liver(id="M1"))
    take(liver(id="M1-again"))
    assert LabResult.objects.filter(test__code="ALT").count() == 1


def test_preliminary_is_recorded_as_such_and_cancelled_withdraws_it(setup):
    # tests/test_interfaces_preliminary.py has the whole story (final, alerts, pages).
    take(liver(id="P1", status="P"))
    take(liver(id="X1", status="X"))
    alt = LabResult.objects.get(test__code="ALT")
    assert alt.preliminary and alt.entered_in_error_at is not None
    states = set(InboundResult.objects.filter(code="1742-6").values_list("state", flat=True))
    assert states == {"preliminary", "cancelled"}


def test_local_codes_bounds_and_strings_wait_for_a_coordinator(center_a):
    lab = make_lab(center_a, "SOUTHLAB", "Europe/Madrid")
    journey = child(center_a)
    LocalCode.objects.create(sender=lab, code="ALTL", test=LabTest.objects.get(code="ALT"))
    row, answer = take(local())
    assert str(msa(answer)(1)) == "AA"
    by_code = {i.code: i for i in InboundResult.objects.filter(message=row)}
    assert by_code["ALTL"].state == "recorded"  # local code, IU/L accepted
    assert by_code["777-3"].state == "recorded"  # second OBR group, escaped unit 10^9/L
    assert by_code["TBILL"].problem == "test"
    assert by_code["CMT"].problem == "test"
    # no offset in OBR-7: the lab's zone (Madrid, UTC+1 in January)
    alt = by_code["ALTL"].lab_result
    assert alt.collected_at == dt.datetime(2026, 1, 12, 6, 30, tzinfo=dt.UTC)
    assert alt.journey == journey


def test_a_bound_is_never_recorded_as_a_number(center_a):
    lab = make_lab(center_a, "SOUTHLAB", "Europe/Madrid")
    child(center_a)
    LocalCode.objects.create(sender=lab, code="TBILL", test=LabTest.objects.get(code="TBIL"))
    take(local())
    item = InboundResult.objects.get(code="TBILL")
    assert item.state == "unmatched" and item.problem == "value"
    assert not LabResult.objects.filter(test__code="TBIL").exists()


def test_unknown_patient_waits_then_a_coordinator_matches_it(center_a, coordinator_a):
    make_lab(center_a)
    journey = child(center_a, mrn="OTHER")
    take(liver(mrn="MRN0001"))
    waiting = resolve.unmatched_for(coordinator_a)
    assert waiting.count() == 4 and {i.problem for i in waiting} == {"patient"}
    assert not LabResult.objects.exists()
    item = waiting.first()
    assert journey in resolve.candidates(item, name="Maya Rivera")
    resolve.match(item, journey, by=coordinator_a)
    assert resolve.unmatched_for(coordinator_a).count() == 0
    assert LabResult.objects.filter(journey=journey).count() == 4
    assert InboundResult.objects.filter(resolved_by=coordinator_a).count() == 4


def test_rejecting_needs_a_reason_and_is_kept(center_a, coordinator_a):
    make_lab(center_a)
    take(liver(mrn="NOBODY"))
    item = resolve.unmatched_for(coordinator_a).first()
    with pytest.raises(ValidationError):
        resolve.reject(item, "  ", by=coordinator_a)
    resolve.reject(item, "Not our patient", by=coordinator_a)
    item.refresh_from_db()
    assert item.state == "rejected" and item.resolution == "Not our patient"


def test_a_result_for_another_centers_child_is_never_filed_there(center_a, center_b):
    make_lab(center_a)
    other = child(center_b, mrn="MRN0001")  # same number, other center
    coordinator_b = f.CoordinatorFactory(center=center_b)
    take(liver(mrn="MRN0001"))
    assert not LabResult.objects.filter(journey=other).exists()
    assert resolve.unmatched_for(coordinator_b).count() == 0
    with pytest.raises(PermissionDenied):
        resolve.match(InboundResult.objects.first(), other, by=coordinator_b)


def test_unknown_sender_gets_AE_and_is_kept(db):
    row, answer = receive_hl7(liver(), "mllp")
    assert str(msa(answer)(1)) == "AE" and "NORTHLAB" in str(msa(answer)(3))
    assert row.status == MessageStatus.ERROR and bytes(row.raw) == liver()


def test_a_message_too_large_is_refused_by_name_and_kept_in_part(setup):
    raw = liver(id="BIG1") + b"NTE|1||" + b"x" * 2_000_000 + b"\r"
    row, answer = receive_hl7(raw, "mllp")
    assert str(msa(answer)(1)) == "AR" and str(msa(answer)(2)) == "BIG1"
    assert "too large" in str(msa(answer)(3))
    assert row.size == len(raw) and bytes(row.raw) == raw[: len(bytes(row.raw))]
    assert row.status == MessageStatus.REJECTED and not LabResult.objects.exists()


def test_what_the_service_refuses_waits_and_the_rest_is_recorded(setup):
    """An impossible value (the service's plausible maximum) waits with the service's reason;
    the other tests of the collection are recorded."""
    take(liver(alt="999999999"))
    alt = InboundResult.objects.get(code="1742-6")
    assert alt.state == "unmatched" and alt.problem == "value" and alt.detail
    assert set(LabResult.objects.values_list("test__code", flat=True)) == {"AST", "TBIL", "INR"}


def test_a_collection_time_in_the_future_waits_never_crashes(setup):
    raw = liver().replace(b"20260112080000-0500", b"20991231080000-0500")
    row, _answer = take(raw)
    assert row.status == MessageStatus.PROCESSED
    assert set(InboundResult.objects.values_list("state", flat=True)) == {"unmatched"}
    assert not LabResult.objects.exists()


def test_the_sweep_processes_what_no_task_took(setup):
    from interfaces.tasks import process_waiting

    with time_machine.travel(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        row, _answer = receive_hl7(liver(), "mllp")  # the broker was down: nothing enqueued
    process_waiting()
    row.refresh_from_db()
    assert row.status == MessageStatus.PROCESSED and LabResult.objects.count() == 4
