"""A guardian downloads their child's record as FHIR R4, or prints it.

GIVEN guardian A with Maya (Zolgensma, day 0 set, a diagnosis, results incl. a correction and a
      high ALT) and guardian B with Leo at another center
WHEN  A downloads Maya's record
THEN  the bundle parses with fhir.resources.R4B (the R4 family of fhir.resources 8; its default
      module is R5), holds one Patient, Organization, Condition and CarePlan, one ServiceRequest
      per test of every dated row and one Observation per current result, with the range and
      the interpretation; superseded results are absent; B gets 404, anonymous the login.
"""

import datetime as dt
import json

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.shortcuts import resolve_url
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from tests import factories as f
from tests import factories_portal_tracker as fp
from tracker.models import LabResult, ScheduledLab
from tracker.services import correct_result

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_portal_tracker")]
NOW = dt.datetime(2026, 2, 20, 15, tzinfo=dt.UTC)
URLS = ["portal_tracker:record", "portal_tracker:record_fhir"]


@pytest.fixture
def family_a(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.a@example.org")
    child, journey = fp.child_of(guardian, first_name="Maya")
    f.DiagnosisFactory(patient=child, variant="c.840C>T exon 7 deletion", smn2_copies=2)
    fp.record(journey, -3, fp.LIVER)  # baseline
    fp.record(journey, 7, [("ALT", "140", "U/L"), ("PLT", "250", "10^9/L")])
    wrong = fp.record(journey, 14, [("AST", "300", "U/L")])[0]
    correct_result(wrong, "30", "U/L", by=None, reason="typing error", now=fp._at(fp.DAY0, 15))
    return guardian, child, journey


@pytest.fixture
def family_b(center_b):
    guardian = fp.guardian_with_login(center_b, "parent.b@example.org")
    child, journey = fp.child_of(guardian, first_name="Leo")
    return guardian, child, journey


def _url(name, child):
    return reverse(name, kwargs={"public_id": child.public_id})


def _download(client, child):
    with time_machine.travel(NOW, tick=False):
        response = client.get(_url("portal_tracker:record_fhir", child))
    assert response.status_code == 200
    return response, json.loads(response.content)


def _of(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_bundle_validates_and_counts(client, family_a):
    guardian, child, journey = family_a
    client.force_login(guardian.user)
    response, data = _download(client, child)

    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="maya-record-2026-02-20.fhir.json"'
    )
    assert "no-cache" in response["Cache-Control"]
    bundle = Bundle.model_validate(data)  # raises on anything R4(B) does not allow
    assert bundle.type == "collection"

    rows = ScheduledLab.objects.filter(journey=journey).select_related("item")
    expected_requests = sum(max(1, len(r.item.tests)) for r in rows)
    current = LabResult.objects.current().filter(journey=journey).count()
    assert current == 4 + 2 + 1
    assert len(_of(data, "Patient")) == 1
    assert len(_of(data, "Organization")) == 1
    assert len(_of(data, "Condition")) == 1
    assert len(_of(data, "CarePlan")) == 1
    assert len(_of(data, "ServiceRequest")) == expected_requests
    assert len(_of(data, "Observation")) == current
    ids = [e["resource"]["id"] for e in data["entry"]]
    assert len(ids) == len(set(ids))
    # fhir.resources checks structure and types, not value sets: check the codes we emit.
    observations = _of(data, "Observation")
    assert {o["status"] for o in observations} <= {"final", "corrected"}
    statuses = {sr["status"] for sr in _of(data, "ServiceRequest")}
    assert statuses <= {"active", "completed", "revoked"}
    codes = {c["code"] for o in observations for i in o["interpretation"] for c in i["coding"]}
    assert codes <= {"N", "L", "H", "LL", "HH"} and "H" in codes


def test_the_validator_is_not_a_rubber_stamp(client, family_a):
    """An R5-only field or a missing required one fails, so the check above means something."""
    guardian, child, _ = family_a
    client.force_login(guardian.user)
    _, data = _download(client, child)
    (plan,) = _of(data, "CarePlan")
    plan["plannedActivityReference"] = plan.pop("activity")  # R5's name for it
    with pytest.raises(ValidationError):
        Bundle.model_validate(data)


def test_patient_uses_the_public_id_never_the_pk(client, family_a):
    guardian, child, _ = family_a
    client.force_login(guardian.user)
    _, data = _download(client, child)
    (patient,) = _of(data, "Patient")
    assert patient["identifier"][0]["value"] == f"urn:uuid:{child.public_id}"
    assert patient["id"] == str(child.public_id)
    assert patient["birthDate"] == child.date_of_birth.isoformat()
    assert patient["gender"] == "male"
    assert patient["name"][0]["given"] == ["Maya"]
    (condition,) = _of(data, "Condition")
    assert "SMN1 c.840C>T exon 7 deletion" in condition["code"]["text"]
    assert str(child.diagnoses.get().pk) not in condition["id"].split("-")


def test_observation_range_interpretation_and_units(client, family_a):
    guardian, child, journey = family_a
    client.force_login(guardian.user)
    _, data = _download(client, child)
    high = LabResult.objects.get(journey=journey, test__code="ALT", value=140)
    (obs,) = [o for o in _of(data, "Observation") if o["id"] == str(high.public_id)]
    assert obs["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "1742-6",
        "display": "Alanine aminotransferase",
    }
    assert obs["valueQuantity"] == {
        "value": 140,
        "unit": "U/L",
        "system": "http://unitsofmeasure.org",
        "code": "U/L",
    }
    interpretation = obs["interpretation"][0]["coding"][0]
    assert interpretation["code"] == "H"
    assert interpretation["system"].endswith("v3-ObservationInterpretation")
    low, high_limit = obs["referenceRange"][0]["low"], obs["referenceRange"][0]["high"]
    assert (low["value"], high_limit["value"]) == (float(high.range_low), float(high.range_high))
    assert obs["effectiveDateTime"].startswith("2026-01-12T")
    # Platelets: the UCUM code for 10^9/L.
    plt = [o for o in _of(data, "Observation") if o["code"]["coding"][0]["code"] == "777-3"]
    assert plt[0]["valueQuantity"]["code"] == "10*9/L"
    # Every observation of a planned draw points at that draw's ServiceRequest.
    requests = {sr["id"] for sr in _of(data, "ServiceRequest")}
    based = [o["basedOn"][0]["reference"][9:] for o in _of(data, "Observation") if "basedOn" in o]
    assert based and set(based) <= requests


def test_no_superseded_result_and_the_correction_is_marked(client, family_a):
    guardian, child, journey = family_a
    client.force_login(guardian.user)
    _, data = _download(client, child)
    old = LabResult.objects.get(journey=journey, superseded_at__isnull=False)
    observations = {o["id"]: o for o in _of(data, "Observation")}
    assert str(old.public_id) not in observations
    new = observations[str(old.superseded_by.public_id)]
    assert new["status"] == "corrected"
    assert new["valueQuantity"]["value"] == 30


def test_care_plan_and_service_requests(client, family_a):
    guardian, child, journey = family_a
    client.force_login(guardian.user)
    _, data = _download(client, child)
    (plan,) = _of(data, "CarePlan")
    assert (plan["status"], plan["intent"]) == ("active", "plan")
    assert plan["period"]["start"] == "2026-01-05"
    requests = _of(data, "ServiceRequest")
    assert {a["reference"]["reference"][9:] for a in plan["activity"]} == {
        sr["id"] for sr in requests
    }
    statuses = {sr["extension"][0]["valueCode"]: sr["status"] for sr in requests}
    assert statuses["overdue"] == "active"
    assert statuses["upcoming"] == "active"
    assert statuses["done"] == "completed"
    liver = [sr for sr in requests if sr["code"].get("coding", [{}])[0].get("code") == "1742-6"]
    assert liver and all("start" in sr["occurrencePeriod"] for sr in liver)


def test_printable_page_renders_the_same_record(client, family_a):
    guardian, child, journey = family_a
    client.force_login(guardian.user)
    with time_machine.travel(NOW, tick=False):
        response = client.get(_url("portal_tracker:record", child))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Download the record file (FHIR)" in page
    assert _url("portal_tracker:record_fhir", child) in page
    assert "portal/record.css" in page
    assert "SMN1 c.840C&gt;T exon 7 deletion" in page
    assert "Higher than normal" in page
    assert "corrected by the care team" in page
    assert 'aria-current="page"' in page


@pytest.mark.parametrize("name", URLS)
def test_another_guardians_child_is_404(client, family_a, family_b, name):
    client.force_login(family_b[0].user)
    assert client.get(_url(name, family_a[1])).status_code == 404


@pytest.mark.parametrize("name", URLS)
def test_anonymous_is_sent_to_log_in(client, family_a, name):
    response = client.get(_url(name, family_a[1]))
    assert response.status_code == 302
    assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))


@pytest.mark.parametrize("name", URLS)
def test_staff_without_a_guardianship_is_404(client, family_a, coordinator_a, name):
    client.force_login(coordinator_a)
    assert client.get(_url(name, family_a[1])).status_code == 404


@pytest.mark.parametrize("name", URLS)
def test_query_count_does_not_grow_with_history(client, center_a, name):
    guardian = fp.guardian_with_login(center_a, "parent.q@example.org")
    short, short_journey = fp.child_of(guardian, first_name="Ana")
    long, long_journey = fp.child_of(guardian, first_name="Ben")
    fp.history(short_journey, 5)
    fp.history(long_journey, 60)
    client.force_login(guardian.user)
    counts = []
    for child in (short, short, long):
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as ctx:
            assert client.get(_url(name, child)).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[1] == counts[2]
    assert counts[2] <= 9  # session, user, guardian + child + 5 record queries


def test_record_template_has_no_inline_style_or_script():
    """The Content-Security-Policy forbids inline style and script (no 'unsafe-inline')."""
    source = (settings.BASE_DIR / "templates/portal/tracker/record_print.html").read_text()
    for needle in ("<style", "style=", "<script", "onclick"):
        assert needle not in source
