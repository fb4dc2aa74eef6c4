"""Staff changes: a leaving coordinator's families go to a colleague in one step; a check
lists families whose coordinator is deactivated or left the center."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from journey import staffing
from journey.models import CareAssignment, StaffHandover
from tests import factories as f
from tests.conftest import otp_login


@pytest.fixture
def leaving(center_a):
    return f.CoordinatorFactory(email="leaving@example.org", center=center_a)


@pytest.fixture
def families(center_a, leaving):
    return [
        CareAssignment.objects.create(
            patient=f.PatientFactory(center=center_a), coordinator=leaving
        )
        for _ in range(3)
    ]


def test_every_family_moves_to_the_colleague_in_one_step(families, leaving, coordinator_a):
    done = staffing.hand_over(leaving, coordinator_a, by=coordinator_a, reason="leaves in May")
    assert done.families == 3
    assert set(CareAssignment.objects.values_list("coordinator", flat=True)) == {coordinator_a.pk}
    assert StaffHandover.objects.get().reason == "leaves in May"


def test_a_colleague_of_another_center_is_refused_and_nothing_moves(
    families, leaving, coordinator_b
):
    with pytest.raises(ValidationError) as refused:
        staffing.hand_over(leaving, coordinator_b, by=None, reason="x")
    assert "does not work at Center A" in str(refused.value)
    assert set(CareAssignment.objects.values_list("coordinator", flat=True)) == {leaving.pk}


def test_a_deactivated_colleague_is_refused(families, leaving, coordinator_a):
    coordinator_a.is_active = False
    coordinator_a.save()
    with pytest.raises(ValidationError):
        staffing.hand_over(leaving, coordinator_a, by=None, reason="x")


def test_the_check_lists_families_of_deactivated_or_departed_coordinators(
    families, leaving, coordinator_a, center_a
):
    assert list(staffing.orphans()) == []
    leaving.is_active = False
    leaving.save()
    assert {a.pk for a in staffing.orphans()} == {a.pk for a in families}
    departed = f.CoordinatorFactory(center=center_a)
    kept = CareAssignment.objects.create(
        patient=f.PatientFactory(center=center_a), coordinator=departed
    )
    departed.memberships.all().delete()
    assert kept in set(staffing.orphans())
    with pytest.raises(SystemExit):
        call_command("orphaned_families")
    staffing.hand_over(leaving, coordinator_a, by=None, reason="left")
    CareAssignment.objects.filter(pk=kept.pk).update(coordinator=coordinator_a)
    assert list(staffing.orphans()) == []
    call_command("orphaned_families")  # no orphan: exits normally


def test_the_orphan_check_is_one_query(families, leaving, django_assert_num_queries):
    leaving.is_active = False
    leaving.save()
    with django_assert_num_queries(1):
        assert len(list(staffing.orphans())) == 3


def test_the_hand_over_page_moves_the_families(client, families, leaving, coordinator_a):
    otp_login(client, coordinator_a)
    response = client.post(
        reverse("admin:journey_staffhandover_add"),
        {"from_user": leaving.pk, "to_user": coordinator_a.pk, "reason": "leaves"},
    )
    assert response.status_code == 302
    assert not CareAssignment.objects.filter(coordinator=leaving).exists()


def test_another_centers_coordinator_cannot_move_or_see_them(
    client, families, leaving, coordinator_a, coordinator_b
):
    done = staffing.hand_over(leaving, coordinator_a, by=coordinator_a, reason="leaves")
    otp_login(client, coordinator_b)
    page = reverse("admin:journey_staffhandover_change", args=[done.pk])
    assert client.get(page).status_code == 404
    client.post(
        reverse("admin:journey_staffhandover_add"),
        {"from_user": coordinator_a.pk, "to_user": coordinator_b.pk, "reason": "mine"},
    )
    assert set(CareAssignment.objects.values_list("coordinator", flat=True)) == {coordinator_a.pk}
    assignment = reverse("admin:journey_careassignment_change", args=[families[0].pk])
    assert client.get(assignment).status_code == 404
