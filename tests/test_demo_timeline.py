"""`manage.py demo_timeline`: one child's years replayed and printed; the database unchanged."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.apps import apps
from django.core.management import CommandError, call_command

from devdata import timeline
from journey.models import AgePolicy, Guardianship, Journey, Patient, Stage, Therapy
from tests import factories as f

TODAY = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def every_count():
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def run(*args):
    out = StringIO()
    with time_machine.travel(TODAY, tick=False):
        call_command("demo_timeline", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def infant(center_a, coordinator_a):
    assert not AgePolicy.objects.filter(center=center_a).exists()  # the default policy
    patient = f.PatientFactory(
        center=center_a, first_name="Maya", date_of_birth=dt.date(2025, 6, 15)
    )
    f.GuardianshipFactory(
        patient=patient,
        guardian=f.GuardianFactory(center=center_a, full_name="Ana Rivera"),
        relationship=Guardianship.Relationship.MOTHER,
        role=Guardianship.Role.PRIMARY,
    )
    f.JourneyFactory(
        patient=patient,
        stage=Stage.MONITORING,
        therapy=Therapy.objects.first(),
        infusion_date=dt.date(2026, 2, 1),
    )
    return patient


def lines_on(text, day):
    return [line for line in text.splitlines() if line.startswith(day)]


def test_the_timeline_shows_the_notices_and_the_18th_birthday_and_changes_nothing(infant):
    before = every_count()
    text = run("--child", str(infant.public_id))
    assert every_count() == before
    assert Guardianship.objects.get(patient=infant).role == Guardianship.Role.PRIMARY
    notice_60 = lines_on(text, "2043-04-16")  # 60 days before 15 June 2043
    assert "age 18 (patient_account_holder): Told 60 days ahead" in notice_60[0]
    assert any("notice to Ana Rivera: age_change_family by email" in x for x in notice_60)
    assert any("notice to coordinator coord.a@example.org" in x for x in notice_60)
    notice_14 = "\n".join(lines_on(text, "2043-06-01"))
    assert "Told 14 days ahead" in notice_14 and "notice to Maya" in notice_14
    change = "\n".join(lines_on(text, "2043-06-15"))
    assert "18y  0m  age 18 (patient_account_holder): Access changed" in change
    assert "guardians after:  Ana Rivera (mother, co_guardian, restricted: no_access)" in change
    assert "Maya " in change and "(self, primary)" in change
    assert "Told 60 days ahead" in "\n".join(lines_on(text, "2037-04-16"))  # age 12
    moved = lines_on(text, "2027-12-15")  # the first 6-month anniversary a year after infusion
    assert "moves the journey to long-term follow-up" in moved[0]
    asked = [x for x in text.splitlines() if "yearly contact check asked of Ana Rivera" in x]
    # each December from 2027 to 2042; none in 2043, after the 18th birthday (15 June) ended
    # her access
    assert len(asked) == 16
    assert not [x for x in asked if x.startswith("2043-12")]
    assert text.splitlines()[-1].endswith("who may see the child now: Maya " + infant.last_name)


def test_by_default_a_demo_infant_or_one_built_and_rolled_back(center_a, infant):
    with time_machine.travel(TODAY, tick=False):
        assert timeline.pick_child() == infant
    Journey.objects.all().delete()
    Patient.objects.all().delete()
    before = every_count()
    text = run()
    assert "start at Center A; guardians: Alex Timeline (mother, primary)" in text
    assert "Access changed" in text
    assert every_count() == before


def test_an_unknown_child_is_an_error(infant):
    with pytest.raises(CommandError):
        run("--child", "Nobody")
