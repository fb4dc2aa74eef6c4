"""Eligibility: a therapy's criteria (catalogue data) evaluated for one child on one date.

Reads the database and writes nothing; journey.services.run_eligibility saves the outcome.
Each criterion kind has one evaluator in EVALUATORS; docs/eligibility.md describes them.
The verdict, by each criterion's origin (label, payer, trial, center), is journey.verdicts'.
"""

import operator
import re
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError

from .ages import birthday, last_day_under
from .eligibility_facts import Facts
from .models import (
    CenterCriterionSetting,
    CriterionKind,
    CriterionOrigin,
    Diagnosis,
    EligibilityCriterion,
    Sex,
    ValueType,
)
from .verdicts import MET, NOT_APPLIED, NOT_MET, UNKNOWN, CriterionResult, Outcome, verdict_for


def _result(criterion, status, explanation, action="", **extra):
    origin = {
        "origin": criterion.origin or CriterionOrigin.LABEL,
        "origin_note": criterion.origin_note,
    }
    return CriterionResult(
        criterion.code, criterion.label, status, explanation, action, **extra, **origin
    )


# --------------------------------------------------------------------------- market


def _market(criterion, facts):
    therapy = facts.therapy
    if therapy.accepts_new_journeys:
        return _result(
            criterion, MET, f"{therapy.name} is on the market (label as of {therapy.label_as_of})."
        )
    status = therapy.get_market_status_display().lower()
    note = f" {therapy.market_note}" if therapy.market_note else ""
    return _result(
        criterion,
        NOT_MET,
        f"{therapy.name} is {status}.{note}",
        f"Choose another therapy: no new journeys can start with {therapy.name}.",
    )


# --------------------------------------------------------------------------- age and sex


def _age_params(params):
    return {"years": params.get("years", 0), "months": params.get("months", 0)}


def _age_text(params):
    parts = [(params.get("years", 0), "year"), (params.get("months", 0), "month")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n) or "0 days"


def _age_min(criterion, facts):
    from_day = birthday(facts.patient.date_of_birth, **_age_params(criterion.params))
    text = _age_text(criterion.params)
    if facts.as_of >= from_day:
        return _result(criterion, MET, f"Reached {text} on {from_day}.")
    days_left = (from_day - facts.as_of).days
    return _result(
        criterion,
        NOT_MET,
        f"Too young: reaches {text} on {from_day} (in {days_left} days).",
        f"Recheck on or after {from_day}.",
        retest_on=from_day,
    )


def _age_under(criterion, facts):
    last = last_day_under(facts.patient.date_of_birth, **_age_params(criterion.params))
    text = _age_text(criterion.params)
    if facts.as_of <= last:
        days_left = (last - facts.as_of).days
        return _result(
            criterion,
            MET,
            f"Under {text}: the last eligible day is {last} ({days_left} days left).",
        )
    return _result(
        criterion,
        NOT_MET,
        f"Too old: turned {text} on {last + timedelta(days=1)}; the last eligible day was {last}.",
    )


def _sex(criterion, facts):
    wanted, actual = criterion.params.get("sex"), facts.patient.sex
    if actual not in (Sex.MALE, Sex.FEMALE):
        return _result(criterion, UNKNOWN, "The sex is not recorded.", "Record the sex.")
    if actual == wanted:
        return _result(criterion, MET, f"Sex recorded as {actual}.")
    return _result(criterion, NOT_MET, f"The therapy is for {wanted} patients; recorded {actual}.")


# --------------------------------------------------------------------------- diagnosis


def _genotype_key(text):
    """Normalise spellings: "HbSS", "βS/βS" and "beta-S/beta-S" all become "ss"."""
    key = text.lower()
    for old, new in [("β", "b"), ("beta", "b"), ("⁰", "0"), ("°", "0"), ("⁺", "+")]:
        key = key.replace(old, new)
    for noise in ("thalassaemia", "thalassemia", "thal", "hb"):
        key = key.replace(noise, "")
    key = re.sub(r"[^a-z0-9+]", "", key)
    return key.replace("b", "").replace("o", "0")


