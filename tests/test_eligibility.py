"""The eligibility rules against the real catalogue: Zolgensma, Elevidys, the verdict and its
record (the other therapies: tests/test_eligibility_therapies.py)."""

from datetime import date, timedelta

import pytest

from journey import services
from journey.eligibility import (
    CriterionResult,
    age_limit,
    evaluate,
    verdict_for,
)
from journey.models import (
    Diagnosis,
    EligibilityCheck,
    Finding,
    Verdict,
)
from journey.models.people import Sex
from tests import factories as f
from tests.eligibility_helpers import (
    DEL,
    DUP,
    HEMI,
    add_diagnosis,
    add_finding,
    add_findings,
    by_code,
    therapy,
)

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- Zolgensma


def zolgensma_patient(born, as_of, titer="1:25", titer_on=None):
    """A child with everything Zolgensma needs recorded shortly before `as_of`."""
    patient = f.PatientFactory(date_of_birth=born)
    add_diagnosis(patient, "sma", "SMN1", variant_kind=DEL, smn2_copies=2)
    add_finding(patient, "anti_aav9_titer", titer, titer_on or as_of - timedelta(days=5))
    add_findings(
        patient,
        as_of - timedelta(days=3),
        advanced_sma="no",
        baseline_liver_x_uln="1.2",
        active_infection="no",
        premature_not_term="no",
    )
    return patient


def test_zolgensma_complete_record_is_eligible():
    as_of = date(2025, 1, 10)
    outcome = evaluate(zolgensma_patient(date(2024, 6, 10), as_of), therapy("zolgensma"), as_of)

    assert outcome.verdict == Verdict.ELIGIBLE
    assert {r.status for r in outcome.results} == {"met"}
    assert outcome.results[0].code == "market"


@pytest.mark.parametrize(
    ("born", "as_of", "status"),
    [
        (date(2024, 6, 10), date(2026, 6, 9), "met"),  # the day before the 2nd birthday
        (date(2024, 6, 10), date(2026, 6, 10), "not_met"),  # the 2nd birthday
        (date(2024, 2, 29), date(2026, 2, 28), "met"),  # leapling: still under 2
        (date(2024, 2, 29), date(2026, 3, 1), "not_met"),  # leapling turns 2 on 1 March
    ],
)
def test_zolgensma_under_two_years_exactly(born, as_of, status):
    outcome = evaluate(zolgensma_patient(born, as_of), therapy("zolgensma"), as_of)

    assert by_code(outcome)["age-under-2"].status == status
    expected = Verdict.ELIGIBLE if status == "met" else Verdict.NOT_ELIGIBLE
    assert outcome.verdict == expected


@pytest.mark.parametrize(
    ("titer", "status"), [("1:50", "met"), ("1:51", "not_met"), ("1:100", "not_met")]
)
def test_zolgensma_titer_limit_and_retest_date(titer, status):
    as_of = date(2025, 1, 10)
    titer_on = date(2025, 1, 2)
    patient = zolgensma_patient(date(2024, 6, 10), as_of, titer=titer, titer_on=titer_on)

    result = by_code(evaluate(patient, therapy("zolgensma"), as_of))["anti-aav9-titer"]

    assert result.status == status
    if status == "not_met":
        assert result.retest_on == date(2025, 2, 1)  # observed + 30 days
        assert "Retest after 2025-02-01" in result.action
        assert result.as_dict()["retest_on"] == "2025-02-01"
    else:
        assert result.retest_on is None


@pytest.mark.parametrize(("age_days", "status"), [(30, "met"), (31, "unknown")])
def test_zolgensma_titer_counts_for_30_days(age_days, status):
    as_of = date(2025, 1, 10)
    titer_on = as_of - timedelta(days=age_days)
    patient = zolgensma_patient(date(2024, 6, 10), as_of, titer="1:10", titer_on=titer_on)

    outcome = evaluate(patient, therapy("zolgensma"), as_of)
    result = by_code(outcome)["anti-aav9-titer"]

    assert result.status == status
    if status == "unknown":
        assert result.action == "Retest: the result is older than 30 days."
        assert outcome.verdict == Verdict.INCOMPLETE


def test_latest_finding_on_or_before_as_of_is_used():
    as_of = date(2025, 1, 10)
    patient = zolgensma_patient(
        date(2024, 6, 10), as_of, titer="1:200", titer_on=date(2024, 12, 20)
    )
    add_finding(patient, "anti_aav9_titer", "1:40", date(2025, 1, 8))  # newer, passes
    add_finding(patient, "anti_aav9_titer", "1:400", date(2025, 1, 12))  # after as_of

    outcome = evaluate(patient, therapy("zolgensma"), as_of)

    assert by_code(outcome)["anti-aav9-titer"].status == "met"
    assert outcome.inputs["findings"]["anti_aav9_titer"]["value"] == "1:40"


