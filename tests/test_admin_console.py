"""Issue 13 item 5: staff land on the worklist, a stage move offers the allowed stages with the
next one chosen, and the journey page leads with the stage and checklist, history folded.

Clicks, before -> after: moving to the next stage took the "Move stage" link, opening the
stage list, picking the stage (the list began with "Diagnosis confirmed") and saving: 4 clicks;
now the link, named after the next stage, and saving: 2 clicks (plus the reason, typed).
"""

import datetime as dt

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from journey import services
from journey.models import Stage
from tests import admin_journey
from tests.admin_journey import url
from tests.factories_portal import PASSWORD
from tests.test_security_auth import code_for

WORKLIST = reverse("admin:tracker_worklist_changelist")
TODAY_ = dt.date(2026, 3, 2)
pytestmark = pytest.mark.django_db

# The shared fixtures (tests/admin_journey.py), bound here for pytest to find.
client_a, journey_a, zolgensma = (
    admin_journey.client_a,
    admin_journey.journey_a,
    admin_journey.zolgensma,
)


def _verify(client, device, follow_to):
    response = client.post(
        reverse("two_factor:verify"), {"token": code_for(device), "next": follow_to}
    )
    assert response.status_code == 302
    return response.url


@pytest.mark.parametrize("login", ["admin:login", "login"])
def test_staff_land_on_the_worklist_after_login(client, coordinator_a, login):
    coordinator_a.set_password(PASSWORD)
    coordinator_a.save()
    device = TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    form = client.get(reverse(login))
    next_url = form.context.get("next", "") if form.context else ""
    data = {"username": coordinator_a.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post(reverse(login), data, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("two_factor:verify"))
    target = response.context["next"]
    assert _verify(client, device, target) == WORKLIST
    assert client.get(WORKLIST).status_code == 200


def test_a_login_asking_for_a_page_still_goes_there(client, coordinator_a):
    coordinator_a.set_password(PASSWORD)
    coordinator_a.save()
    device = TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    patients = reverse("admin:journey_patient_changelist")
    data = {"username": coordinator_a.email, "password": PASSWORD, "next": patients}
    response = client.post(reverse("admin:login") + f"?next={patients}", data, follow=True)
    assert _verify(client, device, response.context["next"]) == patients


def test_move_stage_offers_the_allowed_stages_with_the_next_one_chosen(client_a, journey_a):
    response = client_a.get(url("journey_move_stage", journey_a.pk))
    field = response.context["form"]["to_stage"]
    offered = [value for value, _label in field.field.choices]
    assert field.value() == offered[0] == Stage.PRE_TREATMENT
    assert Stage.DIAGNOSIS_CONFIRMED not in offered  # where it is already
    assert Stage.INFUSION not in offered  # no infusion date yet: refused anyway
    assert {Stage.WITHDRAWN, Stage.NOT_ELIGIBLE} <= set(offered)
    assert Stage.CLOSED not in offered  # "follow-up completed": only from follow-up
    assert '<option value="pre_treatment" selected>' in response.text


def test_a_stage_not_offered_is_refused_by_the_field(client_a, journey_a):
    data = {"to_stage": Stage.INFUSION, "reason": "skip"}
    response = client_a.post(url("journey_move_stage", journey_a.pk), data)
    assert response.status_code == 200 and "to_stage" in response.context["form"].errors
    journey_a.refresh_from_db()
    assert journey_a.stage == Stage.DIAGNOSIS_CONFIRMED


def test_journey_page_leads_with_stage_and_checklist_and_folds_history(client_a, journey_a):
    response = client_a.get(url("journey_change", journey_a.pk))
    assert "Move to “Pre-treatment evaluation”" in response.text
    fieldset = response.context["adminform"].fieldsets[0][1]["fields"]
    assert fieldset[0] == ("stage", "stage_entered_at")
    inlines = response.context["inline_admin_formsets"]
    assert inlines[0].opts.model.__name__ == "ChecklistStep" and not inlines[0].is_collapsible
    assert all(inline.is_collapsible for inline in inlines[1:])
    text = response.text
    assert text.index("field-stage") < text.index('id="steps-group"') < text.index("<details")


def test_after_the_infusion_not_eligible_is_no_longer_offered(journey_a):
    journey_a.infusion_date, journey_a.stage = TODAY_, Stage.FOLLOW_UP
    offered = services.allowed_stages(journey_a)
    assert Stage.NOT_ELIGIBLE not in offered and Stage.CLOSED in offered
    assert services.next_stage(journey_a) is None  # the last open stage


def test_an_ended_journey_offers_no_move(client_a, journey_a, coordinator_a):
    services.move_stage(journey_a, Stage.WITHDRAWN, by=coordinator_a, reason="family")
    assert services.allowed_stages(journey_a) == [] and services.next_stage(journey_a) is None


def test_staff_sent_to_the_admin_index_by_default_land_on_the_worklist(client, coordinator_a):
    """A bookmark of the site or of /admin/ goes through the login with next=/admin/."""
    coordinator_a.set_password(PASSWORD)
    coordinator_a.save()
    device = TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    login = reverse("admin:login") + "?next=" + reverse("admin:index")
    data = {"username": coordinator_a.email, "password": PASSWORD, "next": reverse("admin:index")}
    response = client.post(login, data, follow=True)
    assert _verify(client, device, response.context["next"]) == WORKLIST
    assert client.get(reverse("portal:home"))["Location"] == WORKLIST


def test_with_no_next_stage_offered_nothing_is_preselected_and_the_page_says_why(
    client, coordinator_a, center_a
):
    """Review finding: a journey at "infusion scheduled" with no date offered no forward stage,
    so the browser preselected the first choice: a step back to "insurance and access"."""
    from tests import factories as f
    from tests import factories_tracker as ft
    from tests.conftest import otp_login

    journey = f.JourneyFactory(
        patient__center=center_a,
        stage=Stage.INFUSION_SCHEDULED,
        therapy=ft.therapy(),
        infusion_date=None,
    )
    otp_login(client, coordinator_a)
    response = client.get(reverse("admin:journey_journey_move_stage", args=[journey.pk]))
    page = response.content.decode()
    assert '<option value="" selected>---------</option>' in page
    assert "Set the infusion date first" in page
