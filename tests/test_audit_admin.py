"""Audit records are read-only everywhere; the patient timeline is center-scoped and cheap."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AppendOnlyError, AuditRecord, Event
from journey import services
from journey.models import Stage, Therapy
from tests import factories as f
from tests.conftest import otp_login


@pytest.fixture
def journey_a(center_a, coordinator_a):
    patient = f.PatientFactory(center=center_a, first_name="Lea", last_name="Avila")
    therapy = Therapy.objects.get(slug="zolgensma")
    return services.open_journey(patient, by=coordinator_a, therapy=therapy, reason="referral")


def _move(journey, by, times):
    stages = [Stage.PRE_TREATMENT, Stage.INSURANCE]
    for i in range(times):
        services.move_stage(journey, stages[i % 2], by=by, reason=f"move {i}", override_reason="t")


def timeline_url(patient):
    return reverse("admin:audit_patient_timeline", args=[patient.pk])


def test_model_refuses_update_and_delete(journey_a):
    record = AuditRecord.objects.filter(patient_id=journey_a.patient_id).first()
    record.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(pk=record.pk).update(reason="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(pk=record.pk).delete()


def test_postgresql_trigger_refuses_raw_updates(center_a, coordinator_a):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    from django.db import DatabaseError, transaction

    f.PatientFactory(center=center_a)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditrecord SET reason = 'x'")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditrecord")


def test_superuser_cannot_add_change_or_delete_in_the_admin(client, superuser, journey_a):
    otp_login(client, superuser)
    record = AuditRecord.objects.filter(patient_id=journey_a.patient_id).first()
    change = reverse("admin:audit_auditrecord_change", args=[record.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.text and "deletelink" not in page.text
    assert client.post(change, {"reason": "rewritten"}).status_code == 403
    delete = reverse("admin:audit_auditrecord_delete", args=[record.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:audit_auditrecord_add")).status_code == 403
    listing = client.get(reverse("admin:audit_auditrecord_changelist"))
    assert listing.status_code == 200 and "delete_selected" not in listing.text
    record.refresh_from_db()
    assert record.reason != "rewritten"


def test_coordinator_cannot_browse_all_records(client, coordinator_a):
    otp_login(client, coordinator_a)
    assert client.get(reverse("admin:audit_auditrecord_changelist")).status_code == 403


def test_timeline_newest_first_with_history_views_and_actor(client, coordinator_a, journey_a):
    _move(journey_a, coordinator_a, 2)
    otp_login(client, coordinator_a)
    client.get(reverse("admin:journey_patient_change", args=[journey_a.patient_id]))
    response = client.get(timeline_url(journey_a.patient))
    assert response.status_code == 200
    entries = response.context["entries"]
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    whats = [e.what for e in entries]
    assert sum(w == "Stage moved" for w in whats) == 3  # opened, then two moves
    assert any(w.startswith("viewed") for w in whats)
    move = next(e for e in entries if e.what == "Stage moved")
    assert move.actor == coordinator_a.email and move.why.startswith("move 1")
    # The timeline page itself is a view of the record, and it is recorded.
    assert AuditRecord.objects.filter(event=Event.VIEWED, path=timeline_url(journey_a.patient))
    # The patient page links to it.
    page = client.get(reverse("admin:journey_patient_change", args=[journey_a.patient_id]))
    assert timeline_url(journey_a.patient) in page.text


def test_timeline_of_another_centers_patient_is_404(client, coordinator_b, journey_a):
    otp_login(client, coordinator_b)
    assert client.get(timeline_url(journey_a.patient)).status_code == 404


def _timeline_queries(client, patient):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(timeline_url(patient)).status_code == 200
    return len(queries)


def test_timeline_query_count_is_constant(client, coordinator_a, journey_a):
    otp_login(client, coordinator_a)
    client.get(timeline_url(journey_a.patient))  # warm content types
    _move(journey_a, coordinator_a, 2)
    few = _timeline_queries(client, journey_a.patient)
    _move(journey_a, coordinator_a, 30)
    many = _timeline_queries(client, journey_a.patient)
    assert few == many