def test_missing_data_is_incomplete_with_what_to_collect():
    patient = f.PatientFactory(date_of_birth=date(2024, 6, 10))

    outcome = evaluate(patient, therapy("zolgensma"), date(2025, 1, 10))
    results = by_code(outcome)

    assert outcome.verdict == Verdict.INCOMPLETE
    assert results["smn1-biallelic"].status == "unknown"
    assert "Record the confirmed genetic diagnosis (SMN1)" in results["smn1-biallelic"].action
    assert results["anti-aav9-titer"].status == "unknown"
    assert "Anti-AAV9" in results["anti-aav9-titer"].action
    assert results["anti-aav9-titer"].action.startswith("Collect")
    assert all(r.action for r in outcome.results if r.status == "unknown")


def test_diagnosis_must_be_biallelic_and_record_smn2():
    as_of = date(2025, 1, 10)
    patient = zolgensma_patient(date(2024, 6, 10), as_of)
    Diagnosis.objects.filter(patient=patient).update(smn2_copies=None)

    assert by_code(evaluate(patient, therapy("zolgensma"), as_of))["smn1-biallelic"].status == (
        "unknown"
    )

    Diagnosis.objects.filter(patient=patient).update(zygosity=Diagnosis.Zygosity.HETEROZYGOUS)
    outcome = evaluate(patient, therapy("zolgensma"), as_of)
    assert by_code(outcome)["smn1-biallelic"].status == "not_met"
    assert outcome.verdict == Verdict.NOT_ELIGIBLE


def test_diagnosis_of_another_condition_or_after_as_of_is_not_used():
    as_of = date(2025, 1, 10)
    patient = f.PatientFactory(date_of_birth=date(2024, 6, 10))
    add_diagnosis(patient, "dmd", "DMD", zygosity=HEMI)
    add_diagnosis(patient, "sma", "SMN1", smn2_copies=2, confirmed_on=date(2025, 1, 11))

    result = by_code(evaluate(patient, therapy("zolgensma"), as_of))["smn1-biallelic"]

    assert result.status == "unknown"


def test_active_infection_postpones_without_excluding():
    as_of = date(2025, 1, 10)
    patient = zolgensma_patient(date(2024, 6, 10), as_of)
    add_finding(patient, "active_infection", "yes", as_of)

    outcome = evaluate(patient, therapy("zolgensma"), as_of)
    result = by_code(outcome)["no-active-infection"]

    assert result.status == "not_met"
    assert result.postpone is True
    assert result.explanation.startswith("Postpone")
    assert outcome.verdict == Verdict.INCOMPLETE


def test_inputs_snapshot_records_what_was_seen():
    as_of = date(2025, 1, 10)
    patient = zolgensma_patient(date(2024, 6, 10), as_of, titer_on=date(2025, 1, 4))

    inputs = evaluate(patient, therapy("zolgensma"), as_of).inputs

    assert inputs["date_of_birth"] == "2024-06-10"
    assert inputs["sex"] == "male"
    assert inputs["age_days"] == 214
    assert inputs["therapy"] == "zolgensma"
    assert inputs["market_status"] == "approved"
    assert inputs["diagnoses"][0]["gene"] == "SMN1"
    assert inputs["diagnoses"][0]["smn2_copies"] == 2
    assert inputs["findings"]["anti_aav9_titer"] == {
        "value": "1:25",
        "observed_on": "2025-01-04",
        "finding_id": Finding.objects.get(patient=patient, value="1:25").pk,
    }


def test_query_count_does_not_grow_with_the_findings(django_assert_num_queries):
    as_of = date(2025, 1, 10)
    few = zolgensma_patient(date(2024, 6, 10), as_of)
    many = zolgensma_patient(date(2024, 6, 10), as_of)
    for days_back in range(1, 30):
        add_finding(many, "anti_aav9_titer", "1:20", as_of - timedelta(days=days_back))
    zolgensma = therapy("zolgensma")

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few_queries:
        evaluate(few, zolgensma, as_of)
    with django_assert_num_queries(len(few_queries)):
        evaluate(many, zolgensma, as_of)


# --------------------------------------------------------------------------- Elevidys


def elevidys_patient(born, as_of, *, kind=DEL, exons=(45, 50), titer="1:100", ambulatory="yes"):
    patient = f.PatientFactory(date_of_birth=born, sex=Sex.MALE)
    add_diagnosis(
        patient,
        "dmd",
        "DMD",
        zygosity=HEMI,
        variant_kind=kind,
        exon_start=exons[0],
        exon_end=exons[1],
    )
    add_findings(
        patient,
        as_of - timedelta(days=2),
        anti_aavrh74_titer=titer,
        ambulatory=ambulatory,
        acute_liver_disease="no",
        active_infection="no",
        recent_vaccination="no",
        liver_impairment="no",
    )
    return patient


def test_elevidys_complete_record_is_eligible_and_flags_unverified_rules():
    as_of = date(2025, 1, 10)
    outcome = evaluate(elevidys_patient(date(2020, 5, 1), as_of), therapy("elevidys"), as_of)
    results = by_code(outcome)

    assert outcome.verdict == Verdict.ELIGIBLE
    assert "not verified" in results["no-recent-vaccination"].flag
    assert results["ambulatory"].flag == ""


