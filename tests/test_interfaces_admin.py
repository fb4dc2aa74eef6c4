"""The unmatched queue as a coordinator meets it: the worklist, the result's page, matching,
rejecting, local codes; another center's items are 404. And the drop folder."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from interfaces import processing
from interfaces.inbox import receive_hl7
from interfaces.models import InboundMessage, InboundResult, LocalCode
from tests import factories as f
from tests.conftest import otp_login
from tests.hl7_samples import child, liver, make_lab
from tracker.models import LabResult, LabTest

WORKLIST = reverse("admin:tracker_worklist_changelist")
pytestmark = pytest.mark.django_db


def change_url(item):
    return reverse("admin:interfaces_inboundresult_change", args=[item.pk])


@pytest.fixture
def waiting(center_a):
    """A message for a record number Waypoint does not know: four results wait."""
    make_lab(center_a)
    row, _answer = receive_hl7(liver(mrn="LAB-ONLY-42"), "mllp")
    processing.process_message(row.pk)
    return InboundResult.objects.filter(message=row).order_by("position")


def test_the_worklist_lists_unmatched_results_of_the_center(
    client, coordinator_a, waiting, django_assert_max_num_queries
):
    otp_login(client, coordinator_a)
    with django_assert_max_num_queries(60):
        page = client.get(WORKLIST).content.decode()
    assert "Results from lab systems waiting to be matched" in page
    assert "Maya Rivera" in page and change_url(waiting[0]) in page


def test_another_centers_coordinator_sees_nothing(client, coordinator_b, waiting):
    otp_login(client, coordinator_b)
    page = client.get(WORKLIST).content.decode()
    assert change_url(waiting[0]) not in page
    assert client.get(change_url(waiting[0])).status_code == 404


def test_coordinator_matches_a_result_by_name_and_birth_date(
    client, coordinator_a, center_a, waiting
):
    journey = child(center_a, mrn="MRN0001")
    otp_login(client, coordinator_a)
    page = client.get(change_url(waiting[0])).content.decode()
    assert "Maya Rivera (2025-06-01)" in page  # the suggestion, not a choice made
    response = client.post(change_url(waiting[0]), {"action": "match", "child": journey.pk})
    assert response.status_code == 302
    assert LabResult.objects.filter(journey=journey).count() == 4
    assert not InboundResult.objects.filter(state="unmatched").exists()


def test_a_child_of_another_center_cannot_be_chosen(client, coordinator_a, center_b, waiting):
    other = child(center_b, mrn="MRN0001")
    otp_login(client, coordinator_a)
    response = client.post(change_url(waiting[0]), {"action": "match", "child": other.pk})
    assert response.status_code == 200 and "child" in response.context["adminform"].form.errors
    assert not LabResult.objects.exists()


def test_reject_without_reason_is_refused_by_the_field(client, coordinator_a, waiting):
    otp_login(client, coordinator_a)
    response = client.post(change_url(waiting[0]), {"action": "reject", "reason": " "})
    assert response.context["adminform"].form.errors["reason"]
    client.post(change_url(waiting[0]), {"action": "reject", "reason": "Not our child"})
    assert InboundResult.objects.get(pk=waiting[0].pk).state == "rejected"


def test_a_local_code_added_later_lets_try_again_record_it(center_a, coordinator_a):
    lab = make_lab(center_a)
    journey = child(center_a)
    raw = liver().replace(b"1742-6^ALT^LN", b"ALTX^ALT^L")
    row, _answer = receive_hl7(raw, "mllp")
    processing.process_message(row.pk)
    item = InboundResult.objects.get(code="ALTX")
    assert item.problem == "test"
    LocalCode.objects.create(sender=lab, code="ALTX", test=LabTest.objects.get(code="ALT"))
    from interfaces import resolve

    resolve.retry(item, by=coordinator_a)
    item.refresh_from_db()
    assert item.state == "recorded" and item.lab_result.journey == journey


def test_inbox_pages_answer_for_coordinator_and_superuser(client, coordinator_a, waiting):
    otp_login(client, coordinator_a)
    message = InboundMessage.objects.get()
    for url in (
        reverse("admin:interfaces_inboundmessage_changelist"),
        reverse("admin:interfaces_inboundmessage_change", args=[message.pk]),
        reverse("admin:interfaces_inboundresult_changelist"),
        reverse("admin:interfaces_localcode_changelist"),
        reverse("admin:interfaces_localcode_add"),
    ):
        assert client.get(url).status_code == 200, url
    other = f.CoordinatorFactory(center=f.CenterFactory())
    otp_login(client, other)
    url = reverse("admin:interfaces_inboundmessage_change", args=[message.pk])
    assert client.get(url).status_code == 404


def test_drop_folder_files_are_taken_and_answered(tmp_path, center_a):
    make_lab(center_a)
    child(center_a)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "a.hl7").write_bytes(liver(id="F1"))
    (incoming / "b.hl7").write_bytes(b"garbage")
    (incoming / ".c.hl7").write_bytes(liver(id="F3"))  # still being written
    call_command("watch_hl7_folder", folder=str(tmp_path), once=True, verbosity=0)
    assert sorted(p.name.split("-", 1)[1] for p in (tmp_path / "done").glob("*.hl7")) == ["a.hl7"]
    assert len(list((tmp_path / "failed").glob("*.hl7.ack"))) == 1
    assert [p.name for p in incoming.iterdir()] == [".c.hl7"]
    assert InboundMessage.objects.count() == 2


def test_matching_and_rejecting_leave_who_when_why_in_the_audit_trail(
    client, coordinator_a, center_a, waiting
):
    from audit.models import AuditRecord

    journey = child(center_a, mrn="MRN0001")
    otp_login(client, coordinator_a)
    client.post(change_url(waiting[0]), {"action": "match", "child": journey.pk})
    client.post(change_url(waiting[0]), {"action": "reject", "reason": "late"})  # not waiting
    entries = AuditRecord.objects.filter(
        content_type__app_label="interfaces", object_pk=str(waiting[0].pk), action=1
    )
    assert entries.filter(actor=coordinator_a, patient_id=journey.patient_id).exists()
    assert InboundResult.objects.get(pk=waiting[0].pk).state == "recorded"
