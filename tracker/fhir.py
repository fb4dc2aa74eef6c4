"""A child's record as a FHIR R4 bundle: the family's own copy of what Waypoint holds.

`load_record(child, today)` reads everything with a fixed number of queries (journeys,
diagnoses, dated rows, current results, the lab catalogue); `build_bundle(record)` turns it into
a plain dict (pure, no database) that `fhir.resources.R4B` parses (tests/test_export_fhir.py).
The printable page (portal_tracker:record) renders the same `ChildRecord`.

Identifiers are public UUIDs, never pks: rows without a public id (the diagnosis) get a
keyed hash of their pk, so the bundle neither reveals nor lets anyone count database rows.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone
from django.utils.crypto import salted_hmac

from journey.models import OPEN_STAGES, Stage
from tracker.models import Flag, ItemKind, LabResult, LabTest, ScheduledLab, Status
from tracker.portal import wording as w

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
URN_IDENTIFIER = "urn:ietf:rfc:3986"
# Waypoint's own words for a scheduled row's derived status (FHIR's ServiceRequest.status has
# no "overdue" or "missed"): carried in an extension so nothing is lost in the mapping.
STATUS_EXTENSION = "https://waypoint.example.org/fhir/StructureDefinition/schedule-status"

# Lab units as we store them -> UCUM codes. Unknown units keep their text without a code.
UCUM_CODES = {
    "U/L": "U/L",
    "IU/L": "[IU]/L",
    "ukat/L": "ukat/L",
    "mg/dL": "mg/dL",
    "umol/L": "umol/L",
    "ratio": "{ratio}",
    "10^9/L": "10*9/L",
    "10^3/uL": "10*3/uL",
    "/uL": "/uL",
    "ng/L": "ng/L",
    "ug/L": "ug/L",
    "ng/mL": "ng/mL",
    "%": "%",
    "IU/dL": "[IU]/dL",
    "g/dL": "g/dL",
    "g/L": "g/L",
}

INTERPRETATION_CODES = {
    Flag.NORMAL: ("N", "Normal"),
    Flag.LOW: ("L", "Low"),
    Flag.HIGH: ("H", "High"),
    Flag.CRITICAL_LOW: ("LL", "Critical low"),
    Flag.CRITICAL_HIGH: ("HH", "Critical high"),
}

SERVICE_REQUEST_STATUS = {
    Status.UPCOMING: "active",
    Status.DUE: "active",
    Status.OVERDUE: "active",
    Status.DONE: "completed",
    Status.MISSED: "revoked",
    Status.CANCELLED: "revoked",
}

GENDER = {"male": "male", "female": "female"}


def care_plan_status(stage):
    if stage in OPEN_STAGES:
        return "active"
    return "completed" if stage == Stage.CLOSED else "revoked"


# ---------------------------------------------------------------- reading the record


@dataclass
class ChildRecord:
    child: object
    journeys: list
    diagnoses: list
    rows: list  # ScheduledLab with .status (str) and .item
    results: list  # current LabResult with .test
    tests: dict  # code -> LabTest
    today: date
    generated_at: datetime = field(default_factory=timezone.now)

    def rows_of(self, journey):
        return [r for r in self.rows if r.journey_id == journey.pk]

    def results_of(self, journey):
        return [r for r in self.results if r.journey_id == journey.pk]


def load_record(child, today=None):
    """Everything the family may download about `child` (already fetched via journey.access).

    Five queries, whatever the history's length: journeys, diagnoses, dated rows, results,
    the lab catalogue.
    """
    today = today or timezone.localdate()
    open_first = Case(
        When(stage__in=OPEN_STAGES, then=Value(0)), default=1, output_field=IntegerField()
    )
    journeys = list(
        child.journeys.select_related("therapy", "center")
        .annotate(open_first=open_first)
        .order_by("open_first", "-opened_at")
    )
    journey_ids = [j.pk for j in journeys]
    rows = list(
        ScheduledLab.objects.with_status(today)
        .filter(journey_id__in=journey_ids)
        .select_related("item")
        .order_by("due_on", "item__position", "sequence", "pk")
    )
    results = list(
        LabResult.objects.current()
        .released_to_family()
        .filter(journey_id__in=journey_ids)
        .select_related("test")
        .order_by("collected_at", "test__position", "pk")
    )
    return ChildRecord(
        child=child,
        journeys=journeys,
        diagnoses=list(child.diagnoses.select_related("condition").order_by("-confirmed_on")),
        rows=rows,
        results=results,
        tests={t.code: t for t in LabTest.objects.all()},
        today=today,
    )


# ---------------------------------------------------------------- small builders


def keyed_uuid(kind, pk):
    """A stable UUID for a row without a public id; reveals nothing about the pk."""
    digest = salted_hmac("tracker.fhir", f"{kind}:{pk}", algorithm="sha256").hexdigest()
    return str(uuid.UUID(digest[:32]))


def sr_uuid(row, test_code):
    """One ServiceRequest per test of a dated row (a visit has no test: code "")."""
    return str(uuid.uuid5(row.public_id, test_code or "visit"))


def ref(resource_id):
    return {"reference": f"urn:uuid:{resource_id}"}


def number(value):
    """A Decimal as a JSON number: an int when whole, else the shortest float."""
    value = Decimal(value).normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def quantity(value, unit):
    out = {"value": number(value)}
    if unit:
        out["unit"] = unit
        if unit in UCUM_CODES:
            out.update(system=UCUM, code=UCUM_CODES[unit])
    return out


def loinc(test):
    return {"coding": [{"system": LOINC, "code": test.loinc, "display": test.name}]}


def _instant(moment):
    return timezone.localtime(moment, timezone.get_default_timezone()).isoformat()


# ---------------------------------------------------------------- resources


def patient_resource(child):
    center = child.center
    return {
        "resourceType": "Patient",
        "id": str(child.public_id),
        "identifier": [{"system": URN_IDENTIFIER, "value": f"urn:uuid:{child.public_id}"}],
        "name": [{"use": "official", "family": child.last_name, "given": [child.first_name]}],
        "gender": GENDER.get(child.sex, "unknown"),
        "birthDate": child.date_of_birth.isoformat(),
        "managingOrganization": {**ref(center.public_id), "display": center.name},
    }


def organization_resource(center):
    org = {
        "resourceType": "Organization",
        "id": str(center.public_id),
        "identifier": [{"system": URN_IDENTIFIER, "value": f"urn:uuid:{center.public_id}"}],
        "name": center.name,
    }
    if center.main_phone:
        org["telecom"] = [{"system": "phone", "value": center.main_phone, "use": "work"}]
    if center.after_hours_phone:
        org["contact"] = [
            {
                "purpose": {"text": "After hours"},
                "telecom": [{"system": "phone", "value": center.after_hours_phone}],
            }
        ]
    return org


def condition_resource(diagnosis, child):
    """The diagnosis as the family knows it: condition, gene and variant in words."""
    words = (
        f"{diagnosis.condition.name}: {diagnosis.gene} {diagnosis.variant} "
        f"({diagnosis.get_zygosity_display()})"
    )
    details = [
        f"Gene: {diagnosis.gene}",
        f"Variant (HGVS): {diagnosis.variant}",
        f"Variant kind: {diagnosis.get_variant_kind_display()}",
        f"Zygosity: {diagnosis.get_zygosity_display()}",
    ]
    if diagnosis.exon_start:
        last = diagnosis.exon_end or diagnosis.exon_start
        details.append(f"Exons: {diagnosis.exon_start}-{last}")
    if diagnosis.genotype:
        details.append(f"Genotype: {diagnosis.genotype}")
    if diagnosis.smn2_copies is not None:
        details.append(f"SMN2 copies: {diagnosis.smn2_copies}")
    details.append(
        f"Confirmed by {diagnosis.get_confirmed_by_display()} at {diagnosis.lab} "
        f"on {diagnosis.confirmed_on.isoformat()}"
    )
    return {
        "resourceType": "Condition",
        "id": keyed_uuid("diagnosis", diagnosis.pk),
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": {"text": words},
        "subject": ref(child.public_id),
        "recordedDate": diagnosis.confirmed_on.isoformat(),
        "note": [{"text": "; ".join(details)}],
    }


def care_plan_resource(journey, child, activity_ids):
    therapy = journey.therapy
    plan = {
        "resourceType": "CarePlan",
        "id": str(journey.public_id),
        "identifier": [{"system": URN_IDENTIFIER, "value": f"urn:uuid:{journey.public_id}"}],
        "status": care_plan_status(journey.stage),
        "intent": "plan",
        "title": f"Gene therapy journey: {therapy.name}" if therapy else "Gene therapy journey",
        "description": f"Stage: {journey.get_stage_display()}",
        "subject": ref(child.public_id),
        "created": _instant(journey.opened_at),
    }
    if journey.infusion_date:
        plan["period"] = {"start": journey.infusion_date.isoformat()}
        if journey.closed_at:
            plan["period"]["end"] = timezone.localtime(journey.closed_at).date().isoformat()
    if activity_ids:
        plan["activity"] = [{"reference": ref(sr_id)} for sr_id in activity_ids]
    return plan


def _row_code(row, test):
    if test is not None:
        return {**loinc(test), "text": f"{row.item.title}: {test.name}"}
    return {"text": row.item.title}


def _row_category(row):
    if row.item.kind == ItemKind.LAB:
        lab = {"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}
        return [{"coding": [lab]}]
    return [{"text": row.item.get_kind_display()}]


def service_requests(row, child, journey, tests):
    """One ServiceRequest per test of a dated row (grouped by `requisition`), or one per visit."""
    codes = [c for c in row.item.tests if c in tests] or [""]
    status = row.status
    note = f"Due {row.due_on.isoformat()}; window {row.window_start.isoformat()} to "
    note += f"{row.window_end.isoformat()}; status: {Status(status).label}"
    if row.item.inpatient:
        note += "; in hospital"
    out = []
    for code in codes:
        out.append(
            {
                "resourceType": "ServiceRequest",
                "id": sr_uuid(row, code),
                "extension": [{"url": STATUS_EXTENSION, "valueCode": str(status)}],
                "requisition": {"system": URN_IDENTIFIER, "value": f"urn:uuid:{row.public_id}"},
                "basedOn": [ref(journey.public_id)],
                "status": SERVICE_REQUEST_STATUS[status],
                "intent": "plan",
                "category": _row_category(row),
                "code": _row_code(row, tests.get(code)),
                "subject": ref(child.public_id),
                "occurrencePeriod": {
                    "start": row.window_start.isoformat(),
                    "end": row.window_end.isoformat(),
                },
                "note": [{"text": note}],
            }
        )
    return out


def _reference_range(result):
    if result.range_low is None and result.range_high is None:
        return None
    unit = result.range_unit or result.unit
    out = {}
    if result.range_low is not None:
        out["low"] = quantity(result.range_low, unit)
    if result.range_high is not None:
        out["high"] = quantity(result.range_high, unit)
    if result.range_source:
        out["text"] = result.range_source
    return out


def observation_resource(result, child, row=None):
    """`row`: the result's dated row (already loaded), to point at its ServiceRequest."""
    test = result.test
    obs = {
        "resourceType": "Observation",
        "id": str(result.public_id),
        "status": _status(result),
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "laboratory"}]}],
        "code": {**loinc(test), "text": test.family_name},
        "subject": ref(child.public_id),
        "effectiveDateTime": _instant(result.collected_at),
        "issued": _instant(result.entered_at),
        "valueQuantity": quantity(result.value, result.unit),
    }
    if row is not None and test.code in row.item.tests:
        obs["basedOn"] = [ref(sr_uuid(row, test.code))]
    if result.flag in INTERPRETATION_CODES:
        code, display = INTERPRETATION_CODES[result.flag]
        obs["interpretation"] = [
            {"coding": [{"system": INTERPRETATION, "code": code, "display": display}]}
        ]
    reference_range = _reference_range(result)
    if reference_range:
        obs["referenceRange"] = [reference_range]
    notes = []
    if result.x_uln is not None:
        notes.append(f"{number(result.x_uln)} times the upper limit of normal")
    if result.supersedes_id:
        notes.append("Corrected by the care team")
    if notes:
        obs["note"] = [{"text": "; ".join(notes)}]
    return obs


