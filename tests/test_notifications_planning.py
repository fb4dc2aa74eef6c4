"""Planning: the pure function, and the sweep that reconciles the outbox in bulk."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from notifications import planning as p
from notifications import services
from notifications.models import Kind, Preference, Reminder, Status
from tests.factories_notifications import Family, critical_result

NOW = dt.datetime(2025, 3, 8, 12, tzinfo=dt.UTC)  # a Saturday; New York changes on Sunday 9th
NY = "America/New_York"


def inputs(**kwargs):
    base = {"patient_id": 1, "center_id": 1, "journey_id": 1}
    return p.PatientInputs(**(base | kwargs))


def mother(tz=NY, **prefs):
    return p.Recipient("g", 10, tz, p.Prefs(**prefs), primary=True)


def local(instant, zone):
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


# ---- the pure function ----


def test_lab_reminder_the_day_before_at_nine_in_the_guardians_zone():
    plan = p.plan_patient(
        inputs(guardians=[mother()], labs=[p.Lab(5, dt.date(2025, 3, 10), dt.date(2025, 3, 12))]),
        NOW,
    )
    [reminder] = [d for d in plan if d.kind == Kind.LAB_REMINDER]
    assert local(reminder.send_at, NY) == dt.datetime(2025, 3, 9, 9)  # after the DST change
    assert reminder.key == "g10:lab_reminder:draw1.20250310:2025-03-10"  # one per draw


@pytest.mark.parametrize("lead", [0, 1, 2, 3])
def test_lead_time_and_hour_are_the_guardians(lead):
    guardian = mother(tz="Asia/Kolkata", lead_days=lead, local_hour=18)
    lab = p.Lab(5, dt.date(2025, 3, 14), dt.date(2025, 3, 16))
    [reminder] = [
        d
        for d in p.plan_patient(inputs(guardians=[guardian], labs=[lab]), NOW)
        if d.kind == Kind.LAB_REMINDER
    ]
    assert local(reminder.send_at, "Asia/Kolkata") == dt.datetime(2025, 3, 14 - lead, 18)


def test_inpatient_items_and_switched_off_kinds_plan_nothing():
    lab = p.Lab(5, dt.date(2025, 3, 10), dt.date(2025, 3, 12), inpatient=True)
    assert p.plan_patient(inputs(guardians=[mother()], labs=[lab]), NOW) == []
    lab = p.Lab(6, dt.date(2025, 3, 10), dt.date(2025, 3, 12))
    off = mother(lab_reminders=False, overdue_nudges=False)
    assert p.plan_patient(inputs(guardians=[off], labs=[lab]), NOW) == []


def test_overdue_ladder_nudges_twice_then_other_guardians_then_coordinator():
    father = p.Recipient("g", 11, "Europe/London", p.Prefs())
    coordinator = p.Recipient("u", 20, "America/Chicago")
    lab = p.Lab(5, dt.date(2025, 3, 5), dt.date(2025, 3, 7))  # window closed yesterday
    plan = p.plan_patient(
        inputs(guardians=[mother(), father], coordinators=[coordinator], labs=[lab]), NOW
    )
    ladder = sorted((d.rung, d.kind, d.recipient.tag, d.due_on) for d in plan if d.rung)
    assert ladder == [
        (1, Kind.OVERDUE_NUDGE, "g10", dt.date(2025, 3, 8)),
        (2, Kind.OVERDUE_NUDGE, "g10", dt.date(2025, 3, 9)),
        (3, Kind.OVERDUE_OTHER_GUARDIAN, "g11", dt.date(2025, 3, 10)),
        (4, Kind.OVERDUE_COORDINATOR, "u20", dt.date(2025, 3, 11)),
    ]


def test_snooze_defers_and_quiet_hours_apply():
    snoozed = NOW + dt.timedelta(days=3)
    guardian = mother(snoozed_until=snoozed, quiet=(dt.time(8), dt.time(10)))
    lab = p.Lab(5, dt.date(2025, 3, 10), dt.date(2025, 3, 12))
    [reminder] = p.plan_patient(inputs(guardians=[guardian], labs=[lab]), NOW)[:1]
    # The snooze ends 11 March 08:00 EDT, inside the quiet hours: it waits until 10:00.
    assert local(reminder.send_at, NY) == dt.datetime(2025, 3, 11, 10)
    guardian = mother(quiet=(dt.time(8), dt.time(10)))
    [reminder] = p.plan_patient(inputs(guardians=[guardian], labs=[lab]), NOW)[:1]
    assert local(reminder.send_at, NY) == dt.datetime(2025, 3, 9, 10)


def test_critical_alert_ignores_quiet_hours_and_goes_at_once():
    coordinator = p.Recipient("u", 20, "America/Chicago")
    at = dt.datetime(2025, 3, 8, 8, tzinfo=dt.UTC)  # 02:00 in Chicago
    plan = p.plan_patient(inputs(coordinators=[coordinator], criticals=[p.Critical(7, at)]), NOW)
    assert [(d.kind, d.send_at) for d in plan] == [(Kind.CRITICAL_RESULT, at)]


def test_a_zone_change_moves_the_instant_but_not_the_key():
    lab = p.Lab(5, dt.date(2025, 3, 12), dt.date(2025, 3, 14))
    [ny] = p.plan_patient(inputs(guardians=[mother()], labs=[lab]), NOW)[:1]
    [nz] = p.plan_patient(inputs(guardians=[mother("Pacific/Auckland")], labs=[lab]), NOW)[:1]
    assert ny.key == nz.key
    assert local(nz.send_at, "Pacific/Auckland") == dt.datetime(2025, 3, 11, 9)


# ---- the sweep ----


@pytest.fixture
def family(db):
    return Family()


def test_sweep_creates_each_reminder_once_and_keeps_sent_rows(family):
    family.lab(dt.date(2025, 3, 10))
    with time_machine.travel(NOW, tick=False):
        first = services.reconcile([family.patient.pk])
        Reminder.objects.filter(kind=Kind.LAB_REMINDER).update(
            status=Status.SENT, sent_at=timezone.now()
        )
        again = services.reconcile([family.patient.pk])
    assert first.created == Reminder.objects.count() > 0
    assert (again.created, again.updated, again.cancelled) == (0, 0, 0)
    rows = Reminder.objects.filter(kind=Kind.LAB_REMINDER)
    assert {r.time_zone for r in rows} == {NY, "Europe/London"}


def test_sweep_cancels_when_the_lab_is_done_moved_or_switched_off(family):
    lab = family.lab(dt.date(2025, 3, 10))
    other = family.lab(dt.date(2025, 3, 11))
    with time_machine.travel(NOW, tick=False):
        services.reconcile([family.patient.pk])
        lab.done_at = timezone.now()
        lab.save()
        other.due_on, other.window_end = dt.date(2025, 3, 12), dt.date(2025, 3, 14)
        other.save()
        Preference.objects.create(guardian=family.father, patient=family.patient, lab_reminders=0)
        counts = services.reconcile([family.patient.pk])
    pending = Reminder.objects.filter(status=Status.PENDING, kind=Kind.LAB_REMINDER)
    assert [(r.guardian, r.due_on) for r in pending] == [(family.mother, dt.date(2025, 3, 12))]
    assert counts.cancelled >= 3


def test_missed_closes_the_ladder_at_once(family):
    lab = family.lab(dt.date(2025, 3, 5))
    with time_machine.travel(NOW, tick=False):
        services.reconcile([family.patient.pk])
        assert Reminder.objects.filter(rung__gt=0, status=Status.PENDING).count() == 4
        lab.missed_at = timezone.now()
        lab.save()
        services.reconcile([family.patient.pk])
    assert not Reminder.objects.filter(rung__gt=0, status=Status.PENDING).exists()


def test_zone_change_recomputes_pending_rows(family):
    family.lab(dt.date(2025, 3, 12))
    with time_machine.travel(NOW, tick=False):
        services.reconcile([family.patient.pk])
        family.mother.time_zone = "Pacific/Auckland"
        family.mother.save()
        counts = services.reconcile([family.patient.pk])
    row = Reminder.objects.get(guardian=family.mother, kind=Kind.LAB_REMINDER)
    assert counts.updated >= 1
    assert row.time_zone == "Pacific/Auckland"
    assert local(row.send_at, "Pacific/Auckland") == dt.datetime(2025, 3, 11, 9)


def test_family_steps_stage_notes_and_critical_results(family):
    from journey.models import StageChange

    family.step(dt.date(2025, 3, 11))
    family.step(dt.date(2025, 3, 11), responsible="coordinator")
    StageChange.objects.create(
        journey=family.journey, to_stage="monitoring", moved_at=NOW, reason="test"
    )
    critical_result(family.journey, NOW)
    with time_machine.travel(NOW, tick=False):
        services.reconcile()
    kinds = sorted(Reminder.objects.values_list("kind", flat=True))
    assert kinds.count(Kind.STEP_DUE) == 2  # the family step, to both guardians
    assert kinds.count(Kind.STAGE_CHANGED) == 2
    assert kinds.count(Kind.CRITICAL_RESULT) == 1
    assert kinds.count(Kind.DAILY_DIGEST) == 2  # today's and tomorrow's


def test_sweep_query_count_is_constant(db, django_assert_max_num_queries):
    """GIVEN 10 or 200 children's reminders THEN the sweep runs the same number of queries."""
    small = [Family(father_tz=None) for _ in range(2)]
    for fam in small:
        for i in range(5):
            fam.lab(dt.date(2025, 3, 10) + dt.timedelta(days=i))
    with time_machine.travel(NOW, tick=False):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ten:
            services.reconcile([fam.patient.pk for fam in small])
        big = [Family(father_tz=None) for _ in range(20)]
        for fam in big:
            for i in range(10):
                fam.lab(dt.date(2025, 3, 10) + dt.timedelta(days=i))
        limit = len(ten) if connection.vendor == "postgresql" else len(ten) + 40
        with django_assert_max_num_queries(limit):
            services.reconcile([fam.patient.pk for fam in big])
    assert Reminder.objects.filter(patient__in=[f.patient for f in big]).count() >= 200
