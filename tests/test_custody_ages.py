"""Issue 17 item 2: age transitions, announced ahead.

GIVEN a center in New York with the default age policy (12: the teen's assent; 18: the patient
      holds the account), a child turning 18 on 20 March 2026 with a primary guardian (a login)
      and a coordinator
WHEN  the daily sweep runs (notifications.custody.age_transitions) at frozen instants
THEN  60 and 14 days before, one notice each (an email to the family and one to the coordinator,
      no health information), however often it runs; on the day, in the center's zone, the
      parent's access ends by itself (404), with a PortalAccessChange and an AgeTransition shown
      on "who can see this"; a recorded adult guardianship keeps the parent's access; a child born
      on 29 February turns 18 on 1 March; the young person's own account becomes the primary one.
"""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse
from django.utils import translation

from journey import access
from journey.custody import ages, services
from journey.models import (
    AgeChange,
    AgePolicy,
    AgeStep,
    AgeTransition,
    Guardianship,
    GuardianshipRestriction,
    PortalAccessChange,
    RestrictionKind,
)
from notifications import custody as notices
from notifications import emails
from notifications.models import Kind, Reminder
from tests import factories as f
from tests.factories_portal_tracker import guardian_with_login

Role = Guardianship.Role
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BORN = dt.date(2008, 3, 20)  # 18 on 2026-03-20


def at_ny(day, hour=12):
    """An instant at `hour` New York time on `day` (EST before 8 March 2026, EDT after)."""
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo("America/New_York"))


def run(when):
    with time_machine.travel(when, tick=False):
        return notices.age_transitions()


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.WAYPOINT_PRIVATE_MEDIA_ROOT = tmp_path


@pytest.fixture
def teen(center_a, coordinator_a):
    parent = guardian_with_login(center_a, "parent@example.org", full_name="Pat Parent")
    child = f.PatientFactory(center=center_a, first_name="Amaryllis", date_of_birth=BORN)
    Guardianship.objects.create(guardian=parent, patient=child, role=Role.PRIMARY)
    return child, parent


def steps(child):
    return list(AgeTransition.objects.filter(patient=child).values_list("step", flat=True))


@pytest.mark.django_db
def test_notices_60_and_14_days_ahead_once_each(teen, coordinator_a):
    child, parent = teen
    run(at_ny(dt.date(2026, 1, 18)))  # 61 days ahead: nothing yet
    assert steps(child) == []
    for _ in range(2):  # the sweep runs hourly: the second run adds nothing
        run(at_ny(dt.date(2026, 1, 19)))
    assert steps(child) == [AgeStep.NOTICE_60]
    rows = Reminder.objects.filter(patient=child).order_by("kind")
    assert [(r.kind, r.guardian_id, r.user_id) for r in rows] == [
        (Kind.AGE_CHANGE_COORDINATOR, None, coordinator_a.pk),
        (Kind.AGE_CHANGE_FAMILY, parent.pk, None),
    ]
    assert all(r.due_on == dt.date(2026, 3, 20) for r in rows)
    run(at_ny(dt.date(2026, 2, 1)))
    assert steps(child) == [AgeStep.NOTICE_60]
    run(at_ny(dt.date(2026, 3, 6)))
    run(at_ny(dt.date(2026, 3, 6), hour=20))
    assert steps(child) == [AgeStep.NOTICE_60, AgeStep.NOTICE_14]
    assert Reminder.objects.filter(patient=child).count() == 4
    # Nothing changed yet: the parent still sees the child.
    assert access.can_act(parent.user, child, access.Action.REPORT)


@pytest.mark.django_db
def test_the_email_says_when_and_to_log_in_without_health_information(teen):
    child, parent = teen
    run(at_ny(dt.date(2026, 1, 19)))
    family = Reminder.objects.get(patient=child, kind=Kind.AGE_CHANGE_FAMILY)
    message = emails.build(family)
    assert "Amaryllis" in message.body
    assert "March 20, 2026" in message.body
    assert "Who can see this" in message.body
    for word in ["SMA", "Zolgensma", "gene", "diagnos", "result"]:
        assert word not in message.body
    staff = Reminder.objects.get(patient=child, kind=Kind.AGE_CHANGE_COORDINATOR)
    staff_body = emails.build(staff).body
    assert "Amaryllis" not in staff_body  # a coordinator's email names no patient
    assert "adult guardianship" in staff_body


