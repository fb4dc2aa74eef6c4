"""Real-shaped FHIR R4 Observations and transaction Bundles, and a lab system with a token."""

import json

from interfaces.tokens import issue_token
from tests.hl7_samples import make_lab

LOINC = "http://loinc.org"
TESTS = {  # LOINC -> (name, value, unit, range)
    "1742-6": ("ALT", 42, "U/L", (7, 56)),
    "1920-8": ("AST", 30, "U/L", (10, 40)),
    "1975-2": ("Bilirubin total", 0.4, "mg/dL", (0.1, 1.2)),
}


def lab_with_token(center, facility="NORTHLAB", zone="America/New_York"):
    lab = make_lab(center, facility, zone)
    return lab, issue_token(lab)


def observation(
    ident="OBS-1",
    loinc="1742-6",
    value=None,
    status="final",
    mrn="MRN0001",
    when="2026-01-12T08:00:00-05:00",
    order="F9001",
):
    name, default, unit, (low, high) = TESTS[loinc]
    resource = {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:lab:northlab", "value": ident}],
        "basedOn": [{"identifier": {"value": order}}],
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": name}], "text": name},
        "subject": {"identifier": {"system": "CENTER-A", "value": mrn}},
        "effectiveDateTime": when,
        "valueQuantity": {"value": default if value is None else value, "unit": unit},
        "referenceRange": [{"low": {"value": low}, "high": {"value": high}}],
    }
    return resource


def bundle(ident="B-1", mrn="MRN0001", status="final"):
    """A transaction: a Patient entry and three Observations referring to it."""
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {"system": "CENTER-A", "value": mrn},
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "555-12-3456"},
        ],
        "name": [{"family": "Rivera", "given": ["Maya"]}],
        "birthDate": "2025-06-01",
    }
    entries = [{"fullUrl": "urn:uuid:p1", "resource": patient, "request": _post("Patient")}]
    for n, loinc in enumerate(TESTS, start=1):
        obs = observation(ident=f"{ident}-{n}", loinc=loinc, status=status)
        obs["subject"] = {"reference": "urn:uuid:p1"}
        entries.append({"resource": obs, "request": _post("Observation")})
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:lab:northlab", "value": ident},
        "type": "transaction",
        "entry": entries,
    }


def _post(kind):
    return {"method": "POST", "url": kind}


def body(resource):
    return json.dumps(resource).encode()
