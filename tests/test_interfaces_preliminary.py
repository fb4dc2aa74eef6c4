"""Issue 15 item 1: OBX-11 P preliminary, then F final (or C), or X cancelled.

GIVEN a lab system sending a child's results through the real path (inbox, processing task)
WHEN  a result comes preliminary (P)
THEN  it is recorded as preliminary: the coordinator and the family see it, marked so, but it
      counts for nothing (no draw done, no critical alert, no review, no exit rule) until the
      final result for the same order and test supersedes it; a cancellation (X) withdraws it.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from interfaces import processing
from interfaces.inbox import receive_hl7
from interfaces.models import InboundResult
from tests import factories_portal_tracker as fp
from tests.conftest import otp_login
from tests.hl7_samples import child, liver, make_lab, platelets
from tests.test_exit_rules import NORMAL_LIVER, UNITS, _item, _journey, _rows, day
from tracker import services, signals
from tracker.models import LabResult, ScheduledLab

pytestmark = pytest.mark.django_db


def take(raw):
    with TestCase.captureOnCommitCallbacks(execute=True):
        row, _answer = receive_hl7(raw, "mllp")
        processing.process_message(row.pk)
    return row


@pytest.fixture
def setup(center_a):
    return make_lab(center_a), child(center_a)


@pytest.fixture
def heard():
    calls = []

    def listener(**kwargs):
        calls.append(list(kwargs["critical_ids"]))

    signals.results_recorded.connect(listener)
    yield calls
    signals.results_recorded.disconnect(listener)


def _alt():
    return LabResult.objects.filter(test__code="ALT")


def test_a_preliminary_result_is_shown_as_such_and_counts_for_nothing(setup):
    _lab, journey = setup
    take(liver(id="P1", alt="120", status="P", flag="H"))
    alt = _alt().get()
    assert alt.preliminary and alt.is_current and not alt.counts
    assert alt.value == Decimal("120") and alt.flag == "high"
    item = InboundResult.objects.get(code="1742-6")
    assert item.state == "preliminary" and item.lab_result == alt
    # The other tests of the message were final: recorded as such.
    assert not LabResult.objects.filter(preliminary=False, test__code="ALT").exists()
    assert LabResult.objects.filter(preliminary=False).count() == 3
    # Linked to its draw, which waits for the final ALT; nothing to review yet.
    draw = alt.scheduled_lab
    assert draw is not None and draw.done_at is None
    assert not LabResult.objects.awaiting_review().filter(test__code="ALT").exists()


def test_the_final_result_supersedes_the_preliminary_one_and_counts(setup):
    _lab, journey = setup
    take(liver(id="P1", alt="120", status="P", flag="H"))
    take(liver(id="F1", alt="118", status="F", flag="H"))
    old, final = _alt().get(superseded_at__isnull=False), _alt().get(superseded_at__isnull=True)
    assert old.preliminary and not final.preliminary and final.supersedes == old
    assert final.value == Decimal("118") and final.counts
    assert final.scheduled_lab == old.scheduled_lab and final.scheduled_lab.done_at is not None
    assert LabResult.objects.awaiting_review().filter(pk=final.pk).exists()
    states = dict(
        InboundResult.objects.filter(code="1742-6").values_list("message__control_id", "state")
    )
    assert states == {"P1": "preliminary", "F1": "recorded"}


def test_a_final_with_the_same_value_still_replaces_the_preliminary(setup):
    take(liver(id="P1", alt="42", status="P"))
    take(liver(id="F1", alt="42", status="F"))
    final = _alt().get(superseded_at__isnull=True)
    assert not final.preliminary and final.supersedes.preliminary
    assert final.scheduled_lab.done_at is not None


def test_a_newer_preliminary_replaces_the_older_one_and_stays_preliminary(setup):
    take(liver(id="P1", alt="42", status="P"))
    take(liver(id="P2", alt="44", status="P"))
    current = _alt().get(superseded_at__isnull=True)
    assert current.preliminary and current.value == Decimal("44")
    assert _alt().count() == 2


def test_a_preliminary_after_the_final_changes_nothing(setup):
    take(liver(id="F1", alt="42", status="F"))
    take(liver(id="P9", alt="80", status="P"))
    assert _alt().get().value == Decimal("42") and not _alt().get().preliminary
    late = InboundResult.objects.get(message__control_id="P9", code="1742-6")
    assert late.state == "preliminary" and late.lab_result is None


def test_a_cancellation_withdraws_the_preliminary_result(setup):
    take(liver(id="P1", alt="42", status="P"))
    take(liver(id="X1", alt="", status="X"))
    alt = _alt().get()
    assert alt.entered_in_error_at is not None and "Cancelled by the lab" in (
        alt.entered_in_error_reason
    )
    cancel = InboundResult.objects.get(message__control_id="X1", code="1742-6")
    assert cancel.state == "cancelled" and cancel.lab_result == alt
    assert not LabResult.objects.current().filter(test__code="ALT").exists()


def test_a_cancellation_never_withdraws_a_final_result(setup):
    take(liver(id="F1", alt="42", status="F"))
    take(liver(id="X1", alt="", status="X"))
    assert _alt().get().counts


def test_a_critical_preliminary_alerts_nobody_its_final_does(setup, heard):
    take(platelets(id="P1", plt="30", status="P", flag="LL"))
    plt = LabResult.objects.get(test__code="PLT")
    assert plt.flag == "critical_low" and plt.preliminary
    assert heard == [[]]
    assert not LabResult.objects.counting().filter(flag="critical_low").exists()
    take(platelets(id="F1", plt="31", status="F", flag="LL"))
    final = LabResult.objects.get(test__code="PLT", superseded_at__isnull=True)
    assert heard[-1] == [final.pk]


def test_the_exit_rule_waits_for_the_final_results():
    j = _journey()
    collected = timezone.make_aware(dt.datetime.combine(day(84), dt.time(9)))
    rows = [(c, v, UNITS[c]) for c, v in dict(NORMAL_LIVER, TBIL="2.0").items()]
    preliminary = services.record_results(
        j, collected, rows, by=None, now=collected, preliminary=True
    )
    assert _rows(j, "liver-panel")[-1].due_on == day(84)  # not extended on preliminaries
    assert not _item(j, "liver-panel").extended_at
    assert ScheduledLab.objects.get(pk=preliminary[0].scheduled_lab_id).done_at is None
    for result in preliminary:
        services.correct_result(
            result,
            result.value_entered,
            result.unit_entered,
            by=None,
            reason="final",
            now=collected,
        )
    extra = _rows(j, "liver-panel")[-1]
    assert (extra.due_on, extra.extension) == (day(98), True)


def test_a_final_result_is_never_replaced_by_a_preliminary_one(setup):
    take(liver(id="F1", alt="42"))
    with pytest.raises(Exception, match="preliminary"):
        services.correct_result(_alt().get(), "50", "U/L", by=None, reason="x", preliminary=True)


# ------------------------------------------------------------------ who sees it, and how


def test_the_family_reads_preliminary_in_their_own_words(client, center_a):
    guardian = fp.guardian_with_login(center_a, "parent.prelim@example.org")
    patient, journey = fp.child_of(guardian, first_name="Maya")
    patient.medical_record_number = "MRN0001"
    patient.save()
    make_lab(center_a)
    take(platelets(id="P1", plt="30", status="P", flag="LL"))
    client.force_login(guardian.user)
    url = reverse("portal_tracker:labs", args=[patient.public_id])
    with time_machine.travel(dt.datetime(2026, 1, 20, 15, tzinfo=dt.UTC), tick=False):
        html = client.get(url).content.decode()
        guardian.language = "es"
        guardian.save()
        spanish = client.get(url).content.decode()
        guardian.language = "en"
        guardian.save()
    assert "preliminary: the lab may still change it" in html
    assert "the final one replaces it" in html
    # A preliminary critical result does not promise an alert that is not sent.
    assert "The care team is told about this result right away" not in html
    assert "preliminar: el laboratorio aún puede cambiarlo" in spanish
    take(platelets(id="F1", plt="31", status="F", flag="LL"))
    with time_machine.travel(dt.datetime(2026, 1, 20, 15, tzinfo=dt.UTC), tick=False):
        html = client.get(url).content.decode()
    assert "preliminary: the lab may still change it" not in html
    assert "corrected by the care team" not in html  # the final is no correction
    assert "The care team is told about this result right away" in html


def test_the_coordinator_sees_it_marked_preliminary_and_outsiders_get_404(
    client, setup, coordinator_a, coordinator_b
):
    take(liver(id="P1", alt="42", status="P"))
    alt = _alt().get()
    otp_login(client, coordinator_a)
    listing = client.get(reverse("admin:tracker_labresult_changelist"), {"preliminary__exact": "1"})
    assert listing.status_code == 200
    assert "waiting for the final result" in listing.content.decode()
    otp_login(client, coordinator_b)
    change = reverse("admin:tracker_labresult_change", args=[alt.pk])
    assert client.get(change).status_code == 404
