"""Coordinators reminded 60, 30 and 7 days before an approval ends: once each, at 09:00 in the
center's zone, never for an approval renewed or a journey closed, never with health data."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journey.models import AuthorizationStatus, PriorAuthorization, Stage, Therapy
from notifications import dispatch, expiry
from notifications.models import Kind, Reminder, Status
from tests import factories as f

UNTIL = dt.date(2026, 6, 30)  # New York is on daylight time (UTC-4) all spring
NINE_NY = dt.time(13, 0)  # 09:00 in New York, in UTC


def utc(day, at=NINE_NY):
    return dt.datetime.combine(day, at, tzinfo=dt.UTC)


@pytest.fixture
def journey(center_a):
    patient = f.PatientFactory(center=center_a, first_name="Alma", last_name="Zubiri")
    therapy = Therapy.objects.get(slug="zolgensma")
    return f.JourneyFactory(
        patient=patient, center=center_a, therapy=therapy, stage=Stage.INSURANCE
    )


def approve(journey, until=UNTIL, decided=dt.date(2026, 1, 5)):
    return PriorAuthorization.objects.create(
        journey=journey,
        status=AuthorizationStatus.APPROVED,
        decision_on=decided,
        approved_until=until,
        approval_number="PA-1",
    )


def rows(status=None):
    queryset = Reminder.objects.filter(kind=Kind.AUTHORIZATION_EXPIRING).order_by("send_at")
    return list(queryset.filter(status=status) if status else queryset)


def run(at):
    with time_machine.travel(at, tick=False):
        expiry.reconcile_expiry()
        dispatch.dispatch_due()


def test_each_coordinator_is_reminded_once_at_60_30_and_7_days(journey, coordinator_a):
    """GIVEN an approval ending June 30 WHEN the planner and dispatcher run every day
    THEN each coordinator of the center gets three emails, each at 09:00 New York time."""
    colleague = f.CoordinatorFactory(center=journey.center)
    f.CoordinatorFactory(center=f.CenterFactory())  # another center: never told
    approve(journey)
    sent_at = []
    day = dt.date(2026, 4, 25)
    while day <= UNTIL:
        for hour in (dt.time(12, 59), dt.time(13, 1)):
            before = len(mail.outbox)
            run(utc(day, hour))
            sent_at += [utc(day, hour)] * (len(mail.outbox) - before)
        day += dt.timedelta(days=1)
    wanted = [utc(UNTIL - dt.timedelta(days=n), dt.time(13, 1)) for n in (60, 30, 7)]
    assert sent_at == [w for w in wanted for _ in range(2)]
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [coordinator_a.email, colleague.email] * 3
    )
    assert len(rows(Status.SENT)) == 6 and len(rows()) == 6


def test_planning_twice_changes_nothing(journey, coordinator_a):
    approve(journey)
    with time_machine.travel(utc(dt.date(2026, 4, 30)), tick=False):
        first = expiry.reconcile_expiry()
        second = expiry.reconcile_expiry()
    assert (first.created, second.created, second.updated, second.cancelled) == (3, 0, 0, 0)
    assert [r.send_at for r in rows()] == [
        utc(dt.date(2026, 5, 1)),
        utc(dt.date(2026, 5, 31)),
        utc(dt.date(2026, 6, 23)),
    ]
    assert {r.rung for r in rows()} == {60, 30, 7}


def test_an_approval_recorded_late_gets_only_the_reminders_still_ahead(journey, coordinator_a):
    approve(journey)
    with time_machine.travel(utc(dt.date(2026, 6, 10)), tick=False):
        expiry.reconcile_expiry()
    assert [r.rung for r in rows()] == [7]


def test_the_center_zone_decides_the_hour(journey, coordinator_a, center_b):
    """London is UTC+1 in June: 09:00 there is 08:00 UTC."""
    patient = f.PatientFactory(center=center_b)
    other = f.JourneyFactory(patient=patient, center=center_b, stage=Stage.INSURANCE)
    f.CoordinatorFactory(center=center_b)
    approve(other)
    with time_machine.travel(utc(dt.date(2026, 6, 20)), tick=False):
        expiry.reconcile_expiry()
    assert [r.send_at for r in rows()] == [utc(dt.date(2026, 6, 23), dt.time(8))]


def test_a_renewal_cancels_the_old_approvals_reminders(journey, coordinator_a):
    old = approve(journey)
    with time_machine.travel(utc(dt.date(2026, 4, 30)), tick=False):
        expiry.reconcile_expiry()
        approve(journey, until=dt.date(2026, 12, 31), decided=dt.date(2026, 3, 30))
        counts = expiry.reconcile_expiry()
    assert counts.cancelled == 3
    assert all(r.key.split(":")[2].startswith(f"auth{old.pk}.") for r in rows(Status.CANCELLED))
    assert rows(Status.PENDING) == []  # the renewal's own are planned 60 days before its end


def test_a_closed_journey_or_a_denied_request_is_not_reminded(journey, coordinator_a):
    approve(journey)
    PriorAuthorization.objects.create(journey=journey, status=AuthorizationStatus.DENIED)
    with time_machine.travel(utc(dt.date(2026, 4, 30)), tick=False):
        expiry.reconcile_expiry()
        type(journey).objects.filter(pk=journey.pk).update(
            stage=Stage.WITHDRAWN, closed_at=timezone.now()
        )
        expiry.reconcile_expiry()
    assert rows(Status.PENDING) == [] and len(rows(Status.CANCELLED)) == 3


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_email_names_no_child_and_no_therapy(journey, coordinator_a, language):
    coordinator_a.language = language
    coordinator_a.save()
    approve(journey)
    run(utc(dt.date(2026, 5, 1), dt.time(13, 1)))
    (message,) = mail.outbox
    text = message.subject + message.body + message.alternatives[0][0]
    for word in ("Alma", "Zubiri", journey.therapy.name, "PA-1"):
        assert word not in text
    if language == "es":
        assert "Una autorización del seguro" in message.body
        assert "30 de junio de 2026" in message.body
    else:
        assert "An insurance approval for a family at Center A ends on June 30, 2026" in (
            message.body
        )


def test_planning_costs_the_same_queries_for_2_or_10_approvals(center_a, coordinator_a):
    def approvals(n):
        for _ in range(n):
            patient = f.PatientFactory(center=center_a)
            approve(f.JourneyFactory(patient=patient, center=center_a, stage=Stage.INSURANCE))

    counts = []
    for n in (2, 8):  # 10 approvals: 30 rows, one INSERT even on SQLite
        approvals(n)
        at = time_machine.travel(utc(dt.date(2026, 4, 30)), tick=False)
        with at, CaptureQueriesContext(connection) as queries:
            expiry.reconcile_expiry()
        counts.append(len(queries))
    assert counts[0] == counts[1]