def _check_biallelic(params, dx):
    if params.get("biallelic") and not dx.is_biallelic:
        return NOT_MET, f"The variants are {dx.get_zygosity_display().lower()}, not bi-allelic."
    return None


def _check_variant_kind(params, dx):
    kinds = params.get("variant_kinds")
    if kinds and dx.variant_kind not in kinds:
        return NOT_MET, f"The variant kind is {dx.get_variant_kind_display().lower()}."
    return None


def _check_genotype(params, dx):
    genotypes = params.get("genotypes")
    if not genotypes:
        return None
    if not dx.genotype.strip():
        return UNKNOWN, "The genotype is not recorded: record it on the diagnosis."
    if _genotype_key(dx.genotype) not in {_genotype_key(g) for g in genotypes}:
        return NOT_MET, f"Genotype {dx.genotype} is not one of {', '.join(genotypes)}."
    return None


def _check_smn2(params, dx):
    if params.get("smn2_copies_required") and dx.smn2_copies is None:
        return UNKNOWN, "The SMN2 copy number is not recorded: record it on the diagnosis."
    return None


DIAGNOSIS_CHECKS = (_check_biallelic, _check_variant_kind, _check_genotype, _check_smn2)


def _missing_diagnosis(criterion, facts):
    genes = ", ".join(criterion.params.get("genes") or []) or "the right gene"
    conditions = ", ".join(c.name for c in facts.therapy.conditions.all())
    return _result(
        criterion,
        UNKNOWN,
        f"No confirmed {genes} diagnosis for {conditions} on record.",
        f"Record the confirmed genetic diagnosis ({genes}).",
    )


def _diagnosis(criterion, facts):
    dx = facts.diagnosis(criterion.params.get("genes"))
    if dx is None:
        return _missing_diagnosis(criterion, facts)
    problems = [p for p in (check(criterion.params, dx) for check in DIAGNOSIS_CHECKS) if p]
    failed = [text for status, text in problems if status == NOT_MET]
    if failed:
        return _result(criterion, NOT_MET, " ".join(failed))
    if problems:
        text = " ".join(text for _, text in problems)
        return _result(criterion, UNKNOWN, text, "Complete the diagnosis record.")
    return _result(
        criterion,
        MET,
        f"{dx.gene} {dx.variant} ({dx.get_zygosity_display().lower()}), confirmed by "
        f"{dx.get_confirmed_by_display().lower()} on {dx.confirmed_on}.",
    )


def _overlaps(span, ranges):
    start, end = span
    return [r for r in ranges if start <= r[1] and r[0] <= end]


def _exon_deletion(criterion, facts):
    params = criterion.params
    dx = facts.diagnosis(params.get("genes"))
    if dx is None:
        return _missing_diagnosis(criterion, facts)
    if dx.variant_kind in (Diagnosis.VariantKind.DUPLICATION, Diagnosis.VariantKind.POINT):
        kind = dx.get_variant_kind_display().lower()
        return _result(criterion, MET, f"The variant is a {kind}, not a deletion.")
    if dx.variant_kind != Diagnosis.VariantKind.DELETION or dx.exon_start is None:
        return _result(
            criterion,
            UNKNOWN,
            "The diagnosis does not say whether (and which exons) the variant deletes.",
            "Record the variant kind and the first and last exon affected.",
        )
    span = (dx.exon_start, dx.exon_end or dx.exon_start)
    exons = f"exons {span[0]}-{span[1]}" if span[0] != span[1] else f"exon {span[0]}"
    excluded = _overlaps(span, params.get("excluded", []))
    if excluded:
        hit = ", ".join(f"{a}-{b}" for a, b in excluded)
        return _result(criterion, NOT_MET, f"The deletion of {exons} touches excluded exons {hit}.")
    flagged = _overlaps(span, params.get("flagged", []))
    flag = ""
    if flagged:
        reason = params.get("flag_text", "flagged by the label")
        flag = f"Deletion of {exons} lies in exons {flagged[0][0]}-{flagged[0][1]}: {reason}."
    return _result(criterion, MET, f"The deletion of {exons} is not excluded.", flag=flag)


# --------------------------------------------------------------------------- findings

