"""Criterion origin: only label criteria exclude; payer and trial rules and center policy do not.

The criteria's origins are set here on the loaded catalogue rows, so these tests do not depend
on what journey/catalogue/therapies.json says about them.
"""

from datetime import date
from html import unescape

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditRecord, Event
from journey import services
from journey.eligibility import CriterionResult, evaluate, verdict_for
from journey.models import (
    CenterCriterionSetting,
    CriterionOrigin,
    EligibilityCheck,
    EligibilityCriterion,
    Stage,
    Verdict,
)
from journey.verdicts import grouped, summary
from tests import factories as f
from tests import factories_portal as fp
from tests.conftest import otp_login
from tests.eligibility_helpers import by_code, casgevy_patient, therapy

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 11, 1)
CRISES = "scd-recurrent-crises"
GENOTYPE = "scd-genotype"
CENTER_RULE = "center-crises-3"
QUERIES_PER_RUN = 8


def set_origin(code, origin, note=""):
    criterion = EligibilityCriterion.objects.get(therapy__slug="casgevy", code=code)
    criterion.origin, criterion.origin_note = origin, note
    criterion.save()
    return criterion


@pytest.fixture
def center_rule():
    """A center's own stricter reading of the crises rule: 3 or more a year."""
    return EligibilityCriterion.objects.create(
        therapy=therapy("casgevy"),
        code=CENTER_RULE,
        kind="finding",
        label="At least 3 crises a year (our center)",
        params={"finding": "vaso_occlusive_crises_per_year", "op": "ge", "value": 3},
        origin=CriterionOrigin.CENTER,
        source="Center board minutes, May 2026",
        position=90,
    )


def scd_child(crises="3", genotype="HbSS", center=None):
    patient = casgevy_patient("scd", genotype, vaso_occlusive_crises_per_year=crises)
    if center is not None:
        patient.center = center
        patient.save()
    return patient


def _r(status, origin="label", postpone=False):
    return CriterionResult("c", "c", status, "", postpone=postpone, origin=origin)


# --------------------------------------------------------------------------- the verdict


def test_a_payer_rule_failure_meets_the_label_instead_of_not_eligible():
    """Before criterion origin, one crisis a year made the child "not eligible"."""
    set_origin(CRISES, CriterionOrigin.PAYER, "most US payers")

    outcome = evaluate(scd_child(crises="1"), therapy("casgevy"), AS_OF)

    assert outcome.verdict == Verdict.PAYER_RULE_NOT_MET
    result = by_code(outcome)[CRISES]
    assert (result.status, result.origin, result.origin_note) == (
        "not_met",
        "payer",
        "most US payers",
    )
    words = summary(outcome.verdict, [r.as_dict() for r in outcome.results])
    assert words.startswith("Meets the label; payer rule not met: SCD: recurrent")
    assert words.endswith("(most US payers)")


def test_a_trial_criterion_failure_also_meets_the_label():
    set_origin(GENOTYPE, CriterionOrigin.TRIAL, "CLIMB-121")

    outcome = evaluate(scd_child(genotype="HbSC"), therapy("casgevy"), AS_OF)

    assert by_code(outcome)[GENOTYPE].status == "not_met"
    assert outcome.verdict == Verdict.PAYER_RULE_NOT_MET


def test_a_label_failure_is_still_not_eligible():
    set_origin(CRISES, CriterionOrigin.PAYER, "most US payers")
    set_origin(GENOTYPE, CriterionOrigin.LABEL, "")

    outcome = evaluate(scd_child(crises="1", genotype="HbSC"), therapy("casgevy"), AS_OF)

    assert by_code(outcome)[GENOTYPE].origin == "label"
    assert outcome.verdict == Verdict.NOT_ELIGIBLE


@pytest.mark.parametrize(
    ("results", "verdict"),
    [
        ([_r("met"), _r("not_met", "payer")], Verdict.PAYER_RULE_NOT_MET),
        ([_r("met"), _r("not_met", "trial")], Verdict.PAYER_RULE_NOT_MET),
        ([_r("met"), _r("not_met", "center")], Verdict.CENTER_POLICY_NOT_MET),
        ([_r("not_met", "center"), _r("not_met", "payer")], Verdict.PAYER_RULE_NOT_MET),
        ([_r("not_met"), _r("not_met", "payer")], Verdict.NOT_ELIGIBLE),
        ([_r("unknown"), _r("not_met", "payer")], Verdict.INCOMPLETE),
        ([_r("met"), _r("unknown", "payer")], Verdict.INCOMPLETE),
        ([_r("met"), _r("not_met", "payer", postpone=True)], Verdict.INCOMPLETE),
        ([_r("met"), _r("not_applied", "center")], Verdict.ELIGIBLE),
    ],
)
def test_verdict_by_origin(results, verdict):
    assert verdict_for(results) == verdict


