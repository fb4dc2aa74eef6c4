"""Staff changes: a leaving coordinator's families go to a colleague in one step; a check
lists families whose coordinator is deactivated or left the center."""

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from conversations.models import EventKind, Thread, ThreadEvent, ThreadStatus
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


# Open message threads (conversations registers them with journey.staffing in its ready()).


def thread(center, holder, status=ThreadStatus.CARE_TEAM):
    now = timezone.now()
    return Thread.objects.create(
        patient=f.PatientFactory(center=center),
        center=center,
        subject="Rash",
        status=status,
        assigned_to=holder,
        created_at=now,
        last_message_at=now,
        respond_by=now if status == ThreadStatus.CARE_TEAM else None,
    )


@pytest.fixture
def threads(center_a, center_b, leaving):
    return {
        "waiting": thread(center_a, leaving),
        "on_family": thread(center_a, leaving, ThreadStatus.FAMILY),
        "closed": thread(center_a, leaving, ThreadStatus.CLOSED),
        "elsewhere": thread(center_b, leaving),
    }


def holders(threads):
    return {name: Thread.objects.get(pk=t.pk).assigned_to.email for name, t in threads.items()}


@time_machine.travel("2026-05-04 10:00Z", tick=False)
def test_open_threads_at_the_colleagues_centers_move_with_history_and_counts(
    families, threads, leaving, coordinator_a
):
    done = staffing.hand_over(leaving, coordinator_a, by=coordinator_a, reason="leaves")
    assert holders(threads) == {
        "waiting": coordinator_a.email,
        "on_family": coordinator_a.email,
        "closed": leaving.email,  # a closed thread stays as it was
        "elsewhere": leaving.email,  # another center's thread: the colleague cannot answer it
    }
    assert (done.families, done.items) == (3, {"threads": 2})
    events = ThreadEvent.objects.filter(kind=EventKind.ASSIGNED)
    assert {(e.thread_id, e.by, e.to, e.at) for e in events} == {
        (threads[name].pk, coordinator_a, coordinator_a, timezone.now())
        for name in ("waiting", "on_family")
    }


def test_a_coordinator_with_threads_only_hands_them_over(threads, leaving, coordinator_a):
    done = staffing.hand_over(leaving, coordinator_a, by=None, reason="leaves")
    assert (done.families, done.items) == (0, {"threads": 2})
    again = staffing.hand_over(leaving, coordinator_a, by=None, reason="twice")
    assert (again.families, again.items) == (0, {})
    assert ThreadEvent.objects.count() == 2


def test_the_orphan_check_lists_open_threads_of_deactivated_or_departed_assignees(
    threads, leaving, coordinator_a, center_a, capsys
):
    # Leaving works at A only: B's thread waits on someone who cannot answer it.
    assert [o.patient for o in staffing.orphaned_items()] == [threads["elsewhere"].patient]
    Thread.objects.filter(pk=threads["elsewhere"].pk).update(assigned_to=None)
    assert staffing.orphaned_items() == []
    call_command("orphaned_families")
    Thread.objects.filter(pk=threads["elsewhere"].pk).update(assigned_to=leaving)
    leaving.memberships.all().delete()
    orphaned = {o.patient.pk for o in staffing.orphaned_items()}
    assert orphaned == {threads[n].patient.pk for n in ("waiting", "on_family", "elsewhere")}
    with pytest.raises(SystemExit):
        call_command("orphaned_families")
    assert f"{threads['waiting'].patient.public_id}\tleaving@example.org" in capsys.readouterr().out


def test_an_administrator_holding_a_thread_without_membership_is_no_orphan(center_a):
    admin_user = f.UserFactory(is_staff=True, is_superuser=True)
    thread(center_a, admin_user)
    assert staffing.orphaned_items() == []
    admin_user.is_active = False
    admin_user.save()
    assert len(staffing.orphaned_items()) == 1


def test_the_thread_orphan_check_is_one_query(threads, leaving, django_assert_num_queries):
    leaving.is_active = False
    leaving.save()
    with django_assert_num_queries(1):
        assert len(staffing.orphaned_items()) == 3


def test_the_inbox_filters_orphaned_threads_and_the_page_says_what_moved(
    client, threads, leaving, coordinator_a
):
    leaving.is_active = False
    leaving.save()
    otp_login(client, coordinator_a)
    inbox = client.get(reverse("admin:conversations_thread_changelist"), {"orphan": "yes"})
    assert {t.pk for t in inbox.context["cl"].result_list} == {
        threads["waiting"].pk,
        threads["on_family"].pk,
    }  # B's thread is not this coordinator's to see
    response = client.post(
        reverse("admin:journey_staffhandover_add"),
        {"from_user": leaving.pk, "to_user": coordinator_a.pk, "reason": "leaves"},
        follow=True,
    )
    assert "Also moved: 2 message threads." in response.content.decode()
