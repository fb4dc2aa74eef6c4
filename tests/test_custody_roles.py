"""Issue 17 item 1: guardian roles and custody restrictions.

GIVEN a child with a primary guardian, a co-guardian and a view-only guardian (each with a login)
WHEN  each asks for the portal's actions (reminder settings, pause, a calendar link, "Something is
      wrong", an outside result) and journey.access.can_act is asked for every action
THEN  the role decides: view-only reads and gets 403 on every action; a coordinator's restriction
      (with its document) takes effect on the guardian's very next request ("no access": 404 as
      for a stranger, and no more reminders; "view only": 403 on actions); lifting it restores
      access, and every step is in the guardian's access history.
"""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from journey import access
from journey.access import Action
from journey.custody import services
from journey.models import (
    Guardianship,
    GuardianshipRestriction,
    PortalAccessChange,
    RestrictionKind,
)
from tests.factories_portal_tracker import child_of, guardian_with_login

Role = Guardianship.Role
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def document(name="Court order.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.WAYPOINT_PRIVATE_MEDIA_ROOT = tmp_path


@pytest.fixture
def family(center_a, coordinator_a):
    primary = guardian_with_login(center_a, "primary@example.org", full_name="Pat Primary")
    child, journey = child_of(primary, first_name="Amaryllis", by=coordinator_a)
    guardians = {Role.PRIMARY: primary}
    for role in [Role.CO_GUARDIAN, Role.VIEW_ONLY]:
        guardian = guardian_with_login(center_a, f"{role}@example.org", full_name=f"G {role}")
        Guardianship.objects.create(guardian=guardian, patient=child, role=role)
        guardians[role] = guardian
    return child, guardians


def _client(client, guardian):
    client.force_login(guardian.user)
    return client


def _link(child, guardian):
    return Guardianship.objects.get(patient=child, guardian=guardian)


# Each portal action: (method, URL name, data, the Action it needs).
ACTIONS = [
    ("get", "portal_notifications:settings", {}, Action.CHANGE_SETTINGS),
    ("post", "portal_notifications:settings", {"time_zone": "UTC", "lead_days": "1",
                                               "local_hour": "9"}, Action.CHANGE_SETTINGS),
    ("post", "portal_notifications:snooze", {"days": "2"}, Action.CHANGE_SETTINGS),
    ("post", "portal_notifications:unsnooze", {}, Action.CHANGE_SETTINGS),
    ("post", "portal_tracker:calendar_new", {}, Action.CHANGE_SETTINGS),
    ("get", "portal_reports:new", {}, Action.REPORT),
    ("get", "portal_reports:outside_new", {}, Action.REPORT),
]  # fmt: skip
READS = ["portal:child", "portal:people", "portal:card", "portal_tracker:plan",
         "portal_tracker:labs", "portal_tracker:calendar"]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.PRIMARY, Role.CO_GUARDIAN, Role.VIEW_ONLY])
@pytest.mark.parametrize(("method", "name", "data", "action"), ACTIONS)
def test_each_action_by_role(client, family, role, method, name, data, action):
    child, guardians = family
    response = getattr(_client(client, guardians[role]), method)(
        reverse(name, args=[child.public_id]), data
    )
    if role == Role.VIEW_ONLY:
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 302)


@pytest.mark.django_db
@pytest.mark.parametrize("name", READS)
def test_view_only_reads_every_page(client, family, name):
    child, guardians = family
    response = _client(client, guardians[Role.VIEW_ONLY]).get(reverse(name, args=[child.public_id]))
    assert response.status_code == 200


@pytest.mark.django_db
def test_can_act_matrix(family):
    child, guardians = family
    allowed = {
        role: {a for a in access.ALL_ACTIONS if access.can_act(g.user, child, a)}
        for role, g in guardians.items()
    }
    assert allowed[Role.PRIMARY] == set(access.ALL_ACTIONS)
    assert allowed[Role.CO_GUARDIAN] == set(access.ALL_ACTIONS) - {Action.INVITE}
    assert allowed[Role.VIEW_ONLY] == {Action.READ}
    stranger = guardian_with_login(child.center, "stranger@example.org")
    assert not any(access.can_act(stranger.user, child, a) for a in access.ALL_ACTIONS)


@pytest.mark.django_db
def test_a_view_only_guardian_posts_nothing(client, family):
    child, guardians = family
    c = _client(client, guardians[Role.VIEW_ONLY])
    c.post(reverse("portal_notifications:snooze", args=[child.public_id]), {"days": "3"})
    c.post(reverse("portal_reports:new", args=[child.public_id]), {"text": "a rash"})
    from reports.models import SymptomReport

    assert not child.reminder_preferences.exists()
    assert not SymptomReport.objects.filter(patient=child).exists()