@pytest.mark.django_db
def test_on_the_day_in_the_centers_zone_the_parent_loses_access(client, teen, coordinator_a):
    child, parent = teen
    run(at_ny(dt.date(2026, 1, 19)))
    page = reverse("portal:child", args=[child.public_id])
    # 23:30 in New York on the 19th is already the 20th in UTC: not yet.
    run(at_ny(dt.date(2026, 3, 19), hour=23) + dt.timedelta(minutes=30))
    assert AgeStep.APPLIED not in steps(child)
    with time_machine.travel(at_ny(dt.date(2026, 3, 19), hour=23), tick=False):
        client.force_login(parent.user)
        assert client.get(page).status_code == 200
    run(at_ny(dt.date(2026, 3, 20), hour=0) + dt.timedelta(minutes=5))
    assert AgeStep.APPLIED in steps(child)
    with time_machine.travel(at_ny(dt.date(2026, 3, 20), hour=9), tick=False):
        client.force_login(parent.user)
        assert client.get(page).status_code == 404
    restriction = GuardianshipRestriction.objects.get(guardianship__guardian=parent)
    assert restriction.kind == RestrictionKind.NO_ACCESS and restriction.source == "age_policy"
    assert PortalAccessChange.objects.filter(
        guardian=parent, action=PortalAccessChange.Action.AGE_POLICY
    ).exists()
    run(at_ny(dt.date(2026, 3, 21)))  # a later run applies nothing twice
    assert GuardianshipRestriction.objects.count() == 1
    assert steps(child).count(AgeStep.APPLIED) == 1


@pytest.mark.django_db
def test_a_change_whose_notices_were_missed_is_told_on_the_day(teen):
    child, _parent = teen
    run(at_ny(dt.date(2026, 3, 22)))  # the sweep did not run for months
    assert sorted(steps(child)) == [AgeStep.APPLIED, AgeStep.NOTICE_14]
    assert Reminder.objects.filter(patient=child, kind=Kind.AGE_CHANGE_FAMILY).exists()


@pytest.mark.django_db
def test_adult_guardianship_keeps_the_parents_access(client, teen, coordinator_a):
    child, parent = teen
    link = Guardianship.objects.get(guardian=parent)
    services.record_adult_guardianship(
        link,
        reason="Court appointed guardian of the adult",
        document=SimpleUploadedFile("order.pdf", PDF),
        by=coordinator_a,
    )
    run(at_ny(dt.date(2026, 3, 20)))
    assert AgeStep.APPLIED in steps(child)
    assert not GuardianshipRestriction.objects.exists()
    assert access.effective_role(parent.user, child, at_ny(dt.date(2026, 3, 21))) == Role.PRIMARY


@pytest.mark.django_db
def test_adult_guardianship_recorded_after_the_day_restores_access(teen, coordinator_a):
    child, parent = teen
    run(at_ny(dt.date(2026, 3, 20)))
    later = at_ny(dt.date(2026, 3, 23))
    assert access.effective_role(parent.user, child, later) is None
    with time_machine.travel(later, tick=False):
        services.record_adult_guardianship(
            Guardianship.objects.get(guardian=parent),
            reason="Court appointed guardian of the adult",
            document=SimpleUploadedFile("order.pdf", PDF),
            by=coordinator_a,
        )
    assert access.effective_role(parent.user, child, later + dt.timedelta(hours=1)) == Role.PRIMARY
    actions = set(
        PortalAccessChange.objects.filter(guardian=parent).values_list("action", flat=True)
    )
    assert PortalAccessChange.Action.ADULT_GUARDIANSHIP in actions


@pytest.mark.django_db
def test_born_on_29_february_turns_18_on_1_march(center_a):
    parent = guardian_with_login(center_a, "leap@example.org")
    child = f.PatientFactory(center=center_a, date_of_birth=dt.date(2008, 2, 29))
    Guardianship.objects.create(guardian=parent, patient=child, role=Role.PRIMARY)
    run(at_ny(dt.date(2025, 12, 30)))
    assert steps(child) == []
    run(at_ny(dt.date(2025, 12, 31)))  # 60 days before 1 March 2026
    assert steps(child) == [AgeStep.NOTICE_60]
    run(at_ny(dt.date(2026, 2, 28)))
    assert AgeStep.APPLIED not in steps(child)
    run(at_ny(dt.date(2026, 3, 1)))
    assert AgeStep.APPLIED in steps(child)
    assert AgeTransition.objects.filter(patient=child).first().birthday == dt.date(2026, 3, 1)


@pytest.mark.django_db
def test_teen_assent_keeps_parents_full_access(teen, center_a):
    child, parent = teen
    child.date_of_birth = dt.date(2014, 3, 20)  # 12 on 2026-03-20
    child.save()
    run(at_ny(dt.date(2026, 3, 20)))
    row = AgeTransition.objects.filter(patient=child, step=AgeStep.APPLIED).get()
    assert row.change == AgeChange.TEEN_ASSENT
    assert not GuardianshipRestriction.objects.exists()
    assert access.can_act(parent.user, child, access.Action.CHANGE_SETTINGS)


