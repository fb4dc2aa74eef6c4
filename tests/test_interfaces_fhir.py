"""FHIR R4 results in (issue 15 item 2): POST /fhir/Observation and /fhir/Bundle with a lab's
API token; stored in the same inbox as HL7 v2 before the answer, mapped and recorded by the same
task."""

import datetime as dt
from decimal import Decimal

import pytest

from interfaces import processing, resolve
from interfaces.models import InboundMessage, InboundResult, LabSender, MessageStatus
from tests.fhir_samples import body, bundle, lab_with_token, observation
from tests.hl7_samples import child
from tracker.models import LabResult

pytestmark = pytest.mark.django_db
OBS = "/fhir/Observation"
BUNDLE = "/fhir/Bundle"


def post(client, url, data, token, content_type="application/fhir+json"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(url, data=data, content_type=content_type, headers=headers)


def process_all():
    waiting = InboundMessage.objects.filter(status="received").order_by("pk")
    for pk in waiting.values_list("pk", flat=True):
        processing.process_message(pk)


@pytest.fixture
def setup(center_a):
    lab, token = lab_with_token(center_a)
    return lab, token, child(center_a)


def test_a_valid_observation_is_stored_answered_then_recorded(client, setup):
    lab, token, journey = setup
    response = post(client, OBS, body(observation()), token)
    assert response.status_code == 201, response.content
    assert response.json()["resourceType"] == "Observation"
    row = InboundMessage.objects.get()
    assert (row.source, row.channel, row.lab, row.status) == ("fhir", "http", lab, "received")
    assert row.control_id == "urn:lab:northlab|OBS-1" and row.sender == "NORTHLAB"
    process_all()
    alt = LabResult.objects.get(journey=journey)
    assert alt.test.code == "ALT" and alt.value == Decimal("42")
    assert alt.collected_at == dt.datetime(2026, 1, 12, 13, 0, tzinfo=dt.UTC)
    kept = InboundResult.objects.get(lab_result=alt)
    assert kept.reference_range == "7-56" and kept.result_status == "F"
    assert kept.order_id == "F9001"


def test_a_bundle_of_several_is_recorded_as_one_collection(client, setup):
    _lab, token, journey = setup
    response = post(client, BUNDLE, body(bundle()), token)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["type"] == "transaction-response" and len(answer["entry"]) == 4
    process_all()
    codes = set(LabResult.objects.filter(journey=journey).values_list("test__code", flat=True))
    assert codes == {"ALT", "AST", "TBIL"}
    item = InboundResult.objects.first()
    assert item.patient_name == "Maya Rivera" and item.birth_date == dt.date(2025, 6, 1)


def test_a_resent_identifier_changes_nothing_and_answers_the_same(client, setup):
    _lab, token, _journey = setup
    first = post(client, BUNDLE, body(bundle()), token)
    process_all()
    again = post(client, BUNDLE, body(bundle()), token)
    assert again.status_code == 200 and again.json() == first.json()
    process_all()
    assert InboundMessage.objects.count() == 1 and LabResult.objects.count() == 3


def test_a_correction_supersedes_preliminary_is_shown_not_counted_cancelled_kept(client, setup):
    _lab, token, _journey = setup
    post(client, OBS, body(observation(ident="O1", value=42)), token)
    post(client, OBS, body(observation(ident="O1-c", value=48, status="corrected")), token)
    post(client, OBS, body(observation(ident="P1", loinc="1920-8", status="preliminary")), token)
    gone = observation(ident="X1", loinc="1975-2", status="entered-in-error")
    post(client, OBS, body(gone), token)
    process_all()
    current = LabResult.objects.get(test__code="ALT", superseded_at__isnull=True)
    assert current.value == Decimal("48") and current.supersedes is not None
    states = dict(InboundResult.objects.values_list("code", "state"))
    assert states["1920-8"] == "preliminary" and states["1975-2"] == "cancelled"
    # A preliminary Observation is recorded as preliminary (shown, not counted).
    assert LabResult.objects.get(test__code="AST").preliminary
    assert not LabResult.objects.counting().filter(test__code__in=["AST", "TBIL"]).exists()


def test_a_comparator_is_a_bound_that_waits_for_a_coordinator(client, setup):
    _lab, token, _journey = setup
    data = observation()
    data["valueQuantity"]["comparator"] = "<"
    post(client, OBS, body(data), token)
    process_all()
    item = InboundResult.objects.get()
    assert item.value == "<42" and item.state == "unmatched" and item.problem == "value"


def test_a_time_without_offset_is_not_fhir_and_is_refused_by_name(client, setup):
    """FHIR's dateTime with a time must carry its offset; a date alone is no collection time."""
    _lab, token, _journey = setup
    response = post(client, OBS, body(observation(when="2026-01-12T08:00:00")), token)
    assert response.status_code == 400
    assert "effectiveDateTime" in response.json()["issue"][0]["diagnostics"]
    post(client, OBS, body(observation(ident="D1", when="2026-01-12")), token)
    process_all()
    assert InboundResult.objects.get().problem == "other"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", "Not JSON"),
        (b"\x00\xff\xfe binary \x89PNG", "Not JSON"),
        (body({"resourceType": "Patient", "id": "p"}), "Unsupported resourceType"),
        (body({"resourceType": "Observation", "status": "final"}), "Not a valid FHIR"),
        (body(bundle()), "Bundle sent to the Observation"),
        (body([1, 2]), "Unsupported resourceType"),
    ],
)
def test_bad_bodies_get_400_with_an_operation_outcome_and_are_kept(client, setup, data, reason):
    _lab, token, _journey = setup
    response = post(client, OBS, data, token)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert response.json()["resourceType"] == "OperationOutcome" and reason in issue["diagnostics"]
    row = InboundMessage.objects.get()
    assert bytes(row.raw) == data and row.status in (MessageStatus.ERROR, MessageStatus.REJECTED)
    assert not LabResult.objects.exists()