@pytest.mark.django_db
def test_no_access_restriction_takes_effect_on_the_next_request(client, family, coordinator_a):
    child, guardians = family
    co = guardians[Role.CO_GUARDIAN]
    c = _client(client, co)
    page = reverse("portal:child", args=[child.public_id])
    assert c.get(page).status_code == 200
    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        restriction = services.restrict(
            _link(child, co),
            kind=RestrictionKind.NO_ACCESS,
            reason="Court order 12/2026",
            document=document(),
            by=coordinator_a,
        )
    assert callbacks  # access_changed is announced after commit (reminders re-planned)
    # The same session, the very next request: the child is hidden as a stranger's is.
    assert c.get(page).status_code == 404
    assert (
        c.get(reverse("portal_notifications:settings", args=[child.public_id])).status_code == 404
    )
    assert child.first_name not in c.get(reverse("portal:home")).content.decode()
    assert not access.patients_for_guardian(co.user).exists()
    # The other guardians are untouched.
    assert access.effective_role(guardians[Role.PRIMARY].user, child) == Role.PRIMARY
    # The document is private, under a random name (the uploaded name is not kept).
    assert restriction.document_type == "pdf"
    assert "Court" not in restriction.document.name

    services.lift_restriction(restriction, reason="Order set aside", by=coordinator_a)
    assert c.get(page).status_code == 200
    history = list(PortalAccessChange.objects.filter(guardian=co).values_list("action", flat=True))
    assert history == [
        PortalAccessChange.Action.RESTRICTED,
        PortalAccessChange.Action.RESTRICTION_ENDED,
    ]


@pytest.mark.django_db
def test_view_only_restriction_turns_actions_into_403(client, family, coordinator_a):
    child, guardians = family
    primary = guardians[Role.PRIMARY]
    c = _client(client, primary)
    settings_page = reverse("portal_notifications:settings", args=[child.public_id])
    assert c.get(settings_page).status_code == 200
    services.restrict(
        _link(child, primary),
        kind=RestrictionKind.VIEW_ONLY,
        reason="Custody agreement: read only",
        document=document(),
        by=coordinator_a,
    )
    assert c.get(settings_page).status_code == 403
    assert c.get(reverse("portal:child", args=[child.public_id])).status_code == 200
    assert access.effective_role(primary.user, child) == Role.VIEW_ONLY


@pytest.mark.django_db
def test_a_restriction_from_a_later_date_waits_for_it(family, coordinator_a):
    child, guardians = family
    co = guardians[Role.CO_GUARDIAN]
    with time_machine.travel(NOW, tick=False):
        services.restrict(
            _link(child, co),
            kind=RestrictionKind.NO_ACCESS,
            reason="From the hearing",
            document=document(),
            by=coordinator_a,
            starts_at=NOW + dt.timedelta(days=1),
        )
        assert access.patients_for_guardian(co.user).exists()
    with time_machine.travel(NOW + dt.timedelta(days=1, seconds=1), tick=False):
        assert not access.patients_for_guardian(co.user).exists()


@pytest.mark.django_db
def test_a_restriction_needs_a_reason_and_a_real_document(family, coordinator_a):
    child, guardians = family
    link = _link(child, guardians[Role.CO_GUARDIAN])
    kwargs = dict(kind=RestrictionKind.NO_ACCESS, by=coordinator_a)
    with pytest.raises(ValidationError):
        services.restrict(link, reason=" ", document=document(), **kwargs)
    with pytest.raises(ValidationError):
        services.restrict(link, reason="order", document=None, **kwargs)
    with pytest.raises(ValidationError):
        services.restrict(
            link, reason="order", document=document("x.pdf", b"MZ not a pdf"), **kwargs
        )
    assert not GuardianshipRestriction.objects.exists()


@pytest.mark.django_db
def test_hidden_guardian_gets_no_reminders(family, coordinator_a):
    from notifications.models import Reminder
    from notifications.sweep import reconcile

    child, guardians = family
    primary = guardians[Role.PRIMARY]
    with time_machine.travel(dt.datetime(2026, 1, 8, 12, tzinfo=dt.UTC), tick=False):
        reconcile([child.pk])
        assert Reminder.objects.filter(guardian=primary, status="pending").exists()
        services.restrict(
            _link(child, primary),
            kind=RestrictionKind.NO_ACCESS,
            reason="Court order",
            document=document(),
            by=coordinator_a,
        )
        reconcile([child.pk])
        assert not Reminder.objects.filter(guardian=primary, status="pending").exists()


@pytest.mark.django_db
def test_one_primary_and_is_primary_follows_the_role(family):
    child, guardians = family
    link = _link(child, guardians[Role.CO_GUARDIAN])
    assert link.is_primary is False
    link.role = Role.PRIMARY
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        link.save()
    _link(child, guardians[Role.PRIMARY]).delete()
    link.save()
    assert Guardianship.objects.get(pk=link.pk).is_primary is True


@pytest.mark.django_db
def test_people_page_shows_each_guardians_access(client, family, coordinator_a):
    child, guardians = family
    services.restrict(
        _link(child, guardians[Role.CO_GUARDIAN]),
        kind=RestrictionKind.NO_ACCESS,
        reason="Court order 12/2026",
        document=document(),
        by=coordinator_a,
    )
    html = (
        _client(client, guardians[Role.PRIMARY])
        .get(reverse("portal:people", args=[child.public_id]))
        .content.decode()
    )
    assert "No access" in html
    assert "Can read; cannot change settings" in html
    assert "Court order" not in html  # the reason stays with the care team


@pytest.mark.django_db
def test_a_view_only_guardian_who_cannot_report_is_given_the_care_teams_numbers(client, family):
    child, guardians = family
    response = _client(client, guardians[Role.VIEW_ONLY]).get(
        reverse("portal_reports:new", args=[child.public_id])
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert child.center.main_phone in html and child.center.after_hours_phone in html