# ---------------------------------------------------------------- the bundle


def _entry(resource):
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def build_bundle(record):
    """The record as a FHIR R4 `collection` bundle (a plain dict, ready for json.dumps)."""
    child, tests = record.child, record.tests
    rows_by_pk = {row.pk: row for row in record.rows}
    resources = [patient_resource(child), organization_resource(child.center)]
    resources += [condition_resource(d, child) for d in record.diagnoses]
    for journey in record.journeys:
        requests = []
        for row in record.rows_of(journey):
            requests += service_requests(row, child, journey, tests)
        resources.append(care_plan_resource(journey, child, [sr["id"] for sr in requests]))
        resources += requests
    for result in record.results:
        # The rows are loaded with their items: look the result's row up, never query per result.
        row = rows_by_pk.get(result.scheduled_lab_id)
        resources.append(observation_resource(result, child, row))
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": _instant(record.generated_at)},
        "identifier": {"system": URN_IDENTIFIER, "value": f"urn:uuid:{uuid.uuid4()}"},
        "type": "collection",
        "timestamp": _instant(record.generated_at),
        "entry": [_entry(r) for r in resources],
    }


# ---------------------------------------------------------------- the printable page


@dataclass
class PrintedJourney:
    journey: object
    rows: list  # (ScheduledLab, heading, FlagText status)
    cancelled_count: int
    results: list  # (LabResult, local day, value text, range text, FlagText, x_uln words)