# --------------------------------------------------------------------------- center policy


def test_center_policy_is_off_until_the_center_turns_it_on(center_rule):
    outcome = evaluate(scd_child(crises="2"), therapy("casgevy"), AS_OF)  # no center known

    result = by_code(outcome)[CENTER_RULE]
    assert result.status == "not_applied"
    assert "has not turned it on" in result.explanation
    assert outcome.verdict == Verdict.ELIGIBLE


def test_two_centers_two_answers(center_rule, center_a, center_b, coordinator_a, coordinator_b):
    services.set_center_policy(
        center_a, center_rule, enabled=True, by=coordinator_a, reason="board decision"
    )
    services.set_center_policy(
        center_b, center_rule, enabled=False, by=coordinator_b, reason="we follow the label"
    )
    patient = scd_child(crises="2")

    at_a = evaluate(patient, therapy("casgevy"), AS_OF, center=center_a)
    at_b = evaluate(patient, therapy("casgevy"), AS_OF, center=center_b)

    assert at_a.verdict == Verdict.CENTER_POLICY_NOT_MET
    assert by_code(at_a)[CENTER_RULE].status == "not_met"
    assert at_b.verdict == Verdict.ELIGIBLE
    assert by_code(at_b)[CENTER_RULE].status == "not_applied"
    assert by_code(at_b)[CENTER_RULE].explanation == "Turned off by this center."


def test_run_eligibility_uses_the_journeys_center(center_rule, center_a, coordinator_a):
    services.set_center_policy(
        center_a, center_rule, enabled=True, by=coordinator_a, reason="board decision"
    )
    patient = scd_child(crises="2", center=center_a)
    journey = services.open_journey(patient, by=coordinator_a, therapy=therapy("casgevy"))

    check = services.run_eligibility(journey, by=coordinator_a, as_of=AS_OF)

    assert check.verdict == Verdict.CENTER_POLICY_NOT_MET
    assert summary(check.verdict, check.results) == (
        "Meets the label; center policy not met: At least 3 crises a year (our center)"
    )


def test_only_center_policy_criteria_can_be_switched(center_a, coordinator_a):
    label_rule = EligibilityCriterion.objects.get(therapy__slug="casgevy", code=CRISES)
    with pytest.raises(ValidationError):
        services.set_center_policy(center_a, label_rule, enabled=True, by=coordinator_a, reason="x")
    assert not CenterCriterionSetting.objects.exists()


def test_a_switch_needs_a_reason_and_records_who_when_why(center_rule, center_a, coordinator_a):
    with pytest.raises(ValidationError):
        services.set_center_policy(center_a, center_rule, enabled=True, by=coordinator_a, reason="")

    setting = services.set_center_policy(
        center_a, center_rule, enabled=True, by=coordinator_a, reason="board decision"
    )
    services.set_center_policy(
        center_a, center_rule, enabled=False, by=coordinator_a, reason="payers relaxed it"
    )

    setting.refresh_from_db()
    assert (setting.enabled, setting.changed_by, setting.reason) == (
        False,
        coordinator_a,
        "payers relaxed it",
    )
    records = AuditRecord.objects.filter(object_id=setting.pk, content_type__model=setting_model())
    assert [r.event for r in records.order_by("pk")] == [Event.CREATED, Event.UPDATED]
    assert records.order_by("pk").last().before["enabled"] is True


def setting_model():
    return CenterCriterionSetting._meta.model_name


def test_evaluation_reads_the_settings_in_one_query(center_rule, center_a, coordinator_a):
    patient = scd_child(crises="2")
    casgevy = therapy("casgevy")
    with CaptureQueriesContext(connection) as without_center:
        evaluate(patient, casgevy, AS_OF)
    for n in range(4):  # more center rules, each switched: still one query for the settings
        rule = EligibilityCriterion.objects.create(
            therapy=casgevy, code=f"center-{n}", kind="sex", label="x", origin="center"
        )
        services.set_center_policy(center_a, rule, enabled=True, by=coordinator_a, reason="y")

    with CaptureQueriesContext(connection) as with_center:
        evaluate(patient, casgevy, AS_OF, center=center_a)

    assert len(with_center) == len(without_center) + 1


