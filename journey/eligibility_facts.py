"""The facts the eligibility rules read about one child on one date (journey.eligibility)."""

from .ages import age_in_days
from .models import Diagnosis, Finding, FindingType


class Facts:
    """What the rules may read about one child on one date, loaded once.

    Remembers which diagnoses and findings the rules used, for the saved snapshot.
    """

    def __init__(self, patient, therapy, as_of):
        self.patient, self.therapy, self.as_of = patient, therapy, as_of
        self.finding_types = {ft.code: ft for ft in FindingType.objects.all()}
        self._findings = _latest_findings(patient, as_of)
        self._diagnoses = list(
            Diagnosis.objects.filter(
                patient=patient,
                condition__in=therapy.conditions.all(),
                confirmed_on__lte=as_of,
            )
            .select_related("condition")
            .order_by("-confirmed_on", "-recorded_at", "-pk")
        )
        self.used_diagnoses = {}
        self.used_findings = {}

    def diagnosis(self, genes=None):
        """The latest diagnosis for one of the therapy's conditions (and genes, if given)."""
        wanted = {g.upper() for g in genes or ()}
        for dx in self._diagnoses:
            if not wanted or dx.gene.strip().upper() in wanted:
                self.used_diagnoses[dx.pk] = _diagnosis_snapshot(dx)
                return dx
        return None

    def finding(self, code):
        found = self._findings.get(code)
        if found is not None:
            self.used_findings[code] = {
                "value": found.value,
                "observed_on": found.observed_on.isoformat(),
                "finding_id": found.pk,
            }
        return found

    def snapshot(self):
        born = self.patient.date_of_birth
        return {
            "as_of": self.as_of.isoformat(),
            "patient": str(self.patient.public_id),
            "date_of_birth": born.isoformat(),
            "sex": self.patient.sex,
            "age_days": age_in_days(born, self.as_of),
            "therapy": self.therapy.slug,
            "market_status": self.therapy.market_status,
            "label_as_of": self.therapy.label_as_of.isoformat(),
            "diagnoses": list(self.used_diagnoses.values()),
            "findings": self.used_findings,
        }


def _latest_findings(patient, as_of):
    """The newest finding of each type observed on or before `as_of` (one query)."""
    latest = {}
    rows = (
        Finding.objects.filter(patient=patient, observed_on__lte=as_of)
        .select_related("finding_type")
        .order_by("-observed_on", "-recorded_at", "-pk")
    )
    for row in rows:
        latest.setdefault(row.finding_type.code, row)
    return latest


def _diagnosis_snapshot(dx):
    return {
        "id": dx.pk,
        "condition": dx.condition.code,
        "gene": dx.gene,
        "variant": dx.variant,
        "variant_kind": dx.variant_kind,
        "zygosity": dx.zygosity,
        "exon_start": dx.exon_start,
        "exon_end": dx.exon_end,
        "genotype": dx.genotype,
        "smn2_copies": dx.smn2_copies,
        "confirmed_on": dx.confirmed_on.isoformat(),
    }
