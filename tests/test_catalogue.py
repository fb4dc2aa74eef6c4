"""The therapy catalogue as data: the loader, and the shape and conventions of the JSON files."""

from io import StringIO

import pytest
from django.core.management import call_command

from journey.catalogue import load_catalogue, read
from journey.models import (
    Condition,
    CriterionKind,
    EligibilityCriterion,
    FindingType,
    MarketStatus,
    Stage,
    StepTemplate,
    Therapy,
)

pytestmark = pytest.mark.django_db

ALL_THERAPIES = {
    "zolgensma",
    "elevidys",
    "beqvez",
    "casgevy",
    "lenmeldy",
    "itvisma",
    "hemgenix",
    "lyfgenia",
    "skysona",
    "luxturna",
    "kebilidi",
    "zynteglo",
    "vyjuvek",
    "zevaskyn",
}
# ALP and AFP are added to tracker/labs/catalogue.json by the reference-ranges work (issue 11).
LAB_CODES = {"ALT", "AST", "GGT", "TBIL", "INR", "PLT", "TNI", "CREAT", "FIX", "HGB", "ANC"}
LAB_CODES |= {"ALP", "AFP"}
ITEM_KINDS = {"lab", "visit", "checkpoint"}
ITEM_KEYS = {"code", "kind", "title", "tests", "baseline", "segments"}
OPTIONAL_ITEM_KEYS = {"continue_until_normal", "inpatient", "lifelong", "note", "source", "as_of"}
SEGMENT_SHAPES = [
    {"days", "window_days"},
    {"every_days", "first_day", "last_day", "window_days"},
    {"every_months", "first_month", "last_month", "window_days"},
]
UNTIL_NORMAL_RULES = {"below_x_uln", "within_range", "near_baseline", "back_to_baseline"}
LTFU_YEARS = {"aav": 5, "hsv1": 5, "lentiviral": 15, "genome_edited": 15, "retroviral": 15}


def counts():
    return {
        "conditions": Condition.objects.count(),
        "therapies": Therapy.objects.count(),
        "criteria": EligibilityCriterion.objects.count(),
        "finding_types": FindingType.objects.count(),
        "steps": StepTemplate.objects.count(),
        "step_therapies": StepTemplate.therapies.through.objects.count(),
        "therapy_conditions": Therapy.conditions.through.objects.count(),
    }


def schedule(slug):
    return {item["code"]: item for item in Therapy.objects.get(slug=slug).monitoring_schedule}


def day_offsets(segment):
    """The day offsets of a day-based segment (what the plan generator will produce)."""
    if "days" in segment:
        return segment["days"]
    return list(range(segment["first_day"], segment["last_day"] + 1, segment["every_days"]))


# --------------------------------------------------------------------------- loader


def test_loader_is_idempotent():
    before = counts()

    load_catalogue()
    load_catalogue()

    assert counts() == before
    assert before["therapies"] == len(read("therapies.json"))
    assert before["steps"] == len(read("steps.json"))


def test_default_run_keeps_admin_edits_and_update_overwrites_them():
    zolgensma = Therapy.objects.get(slug="zolgensma")
    zolgensma.source = "Edited in the admin"
    zolgensma.save()
    EligibilityCriterion.objects.filter(therapy=zolgensma, code="anti-aav9-titer").update(
        params={"finding": "anti_aav9_titer", "op": "le", "value": 100}
    )

    call_command("load_catalogue", verbosity=0)

    zolgensma.refresh_from_db()
    titer = zolgensma.criteria.get(code="anti-aav9-titer")
    assert zolgensma.source == "Edited in the admin"
    assert titer.params["value"] == 100

    call_command("load_catalogue", "--update", verbosity=0)

    zolgensma.refresh_from_db()
    titer.refresh_from_db()
    assert zolgensma.source.startswith("US prescribing information")
    assert titer.params["value"] == 50


