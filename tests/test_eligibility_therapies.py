"""Eligibility of the other therapies at their boundaries: Beqvez, Casgevy, Skysona, Hemgenix,
Lenmeldy, Lyfgenia (Zolgensma and Elevidys: tests/test_eligibility.py)."""

from datetime import date

import pytest

from journey.eligibility import evaluate
from journey.models import Sex, Verdict
from tests import factories as f
from tests.eligibility_helpers import (
    HEMI,
    add_diagnosis,
    add_finding,
    add_findings,
    by_code,
    casgevy_patient,
    therapy,
)

pytestmark = pytest.mark.django_db


def test_beqvez_withdrawn_comes_first_and_decides():
    patient = f.PatientFactory(date_of_birth=date(1990, 1, 1))

    outcome = evaluate(patient, therapy("beqvez"), date(2026, 11, 1))

    first = outcome.results[0]
    assert first.code == "market"
    assert first.status == "not_met"
    assert "withdrawn" in first.explanation.lower()
    assert outcome.verdict == Verdict.NOT_ELIGIBLE  # despite the missing data


@pytest.mark.parametrize(
    ("genotype", "status"),
    [
        ("HbSS", "met"),
        ("βS/βS", "met"),
        ("β-S/β-0", "met"),
        ("HbS/β+ thalassemia", "met"),
        ("HbSC", "not_met"),
        ("", "unknown"),
    ],
)
def test_casgevy_scd_genotype(genotype, status):
    patient = casgevy_patient("scd", genotype, vaso_occlusive_crises_per_year="3")

    outcome = evaluate(patient, therapy("casgevy"), date(2026, 11, 1))

    assert by_code(outcome)["scd-genotype"].status == status
    assert by_code(outcome)["scd-recurrent-crises"].status == "met"


def test_casgevy_scd_needs_recurrent_crises():
    """A payer reading of the label (DOMAIN section 8): not met meets the label all the same."""
    patient = casgevy_patient("scd", "HbSS", vaso_occlusive_crises_per_year="1")
    rule = therapy("casgevy").criteria.get(code="scd-recurrent-crises")
    rule.origin = "payer"
    rule.save()

    outcome = evaluate(patient, therapy("casgevy"), date(2026, 11, 1))

    assert by_code(outcome)["scd-recurrent-crises"].status == "not_met"
    assert outcome.verdict == Verdict.PAYER_RULE_NOT_MET


def test_casgevy_tdt_skips_the_scd_rules_and_flags_the_unverified_age():
    patient = casgevy_patient("tdt", "β0/β0", transfusion_dependent="yes")

    outcome = evaluate(patient, therapy("casgevy"), date(2026, 11, 1))
    results = by_code(outcome)

    assert outcome.verdict == Verdict.ELIGIBLE
    assert results["scd-genotype"].explanation.startswith("Does not apply")
    assert results["scd-recurrent-crises"].explanation.startswith("Does not apply")
    assert results["tdt-transfusions"].status == "met"
    assert results["age-2"].status == "met" and results["age-2"].flag == ""  # from 2 since Jul 2026


def skysona_patient(born, sex=Sex.MALE, loes="2"):
    patient = f.PatientFactory(date_of_birth=born, sex=sex)
    add_diagnosis(patient, "cald", "ABCD1", zygosity=HEMI)
    add_findings(
        patient,
        date(2024, 3, 1),
        nfs_score="0",
        gadolinium_enhancement="yes",
        loes_score=loes,
        hla_matched_donor_available="no",
        abcd1_full_deletion="no",
    )
    return patient


def test_skysona_is_for_boys():
    girl = skysona_patient(date(2015, 1, 1), sex=Sex.FEMALE)
    unknown = skysona_patient(date(2015, 1, 1), sex=Sex.UNKNOWN)

    assert by_code(evaluate(girl, therapy("skysona"), date(2024, 3, 10)))["male"].status == (
        "not_met"
    )
    assert by_code(evaluate(unknown, therapy("skysona"), date(2024, 3, 10)))["male"].status == (
        "unknown"
    )


@pytest.mark.parametrize(
    ("born", "as_of", "verdict"),
    [
        (date(2020, 3, 15), date(2024, 3, 14), Verdict.NOT_ELIGIBLE),  # day before 4th birthday
        (date(2020, 3, 15), date(2024, 3, 15), Verdict.ELIGIBLE),  # 4th birthday
        (date(2006, 3, 15), date(2024, 3, 14), Verdict.ELIGIBLE),  # last day under 18
        (date(2006, 3, 15), date(2024, 3, 15), Verdict.NOT_ELIGIBLE),  # 18th birthday
    ],
)
def test_skysona_ages_4_to_17(born, as_of, verdict):
    assert evaluate(skysona_patient(born), therapy("skysona"), as_of).verdict == verdict


@pytest.mark.parametrize(
    ("loes", "status"), [("0", "not_met"), ("0.5", "met"), ("9", "met"), ("9.5", "not_met")]
)
def test_skysona_loes_between(loes, status):
    patient = skysona_patient(date(2015, 1, 1), loes=loes)

    assert by_code(evaluate(patient, therapy("skysona"), date(2024, 3, 10)))[
        "loes-0-5-to-9"
    ].status == (status)


def test_hemgenix_inhibitor_suggests_a_retest_in_two_weeks():
    patient = f.PatientFactory(date_of_birth=date(1990, 1, 1))
    add_finding(patient, "factor_ix_inhibitor", "positive", date(2026, 10, 1))

    result = by_code(evaluate(patient, therapy("hemgenix"), date(2026, 10, 5)))[
        "no-factor-ix-inhibitor"
    ]

    assert result.status == "not_met"
    assert result.retest_on == date(2026, 10, 15)


@pytest.mark.parametrize(
    ("subtype", "status"),
    [
        ("pre-symptomatic late infantile", "met"),
        ("symptomatic late infantile", "not_met"),
    ],
)
def test_lenmeldy_disease_form(subtype, status):
    patient = f.PatientFactory(date_of_birth=date(2025, 1, 1))
    add_finding(patient, "mld_subtype", subtype, date(2026, 10, 1))

    result = by_code(evaluate(patient, therapy("lenmeldy"), date(2026, 10, 5)))["eligible-mld-form"]

    assert result.status == status


def test_lyfgenia_alpha_thalassemia_trait_is_flagged_not_excluded():
    patient = f.PatientFactory(date_of_birth=date(2005, 1, 1))
    add_finding(patient, "alpha_thalassemia_trait", "yes", date(2026, 10, 1))

    result = by_code(evaluate(patient, therapy("lyfgenia"), date(2026, 10, 5)))[
        "alpha-thal-trait-known"
    ]

    assert result.status == "met"
    assert "caution" in result.flag