def test_a_10_mb_body_is_refused_with_413_and_kept_in_part(client, setup):
    _lab, token, _journey = setup
    data = observation()
    data["note"] = [{"text": "x" * 10_000_000}]
    response = post(client, OBS, body(data), token)
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"
    row = InboundMessage.objects.get()
    assert row.status == MessageStatus.REJECTED and len(bytes(row.raw)) <= 64_000


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer "])
def test_a_missing_or_wrong_token_gets_401_and_nothing_is_stored(client, setup, header):
    headers = {"Authorization": header} if header else {}
    response = client.post(
        OBS, data=body(observation()), content_type="application/json", headers=headers
    )
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"
    assert not InboundMessage.objects.exists()


def test_a_rotated_token_replaces_the_old_one(client, setup):
    from interfaces.tokens import issue_token

    lab, old, _journey = setup
    new = issue_token(lab)
    assert post(client, OBS, body(observation()), old).status_code == 401
    assert post(client, OBS, body(observation()), new).status_code == 201
    lab.refresh_from_db()
    assert new not in lab.api_token_hash and old not in lab.api_token_hash


def test_the_token_is_never_stored_in_clear(setup):
    lab, token, _journey = setup
    stored = LabSender.objects.filter(pk=lab.pk).values()[0]
    assert token not in str(stored) and len(lab.api_token_hash) == 64


def test_an_inactive_labs_token_gets_401(client, setup):
    lab, token, _journey = setup
    LabSender.objects.filter(pk=lab.pk).update(active=False)
    assert post(client, OBS, body(observation()), token).status_code == 401


def test_unknown_patient_waits_in_the_unmatched_queue(client, setup, coordinator_a):
    _lab, token, _journey = setup
    post(client, BUNDLE, body(bundle(mrn="NOBODY")), token)
    process_all()
    waiting = resolve.unmatched_for(coordinator_a)
    assert waiting.count() == 3 and {i.problem for i in waiting} == {"patient"}
    assert not LabResult.objects.exists()


def test_another_centers_token_never_files_into_this_center(client, center_a, center_b):
    mine = child(center_a, mrn="MRN0001")
    _other_lab, other_token = lab_with_token(center_b, "SOUTHLAB")
    assert post(client, OBS, body(observation()), other_token).status_code == 201
    process_all()
    assert not LabResult.objects.filter(journey=mine).exists()
    item = InboundResult.objects.get()
    assert item.center == center_b and item.state == "unmatched" and item.problem == "patient"


def test_get_is_not_allowed_and_no_session_or_csrf_is_needed(setup):
    from django.test import Client

    _lab, token, _journey = setup
    strict = Client(enforce_csrf_checks=True)
    assert strict.get(OBS, headers={"Authorization": f"Bearer {token}"}).status_code == 405
    response = post(strict, OBS, body(observation()), token)
    assert response.status_code == 201 and "sessionid" not in response.cookies


def test_too_many_requests_get_429(client, setup, settings):
    _lab, token, _journey = setup
    settings.WAYPOINT_RATE_LIMITS = {**settings.WAYPOINT_RATE_LIMITS, "fhir_in": {"ip": "2/m"}}
    sent = [post(client, OBS, body(observation(ident=f"R{n}")), token) for n in range(3)]
    codes = [r.status_code for r in sent]
    assert codes == [201, 201, 429]