OPS = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "eq": operator.eq,
    "in": lambda actual, wanted: actual in wanted,
    "between": lambda actual, wanted: wanted[0] <= actual <= wanted[1],
}
OP_WORDS = {
    "lt": "below",
    "le": "at most",
    "gt": "above",
    "ge": "at least",
    "eq": "",
    "in": "one of",
    "between": "between",
}


def _is_numeric(finding_type):
    return finding_type.value_type in (ValueType.TITER, ValueType.NUMBER)


def _coerce(finding_type, wanted):
    """The criterion's value in the finding's terms (Decimal numbers or lower-case text)."""
    if isinstance(wanted, list):
        return [_coerce(finding_type, w) for w in wanted]
    if _is_numeric(finding_type):
        return Decimal(str(wanted))
    return str(wanted).strip().lower()


def _compare(finding, op, wanted):
    text, number = finding.finding_type.parse(finding.value)
    actual = number if _is_numeric(finding.finding_type) else text.lower()
    return OPS[op](actual, _coerce(finding.finding_type, wanted))


def _show(finding_type, value):
    if isinstance(value, list):
        return " and ".join(_show(finding_type, v) for v in value)
    return f"1:{value}" if finding_type.value_type == ValueType.TITER else str(value)


def _requirement(finding_type, params):
    words = OP_WORDS.get(params["op"], params["op"])
    value = _show(finding_type, params["value"])
    if params["op"] == "in":
        value = ", ".join(_show(finding_type, v) for v in params["value"])
    unit = f" {finding_type.unit}" if finding_type.unit and _is_numeric(finding_type) else ""
    return f"{words} {value}{unit}".strip()


def _finding(criterion, facts):
    params = criterion.params
    finding_type = facts.finding_types.get(params.get("finding"))
    if finding_type is None or params.get("op") not in OPS:
        return _result(
            criterion,
            UNKNOWN,
            "This rule names an unknown test or operator.",
            "Fix the criterion in the catalogue.",
        )
    found = facts.finding(finding_type.code)
    if found is None:
        return _result(
            criterion,
            UNKNOWN,
            f"No result on record for: {finding_type.name}.",
            f"Collect and record: {finding_type.name}.",
        )
    return _judge_finding(criterion, facts, finding_type, found)


def _judge_finding(criterion, facts, finding_type, found):
    validity = criterion.validity_days or finding_type.validity_days
    age = (facts.as_of - found.observed_on).days
    seen = f"{finding_type.name}: {found.value} on {found.observed_on}"
    if age > validity:
        return _result(
            criterion,
            UNKNOWN,
            f"{seen} is {age} days old; results count for {validity} days.",
            f"Retest: the result is older than {validity} days.",
        )
    try:
        ok = _compare(found, criterion.params["op"], criterion.params["value"])
    except (ValidationError, ArithmeticError, TypeError, IndexError):
        return _result(criterion, UNKNOWN, f"{seen} could not be read.", "Re-enter the result.")
    needed = _requirement(finding_type, criterion.params)
    if ok:
        flag = _finding_flag(criterion.params.get("flag_when"), found)
        return _result(criterion, MET, f"{seen} (needs {needed}).", flag=flag)
    return _failed_finding(criterion, found, f"{seen}; needs {needed}.")


def _failed_finding(criterion, found, explanation):
    if not criterion.retest_after_days:
        return _result(criterion, NOT_MET, explanation)
    retest_on = found.observed_on + timedelta(days=criterion.retest_after_days)
    return _result(
        criterion, NOT_MET, explanation, f"Retest after {retest_on}.", retest_on=retest_on
    )


def _finding_flag(flag_when, found):
    if not flag_when:
        return ""
    try:
        hit = _compare(found, flag_when["op"], flag_when["value"])
    except (ValidationError, ArithmeticError, TypeError, KeyError, IndexError):
        return ""
    return flag_when.get("text", "Flagged result.") if hit else ""


# --------------------------------------------------------------------------- evaluation