def test_update_removes_a_rule_the_label_dropped_and_says_so():
    """GIVEN a database loaded before Casgevy's July 2026 revision (minimum age 12)
    WHEN load_catalogue --update runs with today's files
    THEN the age-12 rule is gone (it would call a 5-year-old not eligible), age-2 is there,
    and the printout names both; a step's therapies and a therapy's conditions follow the file."""
    casgevy = Therapy.objects.get(slug="casgevy")
    casgevy.criteria.filter(code="age-2").delete()
    EligibilityCriterion.objects.create(
        therapy=casgevy,
        code="age-12",
        kind=CriterionKind.AGE_MIN,
        label="12 or older",
        params={"years": 12},
        position=1,
    )
    casgevy.conditions.add(Condition.objects.get(code="sma"))
    step = StepTemplate.objects.filter(therapies__isnull=False).first()
    step.therapies.add(Therapy.objects.get(slug="luxturna"))
    expected_step_therapies = set(step.therapies.values_list("slug", flat=True)) - {"luxturna"}
    out = StringIO()

    call_command("load_catalogue", "--update", stdout=out)

    codes = set(casgevy.criteria.values_list("code", flat=True))
    assert "age-12" not in codes and "age-2" in codes
    assert "sma" not in set(casgevy.conditions.values_list("code", flat=True))
    assert set(step.therapies.values_list("slug", flat=True)) == expected_step_therapies
    assert "Casgevy (casgevy): changed eligibility criteria only" in out.getvalue()
    assert "eligibility criteria added: age-2" in out.getvalue()
    assert "eligibility criteria removed: age-12" in out.getvalue()


def test_update_names_the_center_switches_removed_with_their_rule():
    from journey import services
    from tests import factories as f

    center = f.CenterFactory(name="Riverside")
    rule = EligibilityCriterion.objects.create(
        therapy=Therapy.objects.get(slug="casgevy"),
        code="center-only-rule",
        kind=CriterionKind.AGE_MIN,
        label="Center rule",
        params={"years": 3},
        origin="center",
    )
    services.set_center_policy(
        center, rule, enabled=True, by=f.CoordinatorFactory(), reason="our policy"
    )
    out = StringIO()

    call_command("load_catalogue", "--update", stdout=out)

    assert "center policy switched on, removed with its rule: center-only-rule (Riverside)" in (
        out.getvalue()
    )


def test_update_says_which_therapies_are_new():
    Therapy.objects.filter(slug="zynteglo").delete()
    out = StringIO()

    call_command("load_catalogue", "--update", stdout=out)

    assert "Zynteglo (zynteglo): new in the catalogue" in out.getvalue()
    assert Therapy.objects.get(slug="zynteglo").criteria.exists()


def test_a_default_run_never_deletes_a_rule():
    casgevy = Therapy.objects.get(slug="casgevy")
    EligibilityCriterion.objects.create(
        therapy=casgevy,
        code="center-extra",
        kind=CriterionKind.AGE_MIN,
        label="Added here",
        params={"years": 3},
        position=99,
    )

    call_command("load_catalogue", verbosity=0)

    assert casgevy.criteria.filter(code="center-extra").exists()


def test_all_therapies_load_with_source_and_label_date():
    therapies = Therapy.objects.prefetch_related("conditions", "criteria")

    assert {t.slug for t in therapies} == ALL_THERAPIES
    for therapy in therapies:
        assert therapy.source.strip(), therapy.slug
        assert therapy.label_as_of is not None, therapy.slug
        assert therapy.conditions.exists(), therapy.slug
        assert therapy.urgent_symptoms, therapy.slug
        for line in therapy.urgent_symptoms:  # every "call now" sign in English and Spanish
            assert set(line) == {"en", "es"} and all(line.values()), (therapy.slug, line)


def test_long_term_follow_up_and_observation_hours():
    for therapy in Therapy.objects.all():
        assert therapy.ltfu_years == LTFU_YEARS[therapy.vector_type], therapy.slug
    observed = set(Therapy.objects.filter(observation_hours=3).values_list("slug", flat=True))
    assert observed == {"elevidys", "hemgenix", "beqvez"}


def test_beqvez_is_withdrawn_with_a_note():
    beqvez = Therapy.objects.get(slug="beqvez")

    assert beqvez.market_status == MarketStatus.WITHDRAWN
    assert "2025" in beqvez.market_note
    assert not beqvez.accepts_new_journeys


def test_lenmeldy_names_libmeldy():
    lenmeldy = Therapy.objects.get(slug="lenmeldy")

    assert lenmeldy.name == "Lenmeldy"
    assert "Libmeldy" in lenmeldy.market_note