def print_context(record):
    """The printable record's contents: the same rows as the bundle, in family words."""
    tests = record.tests
    journeys = []
    for journey in record.journeys:
        rows = record.rows_of(journey)
        shown = [r for r in rows if r.status != Status.CANCELLED]
        results = []
        for result in record.results_of(journey):
            places = result.test.decimal_places
            results.append(
                (
                    result,
                    timezone.localtime(result.collected_at).date(),
                    f"{w.number(result.value, places)} {result.unit}",
                    w.normal_range(result.range_low, result.range_high, places),
                    w.flag_text(result.flag),
                    w.x_uln_words(result.x_uln) if (result.x_uln or 0) > 1 else "",
                )
            )
        journeys.append(
            PrintedJourney(
                journey=journey,
                rows=[
                    (
                        r,
                        w.item_heading(
                            r.item.title, [tests[c] for c in r.item.tests if c in tests]
                        ),
                        w.status_text(r.status),
                    )
                    for r in shown
                ],
                cancelled_count=len(rows) - len(shown),
                results=results,
            )
        )
    return {
        "child": record.child,
        "center": record.child.center,
        "diagnoses": record.diagnoses,
        "journeys": journeys,
        "generated_at": record.generated_at,
    }


def _status(result):
    if result.preliminary:
        return "preliminary"
    return "corrected" if result.supersedes_id else "final"