@pytest.mark.parametrize(
    ("as_of", "status"), [(date(2024, 4, 30), "not_met"), (date(2024, 5, 1), "met")]
)
def test_elevidys_from_the_4th_birthday(as_of, status):
    patient = elevidys_patient(date(2020, 5, 1), as_of)

    result = by_code(evaluate(patient, therapy("elevidys"), as_of))["age-4"]

    assert result.status == status
    if status == "not_met":
        assert result.retest_on == date(2024, 5, 1)


def test_elevidys_not_ambulatory_is_not_eligible():
    as_of = date(2025, 1, 10)
    patient = elevidys_patient(date(2020, 5, 1), as_of, ambulatory="no")

    outcome = evaluate(patient, therapy("elevidys"), as_of)

    assert by_code(outcome)["ambulatory"].status == "not_met"
    assert outcome.verdict == Verdict.NOT_ELIGIBLE


@pytest.mark.parametrize(
    ("kind", "exons", "status", "flagged"),
    [
        (DEL, (8, 9), "not_met", False),
        (DEL, (9, 12), "not_met", False),
        (DEL, (5, 8), "not_met", False),
        (DUP, (8, 8), "met", False),
        (DEL, (45, 50), "met", False),
        (DEL, (3, 7), "met", True),
        (DEL, (60, 62), "met", True),
        (DEL, (18, 58), "met", False),
    ],
)
def test_elevidys_exon_rules(kind, exons, status, flagged):
    as_of = date(2025, 1, 10)
    patient = elevidys_patient(date(2020, 5, 1), as_of, kind=kind, exons=exons)

    result = by_code(evaluate(patient, therapy("elevidys"), as_of))["no-exon-8-9-deletion"]

    assert result.status == status
    assert ("myositis" in result.flag) is flagged


def test_elevidys_deletion_without_exons_is_unknown():
    as_of = date(2025, 1, 10)
    patient = elevidys_patient(date(2020, 5, 1), as_of)
    Diagnosis.objects.filter(patient=patient).update(exon_start=None, exon_end=None)

    result = by_code(evaluate(patient, therapy("elevidys"), as_of))["no-exon-8-9-deletion"]

    assert result.status == "unknown"
    assert "exon" in result.action


@pytest.mark.parametrize(("titer", "status"), [("1:399", "met"), ("1:400", "not_met")])
def test_elevidys_titer_below_400(titer, status):
    as_of = date(2025, 1, 10)
    patient = elevidys_patient(date(2020, 5, 1), as_of, titer=titer)

    assert by_code(evaluate(patient, therapy("elevidys"), as_of))["anti-aavrh74-titer"].status == (
        status
    )


# --------------------------------------------------------------------------- verdict and helpers


def _r(status, postpone=False):
    return CriterionResult("c", "c", status, "", postpone=postpone)


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ([_r("met"), _r("met")], Verdict.ELIGIBLE),
        ([_r("met"), _r("unknown")], Verdict.INCOMPLETE),
        ([_r("unknown"), _r("not_met")], Verdict.NOT_ELIGIBLE),
        ([_r("met"), _r("not_met", postpone=True)], Verdict.INCOMPLETE),
        ([_r("not_met", postpone=True), _r("not_met")], Verdict.NOT_ELIGIBLE),
    ],
)
def test_verdict_logic(statuses, verdict):
    assert verdict_for(statuses) == verdict


def test_age_limit_for_the_admin():
    patient = f.PatientFactory(date_of_birth=date(2024, 6, 10))

    assert age_limit(patient, therapy("zolgensma"), date(2026, 4, 29)) == (date(2026, 6, 9), 41)
    assert age_limit(patient, therapy("zolgensma"), date(2026, 6, 11)) == (date(2026, 6, 9), -2)
    assert age_limit(patient, therapy("elevidys"), date(2026, 4, 29)) is None


def test_run_eligibility_saves_inputs_results_and_who_ran_it(center_a, coordinator_a):
    as_of = date(2025, 1, 10)
    patient = zolgensma_patient(date(2024, 6, 10), as_of)
    patient.center = center_a
    patient.save()
    journey = services.open_journey(patient, by=coordinator_a, therapy=therapy("zolgensma"))

    check = services.run_eligibility(journey, by=coordinator_a, as_of=as_of)

    saved = EligibilityCheck.objects.get(pk=check.pk)
    assert saved.run_by == coordinator_a
    assert saved.verdict == Verdict.ELIGIBLE
    assert saved.as_of == as_of
    assert saved.inputs["therapy"] == "zolgensma"
    assert saved.inputs["findings"]["anti_aav9_titer"]["value"] == "1:25"
    assert [r["code"] for r in saved.results][0] == "market"
    assert {r["status"] for r in saved.results} == {"met"}


def test_evaluate_writes_nothing():
    as_of = date(2025, 1, 10)
    patient = zolgensma_patient(date(2024, 6, 10), as_of)
    before = (Finding.objects.count(), Diagnosis.objects.count(), EligibilityCheck.objects.count())

    evaluate(patient, therapy("zolgensma"), as_of)

    after = (Finding.objects.count(), Diagnosis.objects.count(), EligibilityCheck.objects.count())
    assert after == before
