"""The December 2026 label corrections (DOMAIN.md section 8) and the three added therapies.

The conftest loads the catalogue and the lab catalogue once per test database; the tests that
could drift from the files reload them first.
"""

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import gettext

from journey.catalogue import load_catalogue, read
from journey.eligibility import MET, evaluate
from journey.models import Finding, FindingType, StepTemplate, Therapy
from tests import factories as f
from tracker.models import ScheduledLab
from tracker.services import generate_plan

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
D0 = dt.date(2026, 1, 5)
NEW_THERAPIES = {"zynteglo", "vyjuvek", "zevaskyn"}
# Codes the reference-ranges work adds to tracker/labs/catalogue.json in the same issue.
PENDING_LAB_CODES = {"ALP", "AFP"}
CHANGE_KEYS = {"fact", "old", "new", "source", "as_of"}
ORIGINS = {"label", "payer", "trial", "center"}


@pytest.fixture(autouse=True)
def catalogue():
    load_catalogue()
    call_command("load_labs", verbosity=0)


def schedule(slug):
    return {i["code"]: i for i in Therapy.objects.get(slug=slug).monitoring_schedule}


def criteria_in_file(slug):
    therapy = next(t for t in read("therapies.json") if t["slug"] == slug)
    return {c["code"]: c for c in therapy["criteria"]}


def planned(slug, born=dt.date(2016, 1, 5)):
    journey = f.JourneyFactory(
        patient=f.PatientFactory(date_of_birth=born), therapy=Therapy.objects.get(slug=slug)
    )
    journey.infusion_date = D0
    journey.save(update_fields=["infusion_date"])
    generate_plan(journey, reason="test")
    return journey


def due_dates(journey, code):
    rows = ScheduledLab.objects.filter(journey=journey, item__code=code, cancelled_at__isnull=True)
    return list(rows.order_by("sequence").values_list("due_on", flat=True))


def add_finding(patient, code, value, on=D0):
    finding_type = FindingType.objects.get(code=code)
    text, number = finding_type.parse(value)
    Finding.objects.create(
        patient=patient, finding_type=finding_type, value=text, value_number=number, observed_on=on
    )


def result(outcome, code):
    return next(r for r in outcome.results if r.code == code)


# --------------------------------------------------------------------------- section 8 facts


def test_skysona_blood_count_every_3_months_for_life():
    cbc = schedule("skysona")["blood-counts"]

    assert cbc["segments"] == [
        {"every_months": 3, "first_month": 3, "last_month": 180, "window_days": 14}
    ]
    assert cbc["lifelong"] is True
    journey = planned("skysona")
    assert due_dates(journey, "blood-counts")[:5] == [
        dt.date(2026, 4, 5),
        dt.date(2026, 7, 5),
        dt.date(2026, 10, 5),
        dt.date(2027, 1, 5),
        dt.date(2027, 4, 5),
    ]


def test_skysona_full_abcd1_deletion_warns_but_does_not_exclude():
    patient = f.PatientFactory(date_of_birth=dt.date(2016, 1, 5))
    add_finding(patient, "abcd1_full_deletion", "yes")

    outcome = evaluate(patient, Therapy.objects.get(slug="skysona"), D0)

    deletion = result(outcome, "abcd1-full-deletion-known")
    assert deletion.status == MET
    assert "ABCD1" in deletion.flag


def test_casgevy_minimum_age_is_2_years():
    codes = set(Therapy.objects.get(slug="casgevy").criteria.values_list("code", flat=True))
    assert "age-2" in codes and "age-12" not in codes

    two = f.PatientFactory(date_of_birth=dt.date(2024, 1, 5))
    younger = f.PatientFactory(date_of_birth=dt.date(2024, 1, 6))
    casgevy = Therapy.objects.get(slug="casgevy")
    assert result(evaluate(two, casgevy, D0), "age-2").status == MET
    assert result(evaluate(younger, casgevy, D0), "age-2").status != MET


def test_zolgensma_exit_rules_span_several_tests_and_the_childs_baseline():
    items = schedule("zolgensma")

    liver = items["liver-panel"]["continue_until_normal"]
    assert liver["all"] == [
        {"tests": ["ALT", "AST"], "rule": "below_x_uln", "value": 2},
        {"tests": ["TBIL", "INR"], "rule": "within_range"},
    ]
    for code, side in (("platelets", "low"), ("troponin", "high")):
        rule = items[code]["continue_until_normal"]
        assert rule["all"][0]["rule"] == "back_to_baseline"
        assert (rule["all"][0]["side"], rule["all"][0]["margin_pct"]) == (side, 20)
        assert "Waypoint default" in rule["source"] and rule["as_of"]