@pytest.mark.parametrize(
    ("slug", "mentions"),
    [
        ("casgevy", "iron chelation"),
        ("elevidys", "corticosteroid"),
        ("hemgenix", "schedule"),
        ("lenmeldy", "6 months"),
        ("itvisma", "antibody"),
        ("itvisma", "troponin-i"),
        ("kebilidi", "urgent symptoms"),
        ("skysona", "abcd1"),
        ("zolgensma", "february 2025"),
        ("lyfgenia", "hydroxyurea"),
        ("zynteglo", "blood-cancer"),
        ("vyjuvek", "from birth"),
        ("zevaskyn", "retrovirus"),
    ],
)
def test_unverified_facts_are_marked(slug, mentions):
    therapy = Therapy.objects.get(slug=slug)

    assert therapy.verified is False
    assert mentions in therapy.unverified_note.lower()


def test_verified_therapies_have_no_open_questions():
    for therapy in Therapy.objects.filter(verified=True):
        assert therapy.unverified_note == "", therapy.slug
    unverified_rules = EligibilityCriterion.objects.filter(verified=False)
    assert {(c.therapy.slug, c.code) for c in unverified_rules} == {
        ("elevidys", "no-recent-vaccination"),
        ("skysona", "abcd1-full-deletion-known"),
        ("vyjuvek", "any-age"),
    }


# --------------------------------------------------------------------------- criteria


def test_every_therapy_starts_with_the_market_criterion():
    for therapy in Therapy.objects.all():
        first = therapy.criteria.order_by("position").first()
        assert first.kind == CriterionKind.MARKET, therapy.slug


def test_finding_criteria_name_known_tests_and_operators():
    known = set(FindingType.objects.values_list("code", flat=True))
    for criterion in EligibilityCriterion.objects.filter(kind=CriterionKind.FINDING):
        params = criterion.params
        assert params["finding"] in known, criterion
        assert params["op"] in {"lt", "le", "gt", "ge", "eq", "in", "between"}, criterion


def test_postpone_criteria_are_the_temporary_ones():
    postponed = EligibilityCriterion.objects.filter(postpone_only=True)

    assert {c.params["finding"] for c in postponed} == {
        "active_infection",
        "premature_not_term",
        "acute_liver_disease",
        "recent_vaccination",
    }


def test_titer_rules_match_the_labels():
    zolgensma = EligibilityCriterion.objects.get(therapy__slug="zolgensma", code="anti-aav9-titer")
    elevidys = EligibilityCriterion.objects.get(therapy__slug="elevidys", code="anti-aavrh74-titer")

    assert zolgensma.params == {"finding": "anti_aav9_titer", "op": "le", "value": 50}
    assert (zolgensma.validity_days, zolgensma.retest_after_days) == (30, 30)
    assert elevidys.params == {"finding": "anti_aavrh74_titer", "op": "lt", "value": 400}


def test_choice_findings_list_their_choices_and_titers_expire_in_30_days():
    for finding_type in FindingType.objects.all():
        if finding_type.value_type == "choice":
            assert finding_type.choices, finding_type.code
        if finding_type.value_type == "titer":
            assert finding_type.validity_days == 30, finding_type.code


# --------------------------------------------------------------------------- schedules


def check_segment(segment):
    assert set(segment) in SEGMENT_SHAPES, segment
    numbers = [v for k, v in segment.items() if k != "days"] + segment.get("days", [])
    assert all(type(v) is int for v in numbers), segment
    assert segment["window_days"] >= 0
    if "days" in segment:
        assert segment["days"] == sorted(set(segment["days"])) and segment["days"][0] > 0
    for unit in ("day", "month"):
        if f"every_{unit}s" in segment:
            assert segment[f"every_{unit}s"] > 0
            assert 0 < segment[f"first_{unit}"] <= segment[f"last_{unit}"]


def check_item(item):
    assert ITEM_KEYS <= set(item) <= ITEM_KEYS | OPTIONAL_ITEM_KEYS, item["code"]
    assert item["kind"] in ITEM_KINDS
    assert item["title"].strip()
    assert set(item["tests"]) <= LAB_CODES
    assert bool(item["tests"]) == (item["kind"] == "lab"), item["code"]
    if item["baseline"]:
        assert item["segments"] == []
    else:
        assert item["segments"], item["code"]
    for segment in item["segments"]:
        check_segment(segment)
    until = item.get("continue_until_normal")
    if until:  # the multi-test format: {"all": [{"tests", "rule", ...}], "source", "as_of"}
        assert set(until) == {"all", "source", "as_of"}, item["code"]
        for part in until["all"]:
            assert part["rule"] in UNTIL_NORMAL_RULES
            assert set(part["tests"]) <= set(item["tests"])