@pytest.mark.django_db
def test_a_centers_own_policy(teen, center_a):
    child, parent = teen
    AgePolicy.objects.create(center=center_a, age_years=18, change=AgeChange.PARENTS_VIEW_ONLY)
    run(at_ny(dt.date(2026, 3, 20)))
    assert access.effective_role(parent.user, child, at_ny(dt.date(2026, 3, 21))) == Role.VIEW_ONLY
    # Only this center's rule applies: no "teen assent" at 12, no account-holder change.
    assert set(AgeTransition.objects.values_list("change", flat=True)) == {"parents_view_only"}


@pytest.mark.django_db
def test_the_young_person_becomes_the_account_holder(client, teen, coordinator_a):
    child, parent = teen
    with (
        time_machine.travel(at_ny(dt.date(2026, 2, 1)), tick=False),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        own, invitation, _raw = services.invite_young_person(
            child, email="amaryllis@example.org", by=coordinator_a
        )
    assert [m.to for m in mail.outbox] == [["amaryllis@example.org"]]
    link = Guardianship.objects.get(guardian=own)
    assert (link.relationship, link.role) == ("self", Role.VIEW_ONLY)
    assert invitation.email == "amaryllis@example.org"
    run(at_ny(dt.date(2026, 3, 20)))
    link.refresh_from_db()
    assert link.role == Role.PRIMARY and link.is_primary
    assert Guardianship.objects.get(guardian=parent).role == Role.CO_GUARDIAN
    # "Who can see this", as the young person sees it once their account is open.
    own.user = f.UserFactory(email="amaryllis@example.org")
    own.save()
    client.force_login(own.user)
    with time_machine.travel(at_ny(dt.date(2026, 3, 21)), tick=False):
        html = client.get(reverse("portal:people", args=[child.public_id])).content.decode()
    assert "No access" in html  # the parent
    assert "Access changed" in html and "Told 60 days ahead" not in html  # no notice: invited late


@pytest.mark.django_db
def test_who_can_see_this_announces_the_coming_change(client, teen):
    child, parent = teen
    run(at_ny(dt.date(2026, 1, 19)))
    client.force_login(parent.user)
    with time_machine.travel(at_ny(dt.date(2026, 1, 20)), tick=False):
        html = client.get(reverse("portal:people", args=[child.public_id])).content.decode()
    assert "Coming at 18" in html
    assert "adult guardianship" in html
    assert "Told 60 days ahead" in html


@pytest.mark.django_db
def test_spanish_family_email(teen):
    child, parent = teen
    parent.language = "es"
    parent.save()
    run(at_ny(dt.date(2026, 1, 19)))
    message = emails.build(Reminder.objects.get(patient=child, kind=Kind.AGE_CHANGE_FAMILY))
    assert "Quién puede ver esto" in message.body
    with translation.override("es"):
        text = ages.AGE_REASON[AgeChange.PATIENT_ACCOUNT_HOLDER]
        assert translation.gettext(text) != text


@pytest.mark.django_db
def test_due_steps_reads_a_constant_number_of_queries(center_a, django_assert_num_queries):
    for i in range(6):
        f.PatientFactory(center=center_a, date_of_birth=BORN + dt.timedelta(days=i))
    f.CenterFactory(name="Center C")
    now = at_ny(dt.date(2026, 1, 19))
    # policies + centers + one per center and rule (2 centers x 2 default rules)
    with django_assert_num_queries(2 + 2 * 2):
        found = list(ages.due_steps(now))
    assert len(found) == 1  # only the child 60 days from 18 (the others are 61+ days away)


@pytest.mark.django_db
def test_every_change_is_in_the_audit_trail(teen):
    from django.contrib.contenttypes.models import ContentType

    from audit.models import AuditRecord

    child, parent = teen
    run(at_ny(dt.date(2026, 3, 20)))
    for model in (AgeTransition, GuardianshipRestriction, PortalAccessChange):
        kind = ContentType.objects.get_for_model(model)
        records = AuditRecord.objects.filter(content_type=kind, event="created")
        assert records.exists(), model
    restriction = AuditRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(GuardianshipRestriction)
    ).get()
    assert (restriction.patient_id, restriction.guardian_id) == (child.pk, parent.pk)


@pytest.mark.django_db
def test_the_beat_task_runs_the_sweep(teen, settings):
    from notifications import tasks

    child, _parent = teen
    assert settings.CELERY_BEAT_SCHEDULE["custody-ages"]["task"] == tasks.age_transitions.name
    with time_machine.travel(at_ny(dt.date(2026, 1, 19)), tick=False):
        assert tasks.age_transitions() == {"steps": 1}
        assert tasks.age_transitions() == {"steps": 0}
    assert steps(child) == [AgeStep.NOTICE_60]