EVALUATORS = {
    CriterionKind.MARKET: _market,
    CriterionKind.AGE_MIN: _age_min,
    CriterionKind.AGE_UNDER: _age_under,
    CriterionKind.SEX: _sex,
    CriterionKind.DIAGNOSIS: _diagnosis,
    CriterionKind.EXON_DELETION: _exon_deletion,
    CriterionKind.FINDING: _finding,
}


def _unknown_kind(criterion, facts):
    return _result(
        criterion,
        UNKNOWN,
        f"Waypoint cannot evaluate rules of kind “{criterion.kind}”.",
        "Fix the criterion in the catalogue.",
    )


def _not_applicable(criterion, facts):
    """A criterion limited to some conditions ({"conditions": ["scd"]}) when the diagnosis
    on record is another of the therapy's conditions; without a diagnosis it still applies."""
    codes = criterion.params.get("conditions")
    dx = facts.diagnosis() if codes else None
    if dx is None or dx.condition.code in codes:
        return None
    return _result(
        criterion,
        MET,
        f"Does not apply: only for {', '.join(codes)}; the diagnosis is {dx.condition.name}.",
    )


def _evaluate_one(criterion, facts, switches):
    if criterion.origin == CriterionOrigin.CENTER and not switches.get(criterion.pk):
        return _not_applied_here(criterion, turned_off=criterion.pk in switches)
    result = _not_applicable(criterion, facts)
    if result is None:
        result = EVALUATORS.get(criterion.kind, _unknown_kind)(criterion, facts)
    if criterion.postpone_only and result.status == NOT_MET:
        result.postpone = True
        result.explanation = f"Postpone: {result.explanation}"
        result.action = result.action or "Postpone, and record a new result once it has resolved."
    if not criterion.verified:
        source = f" ({criterion.source})" if criterion.source else ""
        result.flag = f"{result.flag} This rule is not verified yet{source}.".strip()
    return result


def _not_applied_here(criterion, turned_off):
    """A center-policy criterion the center has not turned on: reported, never evaluated."""
    if turned_off:
        return _result(criterion, NOT_APPLIED, "Turned off by this center.")
    return _result(
        criterion,
        NOT_APPLIED,
        "Center policy not applied: this center has not turned it on.",
    )


def _center_switches(criteria, center):
    """{criterion pk: enabled} of the center's settings for these center-policy criteria.

    One query, none without a center or without a center-policy criterion.
    """
    ids = [c.pk for c in criteria if c.origin == CriterionOrigin.CENTER and c.pk]
    if center is None or not ids:
        return {}
    rows = CenterCriterionSetting.objects.filter(center=center, criterion_id__in=ids).order_by()
    return dict(rows.values_list("criterion_id", "enabled"))


def _criteria(therapy):
    """The therapy's criteria, market first; a therapy without one still gets a market check."""
    criteria = sorted(
        therapy.criteria.all(), key=lambda c: (c.kind != CriterionKind.MARKET, c.position, c.code)
    )
    if not criteria or criteria[0].kind != CriterionKind.MARKET:
        implicit = EligibilityCriterion(
            code="market", kind=CriterionKind.MARKET, label="The therapy is on the market"
        )
        criteria.insert(0, implicit)
    return criteria


def evaluate(patient, therapy, as_of, *, center=None):
    """Evaluate every criterion of `therapy` for `patient` on `as_of`; reads, never writes.

    `center` (a Center or its pk; the journey's) decides which center-policy criteria apply;
    without it none do.
    """
    facts = Facts(patient, therapy, as_of)
    criteria = _criteria(therapy)
    switches = _center_switches(criteria, center)
    results = [_evaluate_one(c, facts, switches) for c in criteria]
    return Outcome(verdict=verdict_for(results), results=results, inputs=facts.snapshot())


def age_limit(patient, therapy, today):
    """(last eligible day, days left) under the therapy's age limit, or None without one.

    days_left is negative once the limit has passed. Uses therapy.criteria.all(), so the
    admin can prefetch criteria for a list of journeys.
    """
    limits = [
        last_day_under(patient.date_of_birth, **_age_params(c.params))
        for c in therapy.criteria.all()
        if c.kind == CriterionKind.AGE_UNDER
    ]
    if not limits:
        return None
    last = min(limits)
    return last, (last - today).days