def test_itvisma_watches_platelets_and_troponin_until_back_to_baseline():
    items = schedule("itvisma")

    assert {"PLT", "TNI"} <= set(items["baseline-labs"]["tests"])
    for code in ("platelets", "troponin"):
        assert items[code]["continue_until_normal"]["all"][0]["rule"] == "back_to_baseline"


def test_hemgenix_liver_cancer_surveillance_never_reminds_a_family():
    items = schedule("hemgenix")
    assert {"ALP", "TBIL"} <= set(items["baseline-labs"]["tests"])
    assert all("AFP" not in item["tests"] for item in items.values())

    step = StepTemplate.objects.get(code="liver-cancer-surveillance-arranged")
    assert step.required is False
    assert step.responsible == "coordinator"
    assert list(step.therapies.values_list("slug", flat=True)) == ["hemgenix"]


def test_checklist_steps_follow_the_corrections():
    def slugs(code):
        return set(StepTemplate.objects.get(code=code).therapies.values_list("slug", flat=True))

    assert slugs("iron-chelation-stopped") == {"casgevy"}
    assert slugs("hydroxyurea-stopped") == {"casgevy", "lyfgenia"}
    assert slugs("scd-transfused-before-collection") == {"casgevy", "lyfgenia"}
    assert slugs("liver-impairment-screened") == {"elevidys"}
    # Zevaskyn is ex vivo but has no stem-cell collection, conditioning or engraftment.
    for code in ("cells-collected", "conditioning-given", "engraftment-reached"):
        assert "zevaskyn" not in slugs(code) and "zynteglo" in slugs(code)


def test_generic_names_carry_the_us_suffix():
    names = dict(Therapy.objects.values_list("slug", "generic_name"))

    assert names["hemgenix"] == "etranacogene dezaparvovec-drlb"
    assert names["kebilidi"] == "eladocagene exuparvovec-tneq"


def test_lenmeldy_urgent_signs_name_clots_brain_inflammation_and_liver_vod():
    lines = Therapy.objects.get(slug="lenmeldy").urgent_symptoms
    english = " ".join(line["en"] for line in lines)
    spanish = " ".join(line["es"] for line in lines)

    for en, es in (("blood clot", "coágulo"), ("encephalitis", "encefalitis")):
        assert en in english and es in spanish
    assert "veno-occlusive" in english and "venooclusiva" in spanish


def test_criterion_origins_are_recorded_for_the_non_label_rules():
    expected = {
        ("casgevy", "scd-genotype"): "payer",
        ("casgevy", "scd-recurrent-crises"): "payer",
        ("zolgensma", "baseline-liver"): "trial",
        ("beqvez", "factor-ix-2-or-less"): "trial",
        ("elevidys", "no-liver-impairment"): "label",
    }
    for (slug, code), origin in expected.items():
        criterion = criteria_in_file(slug)[code]
        assert criterion["origin"] == origin, (slug, code)
        if origin != "label":
            assert criterion["origin_note"].strip(), (slug, code)
    for therapy in read("therapies.json"):
        for criterion in therapy["criteria"]:
            assert criterion.get("origin", "label") in ORIGINS, (therapy["slug"], criterion)


# --------------------------------------------------------------------------- new therapies


def test_new_therapies_are_complete_with_urgent_signs_in_english_and_spanish():
    for therapy in Therapy.objects.filter(slug__in=NEW_THERAPIES).prefetch_related("conditions"):
        assert therapy.conditions.exists(), therapy.slug
        assert therapy.source.strip() and therapy.label_as_of, therapy.slug
        assert therapy.monitoring_schedule, therapy.slug
        assert therapy.criteria.order_by("position").first().kind == "market", therapy.slug
        assert therapy.urgent_symptoms, therapy.slug
        for line in therapy.urgent_symptoms:
            assert line["en"].strip() and line["es"].strip() and line["en"] != line["es"]
    assert Therapy.objects.filter(slug__in=NEW_THERAPIES).count() == 3


def test_vyjuvek_is_topical_from_birth_and_zevaskyn_is_gammaretroviral():
    vyjuvek = Therapy.objects.get(slug="vyjuvek")
    zevaskyn = Therapy.objects.get(slug="zevaskyn")
    newborn = f.PatientFactory(date_of_birth=D0)

    assert (vyjuvek.vector_type, vyjuvek.delivery) == ("hsv1", "in_vivo")
    assert "topical" in vyjuvek.route.lower()
    assert result(evaluate(newborn, vyjuvek, D0), "any-age").status == MET
    assert (zevaskyn.vector_type, zevaskyn.delivery) == ("retroviral", "ex_vivo")


