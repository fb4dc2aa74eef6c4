"""Shared helpers of the eligibility tests: findings, diagnoses and results by code."""

from datetime import date, timedelta

from journey.models import Condition, Diagnosis, Finding, FindingType, Therapy
from tests import factories as f

DEL = Diagnosis.VariantKind.DELETION
DUP = Diagnosis.VariantKind.DUPLICATION
HOM = Diagnosis.Zygosity.HOMOZYGOUS
HEMI = Diagnosis.Zygosity.HEMIZYGOUS


def therapy(slug):
    return Therapy.objects.get(slug=slug)


def add_finding(patient, code, value, observed_on):
    finding_type = FindingType.objects.get(code=code)
    text, number = finding_type.parse(value)
    return Finding.objects.create(
        patient=patient,
        finding_type=finding_type,
        value=text,
        value_number=number,
        observed_on=observed_on,
    )


def add_findings(patient, on, **values):
    for code, value in values.items():
        add_finding(patient, code, value, on)


def add_diagnosis(patient, condition, gene, **fields):
    fields.setdefault("confirmed_on", patient.date_of_birth + timedelta(days=10))
    fields.setdefault("zygosity", HOM)
    return f.DiagnosisFactory(
        patient=patient, condition=Condition.objects.get(code=condition), gene=gene, **fields
    )


def by_code(outcome):
    return {r.code: r for r in outcome.results}


def casgevy_patient(condition, genotype, **findings):
    patient = f.PatientFactory(date_of_birth=date(2010, 3, 1))
    add_diagnosis(patient, condition, "HBB", genotype=genotype)
    add_findings(patient, date(2026, 10, 1), hiv_hbv_hcv_negative="yes", **findings)
    return patient