# --------------------------------------------------------------------------- admin


def test_a_coordinator_switches_their_own_centers_rule(
    client, center_rule, center_a, coordinator_a
):
    otp_login(client, coordinator_a)
    response = client.post(
        reverse("admin:journey_centercriterionsetting_add"),
        {
            "center": center_a.pk,
            "criterion": center_rule.pk,
            "enabled": "on",
            "reason": "board decision",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    setting = CenterCriterionSetting.objects.get()
    assert (setting.center, setting.enabled, setting.changed_by) == (center_a, True, coordinator_a)
    assert setting.changed_at is not None


def test_another_centers_setting_cannot_be_seen_or_changed(
    client, center_rule, center_a, coordinator_a, coordinator_b
):
    setting = services.set_center_policy(
        center_a, center_rule, enabled=True, by=coordinator_a, reason="board decision"
    )
    otp_login(client, coordinator_b)
    url = reverse("admin:journey_centercriterionsetting_change", args=[setting.pk])

    assert client.get(url).status_code == 404
    post = {"enabled": "", "reason": "not mine"}
    assert client.post(url, post).status_code == 404
    add = reverse("admin:journey_centercriterionsetting_add")
    other = {"center": center_a.pk, "criterion": center_rule.pk, "enabled": "", "reason": "x"}
    assert client.post(add, other).status_code == 200  # a form error: not one of the choices
    setting.refresh_from_db()
    assert setting.enabled and setting.reason == "board decision"
    listing = client.get(reverse("admin:journey_centercriterionsetting_changelist"))
    assert "board decision" not in listing.content.decode()


def test_the_result_page_shows_label_then_payer_then_center(
    client, center_rule, center_a, coordinator_a
):
    set_origin(CRISES, CriterionOrigin.PAYER, "most US payers")
    services.set_center_policy(
        center_a, center_rule, enabled=True, by=coordinator_a, reason="board decision"
    )
    patient = scd_child(crises="1", center=center_a)
    journey = services.open_journey(patient, by=coordinator_a, therapy=therapy("casgevy"))
    check = services.run_eligibility(journey, by=coordinator_a, as_of=AS_OF)
    otp_login(client, coordinator_a)

    url = reverse("admin:journey_journey_eligibility_result", args=[journey.pk, check.public_id])
    html = client.get(url).content.decode()

    assert "Meets the label; payer rule not met" in html
    label_at = html.index("HIV-1/2, hepatitis B and C negative")
    payer_at = html.index("Payer and trial rules</h3>")
    center_at = html.index("Center policy</h3>")
    assert html.index("Product label</h3>") < label_at < payer_at < center_at
    assert payer_at < html.index("Payer rule (most US payers)", payer_at) < center_at
    assert html.index("At least 3 crises a year (our center)", payer_at) > center_at


def test_an_old_check_without_origins_reads_as_label(center_a, coordinator_a):
    patient = f.PatientFactory(center=center_a)
    journey = services.open_journey(patient, by=coordinator_a, therapy=therapy("casgevy"))
    old = [{"code": "age-12", "label": "12", "status": "not_met", "explanation": "Too young."}]
    EligibilityCheck.objects.create(
        journey=journey,
        therapy=journey.therapy,
        as_of=AS_OF,
        run_at=timezone.now(),
        verdict=Verdict.NOT_ELIGIBLE,
        results=old,
    )

    groups = grouped(old)

    assert [(g.origin, [r["code"] for r in g.rows]) for g in groups] == [("label", ["age-12"])]
    assert groups[0].rows[0]["origin_name"] == "Product label"
    change = services.move_stage(journey, Stage.NOT_ELIGIBLE, by=coordinator_a, reason="label")
    assert [r["code"] for r in change.details["failing_criteria"]] == ["age-12"]


def test_a_payer_rule_alone_does_not_open_the_not_eligible_exit(center_a, coordinator_a):
    set_origin(CRISES, CriterionOrigin.PAYER, "most US payers")
    patient = scd_child(crises="1", center=center_a)
    journey = services.open_journey(patient, by=coordinator_a, therapy=therapy("casgevy"))
    services.run_eligibility(journey, by=coordinator_a, as_of=AS_OF)

    with pytest.raises(ValidationError):
        services.move_stage(journey, Stage.NOT_ELIGIBLE, by=coordinator_a, reason="payer")


# --------------------------------------------------------------------------- the family's page


FAMILY_WORDS = {
    Verdict.ELIGIBLE: ("meets the medicine's approved use", "cumple con el uso aprobado"),
    Verdict.PAYER_RULE_NOT_MET: ("Your insurer also has its own rules", "Su seguro también"),
    Verdict.CENTER_POLICY_NOT_MET: ("Your care center also has", "Su centro de atención también"),
    Verdict.INCOMPLETE: ("still collecting", "todavía está reuniendo"),
    Verdict.NOT_ELIGIBLE: ("looking closely at", "está revisando con cuidado"),
}


def family_page(client, center, language, verdict):
    guardian, child = fp.family(center, email=f"{language}@example.org", language=language)
    journey = services.open_journey(child, by=None, therapy=therapy("casgevy"))
    results = [
        {"code": "c", "label": "STAFF LABEL", "status": "not_met", "explanation": "STAFF WHY"},
    ]
    EligibilityCheck.objects.create(
        journey=journey,
        therapy=journey.therapy,
        as_of=AS_OF,
        run_at=timezone.now(),
        verdict=verdict,
        results=[{**results[0], "origin": "payer", "origin_note": "most US payers"}],
    )
    client.force_login(guardian.user)
    return unescape(client.get(reverse("portal:child", args=[child.public_id])).content.decode())


@pytest.mark.parametrize("verdict", list(FAMILY_WORDS))
@pytest.mark.parametrize(("language", "index"), [("en", 0), ("es", 1)])
def test_the_family_reads_plain_words_for_each_verdict(client, center_a, verdict, language, index):
    html = family_page(client, center_a, language, verdict)

    assert FAMILY_WORDS[verdict][index] in html
    for staff_only in ("not eligible", "no es elegible", "most US payers", "STAFF", "Payer rule"):
        assert staff_only.lower() not in html.lower()


def test_a_new_check_shows_on_the_family_page_at_once(client, center_a):
    guardian, child = fp.family(center_a, email="cache@example.org")
    journey = services.open_journey(child, by=None, therapy=therapy("casgevy"))
    client.force_login(guardian.user)
    url = reverse("portal:child", args=[child.public_id])
    assert "approved use" not in client.get(url).content.decode()

    EligibilityCheck.objects.create(
        journey=journey,
        therapy=journey.therapy,
        as_of=AS_OF,
        run_at=timezone.now(),
        verdict=Verdict.PAYER_RULE_NOT_MET,
    )

    assert "Your insurer also has its own rules" in client.get(url).content.decode()


def test_the_eligibility_run_has_a_fixed_query_count(
    center_rule, center_a, coordinator_a, django_assert_num_queries
):
    """Facts (test types, findings, diagnoses), criteria, the center's settings (no join), the
    insert and its audit record (with the content type, looked up here as in a fresh process)."""
    services.set_center_policy(center_a, center_rule, enabled=True, by=coordinator_a, reason="y")
    journey = services.open_journey(
        scd_child(crises="2", center=center_a), by=coordinator_a, therapy=therapy("casgevy")
    )
    journey = type(journey).objects.select_related("patient", "therapy").get(pk=journey.pk)

    ContentType.objects.clear_cache()

    with django_assert_num_queries(QUERIES_PER_RUN) as queries:
        services.run_eligibility(journey, by=coordinator_a, as_of=AS_OF)

    settings_sql = next(q["sql"] for q in queries if "centercriterionsetting" in q["sql"])
    assert "JOIN" not in settings_sql


def test_the_settings_list_does_not_grow_with_its_rows(client, center_a, coordinator_a):
    otp_login(client, coordinator_a)
    url = reverse("admin:journey_centercriterionsetting_changelist")
    client.get(url)  # the first request loads the session's and the login's caches

    def count(n):
        for i in range(n):
            rule = EligibilityCriterion.objects.create(
                therapy=therapy("casgevy"),
                code=f"c-{n}-{i}",
                kind="sex",
                label="x",
                origin="center",
            )
            services.set_center_policy(center_a, rule, enabled=True, by=coordinator_a, reason="y")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    assert count(1) == count(5)