@pytest.mark.parametrize("slug", sorted(NEW_THERAPIES | {"skysona", "hemgenix", "itvisma"}))
def test_the_plan_generator_draws_the_corrected_and_new_schedules(slug):
    journey = planned(slug)

    codes = set(ScheduledLab.objects.filter(journey=journey).values_list("item__code", flat=True))
    assert {item["code"] for item in Therapy.objects.get(slug=slug).monitoring_schedule} <= codes


# --------------------------------------------------------------------------- provenance, labs, i18n


def test_every_label_change_says_what_from_what_on_what_evidence():
    changed = 0
    for therapy in Therapy.objects.all():
        for change in therapy.label_changes:
            assert set(change) == CHANGE_KEYS, (therapy.slug, change)
            assert all(str(v).strip() for v in change.values()), (therapy.slug, change)
            dt.date.fromisoformat(change["as_of"])
            changed += 1
    assert changed >= 30
    for slug in ("skysona", "casgevy", "zolgensma", "elevidys", "itvisma", "hemgenix", "lyfgenia"):
        assert Therapy.objects.get(slug=slug).label_changes, slug


def test_added_or_changed_schedule_items_carry_their_source():
    for slug, code in [
        ("skysona", "blood-counts"),
        ("zolgensma", "liver-panel"),
        ("itvisma", "platelets"),
        ("hemgenix", "baseline-labs"),
        ("zynteglo", "blood-cancer-watch"),
    ]:
        item = schedule(slug)[code]
        assert item["source"].strip(), (slug, code)
        dt.date.fromisoformat(item["as_of"])


def test_every_schedule_test_code_is_a_known_lab_test():
    lab_rows = json.loads((ROOT / "tracker" / "labs" / "catalogue.json").read_text())
    known = {row["code"] for row in lab_rows["tests"]} | PENDING_LAB_CODES
    for therapy in Therapy.objects.all():
        for item in therapy.monitoring_schedule:
            assert set(item["tests"]) <= known, (therapy.slug, item["code"])


def test_every_schedule_title_has_a_spanish_translation():
    titles = {i["title"] for t in Therapy.objects.all() for i in t.monitoring_schedule}
    with translation.override("es"):
        missing = [title for title in sorted(titles) if gettext(title) == title]
    assert not missing, missing


def _too_long(model):
    """Rows whose text is longer than its column allows (PostgreSQL refuses them, SQLite not)."""
    fields = [f for f in model._meta.fields if getattr(f, "max_length", None)]
    return [
        (model.__name__, str(row.pk), f.name, len(getattr(row, f.attname)))
        for row in model.objects.all()
        for f in fields
        if isinstance(getattr(row, f.attname), str) and len(getattr(row, f.attname)) > f.max_length
    ]


def test_every_catalogue_value_fits_its_column():
    """SQLite does not enforce max_length: this catches on every database what PostgreSQL
    refuses at load time (a 61-character vector once broke `load_catalogue` there)."""
    from django.apps import apps

    models = ["Condition", "FindingType", "Therapy", "EligibilityCriterion", "StepTemplate"]
    rows = [apps.get_model("journey", name) for name in models]
    rows += [apps.get_model("tracker", name) for name in ("LabTest", "LabUnit", "ReferenceRange")]
    assert [bad for model in rows for bad in _too_long(model)] == []


STAFF_WORDS = (
    "verif",
    "check the label",
    "check section",
    "could not be read",
    "domain.md",
    "source",
)


def _family_texts(therapy):
    """Every catalogue text a family page shows: the plan's steroid and family notes, the
    urgent signs in each language, the plan item titles."""
    yield "steroid_regimen", therapy.steroid_regimen
    yield "family_notes", therapy.family_notes
    for line in therapy.urgent_symptoms:
        yield from (("urgent_symptoms", text) for text in line.values())
    for item in therapy.monitoring_schedule:
        yield "monitoring_schedule.title", item["title"]


def test_no_family_visible_catalogue_text_carries_a_staff_note():
    """Verification notes and sources belong in unverified_note/source, never in a text the
    family's plan page shows (Elevidys's steroid text once said "unverified: check section 2")."""
    found = [
        (therapy.slug, field, text)
        for therapy in Therapy.objects.all()
        for field, text in _family_texts(therapy)
        if any(word in text.lower() for word in STAFF_WORDS)
    ]
    assert found == []
