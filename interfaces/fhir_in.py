"""FHIR R4 results in: JSON bytes -> the same plain Report as HL7 v2 (hl7v2.Report).

fhir.resources (R4B, the R4 family) validates the resource; nothing here touches the database.
A problem raises hl7v2.Refused: "AE" for a broken resource, "AR" for what we do not take.
Observation.status maps to OBX-11: final F; amended/corrected C; preliminary/registered P;
cancelled/entered-in-error X.
"""

import json
from datetime import datetime

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation as FhirObservation
from pydantic import ValidationError

from .hl7v2 import MAX_BYTES, Observation, Order, PatientBlock, Refused, Report, clean

LOINC = "http://loinc.org"
STATUS = {
    "final": "F",
    "amended": "C",
    "corrected": "C",
    "preliminary": "P",
    "registered": "P",
    "cancelled": "X",
    "entered-in-error": "X",
}
KINDS = {"Observation": FhirObservation, "Bundle": Bundle}


def load(raw):
    """Bytes -> (kind, validated resource), or Refused."""
    if len(raw) > MAX_BYTES:
        raise Refused("AR", f"Body too large (over {MAX_BYTES} bytes).")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused("AE", "Not JSON (UTF-8).") from None
    kind = data.get("resourceType") if isinstance(data, dict) else None
    if kind not in KINDS:
        raise Refused("AR", f"Unsupported resourceType {clean(kind)!r}: Observation or Bundle.")
    try:
        resource = KINDS[kind].model_validate(data)
    except (ValidationError, ValueError, TypeError, RecursionError) as exc:
        raise Refused("AE", f"Not a valid FHIR R4 {kind}: {_first_error(exc)}") from None
    return kind, resource


def _first_error(exc):
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            return clean(f"{where} {first.get('msg', '')}".strip(), 200)
        except (IndexError, TypeError, ValueError):
            pass
    return clean(type(exc).__name__)


def control_id(kind, resource):
    """The message id: the resource's identifier (system|value), else its id."""
    identifier = resource.identifier
    if isinstance(identifier, list):
        identifier = identifier[0] if identifier else None
    if identifier is not None and identifier.value:
        key = f"{identifier.system}|{identifier.value}" if identifier.system else identifier.value
        return key[:199]
    return (resource.id or "")[:199]


def observations(kind, resource):
    """(observations, patients by reference) of an Observation or a transaction Bundle."""
    if kind == "Observation":
        return [resource], _contained_patients(resource)
    if resource.type not in ("transaction", "batch", "collection"):
        raise Refused("AR", f"Unsupported Bundle type {clean(resource.type)!r}: transaction.")
    found, patients = [], {}
    for entry in resource.entry or []:
        item = entry.resource
        if item is None:
            continue
        name = item.get_resource_type()
        if name == "Observation":
            found.append(item)
            patients.update(_contained_patients(item))
        elif name == "Patient":
            for key in (entry.fullUrl, f"Patient/{item.id}" if item.id else None):
                if key:
                    patients[key] = item
        else:
            raise Refused("AR", f"Unsupported entry {clean(name)!r}: Observation or Patient.")
    return found, patients


def _contained_patients(observation):
    return {
        f"#{c.id}": c
        for c in observation.contained or []
        if c.get_resource_type() == "Patient" and c.id
    }


def read_report(raw, sender, expected=None):
    """The patients and observations of a checked Observation or Bundle."""
    kind, resource = load(raw)
    if expected and kind != expected:
        raise Refused("AR", f"A {kind} sent to the {expected} endpoint.")
    found, patients = observations(kind, resource)
    if not found:
        raise Refused("AE", "The message holds no Observation.")
    report = Report(sender, control_id(kind, resource))
    blocks = {}
    for position, observation in enumerate(found, start=1):
        patient = _patient(observation, patients)
        key = (tuple(patient.ids), patient.name, patient.birth_date)
        if key not in blocks:
            blocks[key] = patient
            report.patients.append(patient)
        blocks[key].orders.append(_order(observation, position))
    return report


def _patient(observation, patients):
    subject = observation.subject
    if subject is None:
        return PatientBlock([], "", None)
    if subject.identifier is not None and subject.identifier.value:
        ids = [(subject.identifier.value[:60], (subject.identifier.system or "")[:60])]
        return PatientBlock(ids, (subject.display or "")[:200], None)
    patient = patients.get(subject.reference or "")
    if patient is None:
        return PatientBlock([], (subject.display or "")[:200], None)
    ids = [(i.value[:60], (i.system or "")[:60]) for i in patient.identifier or [] if i.value][:5]
    name = ""
    if patient.name:
        first = patient.name[0]
        name = first.text or " ".join([*(first.given or []), first.family or ""]).strip()
    return PatientBlock(ids, name[:200], patient.birthDate)


def _order(observation, position):
    based = (observation.basedOn or [None])[0]
    order_id = ""
    if based is not None:
        order_id = (based.identifier.value if based.identifier else "") or based.reference or ""
    if not order_id:
        order_id = control_id("Observation", observation)
    collected = observation.effectiveDateTime or observation.effectiveInstant
    if collected is None and observation.effectivePeriod is not None:
        collected = observation.effectivePeriod.start
    if not isinstance(collected, datetime):
        collected = None  # a date alone is no collection time
    return Order(order_id[:100], collected, [_observation(observation, position)])


def _observation(observation, position):
    codings = (observation.code.coding or []) if observation.code else []
    coding = next((c for c in codings if c.system == LOINC and c.code), None)
    coding = coding or next((c for c in codings if c.code), None)
    value, unit = _value(observation)
    return Observation(
        position=position,
        code=((coding.code if coding else "") or "")[:60],
        system=((coding.system if coding else "") or "")[:20],
        text=((observation.code.text if observation.code else "") or "")[:200],
        value_type="NM" if observation.valueQuantity is not None else "ST",
        value=value[:200],
        unit=unit[:40],
        reference_range=_range(observation)[:60],
        status=STATUS.get(observation.status, "P"),
    )


def _value(observation):
    quantity = observation.valueQuantity
    if quantity is not None:
        number = "" if quantity.value is None else format(quantity.value, "f")
        return f"{quantity.comparator or ''}{number}", quantity.unit or quantity.code or ""
    if observation.valueString is not None:
        return observation.valueString.strip(), ""
    return "", ""


def _range(observation):
    ranges = observation.referenceRange or []
    if not ranges:
        return ""
    first = ranges[0]
    if first.text:
        return first.text
    low = format(first.low.value, "f") if first.low and first.low.value is not None else ""
    high = format(first.high.value, "f") if first.high and first.high.value is not None else ""
    return f"{low}-{high}" if low or high else ""
