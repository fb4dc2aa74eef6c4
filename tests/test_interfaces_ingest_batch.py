"""Issue 15 item 7: a message's rows in few statements, a batch's catalogue read once, the
audit trail as complete as row by row (one record per row, actor and patient kept)."""

import pytest
from auditlog.context import set_actor
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.models import AuditRecord
from interfaces import processing
from interfaces.inbox import receive_hl7
from interfaces.models import InboundMessage, InboundResult, MessageStatus
from journey.bulk import create_all, records_together
from tests import factories as f
from tests.hl7_samples import child, liver, make_lab, platelets
from tracker.models import LabResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(center_a):
    return make_lab(center_a), child(center_a)


def _created(model):
    ct = ContentType.objects.get_for_model(model)
    return AuditRecord.objects.filter(content_type=ct, event="created")


def test_every_row_of_a_message_has_its_audit_record_with_the_patient(setup):
    _lab, journey = setup
    row, _answer = receive_hl7(liver(), "mllp")
    processing.process_message(row.pk)
    results = list(LabResult.objects.filter(journey=journey))
    items = list(InboundResult.objects.filter(message=row))
    assert len(results) == 4 and len(items) == 4
    for model, rows in ((LabResult, results), (InboundResult, items)):
        records = _created(model)
        assert sorted(int(r.object_pk) for r in records) == sorted(r.pk for r in rows)
        assert {r.patient_id for r in records} == {journey.patient_id}
        assert all(r.changes for r in records)


def test_a_message_that_fails_leaves_no_rows_and_no_audit_records(setup, monkeypatch):
    row, _answer = receive_hl7(liver(), "mllp")
    before = AuditRecord.objects.count()

    def broken(items):
        raise RuntimeError("disk full")

    monkeypatch.setattr(processing, "_save", broken)
    with pytest.raises(RuntimeError):
        processing.process_message(row.pk)
    assert not LabResult.objects.exists() and not InboundResult.objects.exists()
    assert AuditRecord.objects.count() == before
    row.refresh_from_db()
    assert row.status == MessageStatus.RECEIVED  # the sweep takes it again


def test_held_records_keep_the_actor_and_are_dropped_on_failure(center_a):
    coordinator = f.CoordinatorFactory(center=center_a)
    patients = [f.PatientFactory.build(center=center_a) for _ in range(2)]
    with set_actor(coordinator), transaction.atomic(), records_together():
        create_all(type(patients[0]), patients)
        assert _created(type(patients[0])).count() == 0  # held until the block ends
    records = _created(type(patients[0])).filter(object_pk__in=[str(p.pk) for p in patients])
    assert records.count() == 2 and {r.actor_id for r in records} == {coordinator.pk}
    with pytest.raises(ValueError), transaction.atomic(), records_together():
        create_all(type(patients[0]), [f.PatientFactory.build(center=center_a)])
        raise ValueError
    assert _created(type(patients[0])).count() == 2


def test_a_batch_reads_the_catalogue_once_and_a_message_costs_few_queries(setup):
    rows = [receive_hl7(liver(id=f"M{n}"), "mllp")[0] for n in range(1)]
    rows += [receive_hl7(platelets(id=f"C{n}"), "mllp")[0] for n in range(3)]

    def cost(ids):
        with CaptureQueriesContext(connection) as ctx:
            done = processing.process_messages(ids)
        assert len(done) == len(ids)
        return [q["sql"] for q in ctx.captured_queries]

    first = cost([rows[0].pk])
    rest = cost([r.pk for r in rows[1:]])
    catalogue = [q for q in rest if 'FROM "tracker_labtest"' in q and "WHERE" not in q]
    assert len(catalogue) == 1  # three messages, one read of the catalogue
    # One INSERT of results and one of audit records per message, whatever its size.
    assert sum(q.startswith('INSERT INTO "tracker_labresult"') for q in first) == 1
    assert sum(q.startswith('INSERT INTO "audit_auditrecord"') for q in first) == 1
    assert len(rest) <= 3 * 20
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {"processed"}