def test_schedules_are_well_formed():
    for therapy in Therapy.objects.all():
        items = therapy.monitoring_schedule
        assert items, therapy.slug
        codes = [item["code"] for item in items]
        assert len(codes) == len(set(codes)), therapy.slug
        for item in items:
            check_item(item)


def test_zolgensma_schedule_follows_the_conventions():
    items = schedule("zolgensma")

    liver = items["liver-panel"]
    assert set(liver["tests"]) == {"ALT", "AST", "TBIL", "INR"}
    assert [day_offsets(s) for s in liver["segments"]] == [[7, 14, 21, 28], [42, 56, 70, 84]]
    assert [s["window_days"] for s in liver["segments"]] == [2, 3]
    assert liver["continue_until_normal"]["all"] == [
        {"tests": ["ALT", "AST"], "rule": "below_x_uln", "value": 2},
        {"tests": ["TBIL", "INR"], "rule": "within_range"},
    ]
    assert items["platelets"]["continue_until_normal"]["all"][0]["rule"] == "back_to_baseline"
    troponin = items["troponin"]["segments"]
    assert [day_offsets(s) for s in troponin] == [[7, 14, 21, 28], [60, 90]]
    assert [s["window_days"] for s in troponin] == [2, 7]
    taper = items["steroid-taper-decision"]
    assert taper["kind"] == "checkpoint" and day_offsets(taper["segments"][0]) == [30]
    assert set(items["baseline-labs"]["tests"]) == {
        "ALT",
        "AST",
        "TBIL",
        "INR",
        "CREAT",
        "PLT",
        "TNI",
    }


def test_elevidys_and_beqvez_schedules():
    elevidys = schedule("elevidys")
    assert day_offsets(elevidys["liver"]["segments"][0]) == list(range(7, 85, 7))
    assert elevidys["liver"]["continue_until_normal"]["all"][0]["rule"] == "near_baseline"
    assert day_offsets(elevidys["platelets"]["segments"][0]) == [7, 14]
    assert day_offsets(elevidys["troponin"]["segments"][0]) == [7, 14, 21, 28]

    beqvez = schedule("beqvez")["liver-and-factor-ix"]["segments"][0]
    assert day_offsets(beqvez)[-1] == 119 and beqvez["window_days"] == 2


def test_ex_vivo_counts_in_hospital_send_no_reminders():
    for slug in ("casgevy", "lenmeldy"):
        items = schedule(slug)
        assert items["engraftment-counts"]["inpatient"] is True
        weekly = day_offsets(items["blood-counts-weekly"]["segments"][0])
        inpatient = day_offsets(items["engraftment-counts"]["segments"][0])
        assert inpatient + weekly == list(range(7, 99, 7))  # weekly to day 100, no overlap
    assert schedule("lenmeldy")["blood-cancer-watch"]["lifelong"] is True
    assert schedule("skysona")["blood-counts"]["lifelong"] is True


# --------------------------------------------------------------------------- steps


def test_steps_cover_every_stage_and_keep_the_codes_services_use():
    stages = set(StepTemplate.objects.values_list("stage", flat=True))
    assert stages == {
        Stage.DIAGNOSIS_CONFIRMED,
        Stage.PRE_TREATMENT,
        Stage.INSURANCE,
        Stage.INFUSION_SCHEDULED,
        Stage.INFUSION,
        Stage.MONITORING,
        Stage.FOLLOW_UP,
    }
    assert StepTemplate.objects.get(code="infusion-date-set").stage == Stage.INFUSION_SCHEDULED
    assert StepTemplate.objects.get(code="appeal-filed").required is False


def test_steps_follow_the_therapy():
    elevidys = Therapy.objects.get(slug="elevidys")
    casgevy = Therapy.objects.get(slug="casgevy")

    def codes(therapy):
        return {
            s.code
            for s in StepTemplate.objects.prefetch_related("therapies")
            if s.applies_to(therapy, {t.pk for t in s.therapies.all()})
        }

    assert {"baseline-troponin", "observation-completed", "vector-antibody-test"} <= codes(elevidys)
    assert "infection-screen" not in codes(elevidys)
    assert {"infection-screen", "cells-collected", "engraftment-reached"} <= codes(casgevy)
    assert "vector-antibody-test" not in codes(casgevy)
