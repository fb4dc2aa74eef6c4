"""Issue 15 item 7: a batch of messages processed together keeps every rule of one at a time
(a child's messages in order, critical alerts at once, one bad message isolated) in a number
of queries that does not grow with the batch."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from interfaces import batch, processing, tasks
from interfaces.inbox import receive_hl7
from interfaces.models import InboundMessage, InboundResult, MessageStatus
from tests.hl7_samples import child, liver, make_lab, platelets
from tracker import signals
from tracker.models import LabResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab(center_a):
    return make_lab(center_a)


def _stored(*raws):
    return [receive_hl7(raw, "mllp")[0].pk for raw in raws]


def _queries(ids):
    ContentType.objects.clear_cache()  # each measured with the same cold cache
    with CaptureQueriesContext(connection) as ctx:
        done = processing.process_messages(ids)
    assert len(done) == len(ids)
    return [q["sql"] for q in ctx.captured_queries]


def _order(raw, n):
    """The message with an order number of its own (each lab order is one child's)."""
    return raw.replace(b"F9002", f"F{n:04d}".encode())


def _status(ids):
    return dict(InboundMessage.objects.filter(pk__in=ids).values_list("pk", "status"))


def test_a_batch_costs_the_same_queries_whatever_its_size(lab, center_a):
    for n in range(8):
        child(center_a, mrn=f"MRN{n:04d}")
    small = _stored(*(_order(platelets(id=f"S{n}", mrn=f"MRN{n:04d}"), n) for n in range(2)))
    large = _stored(*(_order(platelets(id=f"L{n}", mrn=f"MRN{n:04d}"), n) for n in range(2, 8)))
    two, six = _queries(small), _queries(large)
    assert len(two) == len(six)
    assert sum(q.startswith('INSERT INTO "tracker_labresult"') for q in six) == 1
    assert sum(q.startswith('INSERT INTO "audit_auditrecord"') for q in six) == 1
    assert LabResult.objects.count() == 8


def test_one_childs_correction_after_its_final_result_in_the_same_batch(lab, center_a):
    journey = child(center_a)
    ids = _stored(platelets(id="F1", plt="250"), platelets(id="C1", plt="90", status="C"))
    processing.process_messages(ids)
    rows = LabResult.objects.filter(journey=journey, test__code="PLT").order_by("pk")
    first, second = rows
    assert first.superseded_at is not None and second.supersedes_id == first.pk
    assert second.value_entered == "90"
    assert set(_status(ids).values()) == {MessageStatus.PROCESSED}


def test_a_critical_result_in_a_batch_alerts_once_committed(
    lab, center_a, django_capture_on_commit_callbacks
):
    quiet, urgent = child(center_a, mrn="MRN0001"), child(center_a, mrn="MRN0002")
    sent = []

    def heard(sender, journey, result_ids, critical_ids, **kwargs):
        sent.append((journey.pk, len(result_ids), len(critical_ids)))

    signals.results_recorded.connect(heard, dispatch_uid="test_batch_heard")
    try:
        ids = _stored(liver(id="Q1", mrn="MRN0001"), platelets(id="U1", mrn="MRN0002", plt="9"))
        with django_capture_on_commit_callbacks(execute=True):
            processing.process_messages(ids)
    finally:
        signals.results_recorded.disconnect(dispatch_uid="test_batch_heard")
    assert sorted(sent) == sorted([(quiet.pk, 4, 0), (urgent.pk, 1, 1)])


def test_one_message_that_fails_does_not_fail_the_others(lab, center_a, monkeypatch):
    for n in range(3):
        child(center_a, mrn=f"MRN{n:04d}")
    ids = _stored(*(liver(id=f"M{n}", mrn=f"MRN{n:04d}") for n in range(3)))
    real = processing.items_of

    def broken(message, report):
        if message.pk == ids[1]:
            raise RuntimeError("a bug")
        return real(message, report)

    monkeypatch.setattr(processing, "items_of", broken)
    monkeypatch.setattr(batch, "items_of", broken)
    done = processing.process_messages(ids)
    assert [m.pk for m in done] == [ids[0], ids[2]]
    status = _status(ids)
    assert status[ids[0]] == status[ids[2]] == MessageStatus.PROCESSED
    assert status[ids[1]] == MessageStatus.ERROR
    assert "RuntimeError" in InboundMessage.objects.get(pk=ids[1]).reason
    assert not InboundResult.objects.filter(message=ids[1]).exists()
    assert LabResult.objects.count() == 8


def test_a_task_takes_the_messages_waiting_beside_its_own(lab, center_a):
    for n in range(3):
        child(center_a, mrn=f"MRN{n:04d}")
    ids = _stored(*(liver(id=f"W{n}", mrn=f"MRN{n:04d}") for n in range(3)))
    tasks.process_message.apply(args=[ids[1]], throw=True)
    assert set(_status(ids).values()) == {MessageStatus.PROCESSED}
    with CaptureQueriesContext(connection) as ctx:
        tasks.process_message.apply(args=[ids[0]], throw=True)  # already taken: nothing to do
    assert len(ctx.captured_queries) <= 6
    assert LabResult.objects.count() == 12
