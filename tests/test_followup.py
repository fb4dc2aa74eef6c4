"""Keeping families in follow-up: the contact check and its signed link, "at risk" marks for
each reason, the worklist list of them, and the per-center follow-up report."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from journey import followup
from journey.models import CheckReason, ContactConfirmation, FollowUpRisk, RiskReason, Stage
from notifications import dispatch
from notifications import followup as notify
from notifications.models import Kind, Reminder, Status
from tests import factories as f
from tests import factories_notifications as fn
from tests.conftest import otp_login
from tracker import followup as tracker_followup
from tracker.models import ItemKind, MonitoringPlan, PlanItem
from tracker.schedule import LTFU_CODE

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
DAY0 = dt.date(2024, 3, 1)


@pytest.fixture
def family(center_a):
    patient = f.PatientFactory(center=center_a, first_name="Alma", last_name="Zubiri")
    mother = f.GuardianFactory(center=center_a, email="mother@example.org", phone="+1 555 1")
    father = f.GuardianFactory(center=center_a, email="father@example.org")
    f.GuardianshipFactory(guardian=mother, patient=patient, is_primary=True)
    f.GuardianshipFactory(guardian=father, patient=patient)
    journey = f.JourneyFactory(
        patient=patient, center=center_a, stage=Stage.FOLLOW_UP, infusion_date=DAY0
    )
    return patient, mother, father, journey


def plan_of(journey):
    return MonitoringPlan.objects.filter(journey=journey).first() or fn.PlanFactory(journey=journey)


def ltfu_item(journey):
    plan = plan_of(journey)
    return PlanItem.objects.filter(plan=plan, code=LTFU_CODE).first() or fn.ItemFactory(
        plan=plan, code=LTFU_CODE, kind=ItemKind.VISIT, title="Yearly visit"
    )


def visit(journey, year, *, done_on=None):
    due = DAY0.replace(year=DAY0.year + year)
    lab = fn.LabFactory(
        item=ltfu_item(journey),
        journey=journey,
        sequence=year,
        due_on=due,
        window_start=due - dt.timedelta(days=60),
        window_end=due + dt.timedelta(days=60),
    )
    if done_on:
        lab.done_at = dt.datetime.combine(done_on, dt.time(15), tzinfo=dt.UTC)
        lab.save(update_fields=["done_at"])
    return lab


def open_marks(patient):
    return set(
        FollowUpRisk.objects.filter(patient=patient, resolved_at__isnull=True).values_list(
            "reason", flat=True
        )
    )


# ---- the contact check ----


def test_the_yearly_check_asks_every_guardian_once_a_year(family):
    patient, mother, father, _journey = family
    with time_machine.travel(NOW, tick=False):
        assert followup.sweep()["asked"] == 2
        assert followup.sweep()["asked"] == 0  # asked already
    checks = ContactConfirmation.objects.filter(patient=patient)
    assert {c.guardian for c in checks} == {mother, father}
    assert {c.reason for c in checks} == {CheckReason.YEARLY}


def test_a_guardian_who_may_no_longer_see_the_child_is_not_asked(family, coordinator_a):
    """GIVEN the father's access ended (a "no access" restriction: a court order, or the
    child's 18th birthday) WHEN the yearly check runs THEN only the mother is asked."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from journey.custody import services as custody
    from journey.models import Guardianship

    patient, mother, father, _journey = family
    link = Guardianship.objects.get(patient=patient, guardian=father)
    order = SimpleUploadedFile("order.pdf", b"%PDF-1.4\n")
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
        custody.restrict(link, kind="no_access", reason="court order", by=coordinator_a,
                         document=order)  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        assert followup.sweep()["asked"] == 1
    assert {c.guardian for c in ContactConfirmation.objects.filter(patient=patient)} == {mother}


def test_one_click_on_the_link_confirms_without_a_login(client, family):
    patient, mother, _father, _journey = family
    with time_machine.travel(NOW, tick=False):
        check = followup.request_check(patient, CheckReason.YEARLY)[0]
        followup.mark_at_risk(patient.pk, RiskReason.NO_ANSWER)
        link = reverse("portal:contact_check", args=[followup.confirmation_token(check)])
        page = client.get(link)
        assert page.status_code == 200 and check.guardian.email in page.text
        assert "no-store" in page["Cache-Control"]
        check.refresh_from_db()
        assert check.answered_at is None  # a GET (a mail scanner) changes nothing
        assert client.post(link).status_code == 200
    check.refresh_from_db()
    assert check.answered_at == NOW
    assert open_marks(patient) == set()


def test_a_forged_link_is_404_and_an_old_one_410(client, family):
    patient = family[0]
    with time_machine.travel(NOW, tick=False):
        check = followup.request_check(patient, CheckReason.YEARLY)[0]
        token = followup.confirmation_token(check)
    assert client.get(reverse("portal:contact_check", args=[token + "x"])).status_code == 404
    later = NOW + dt.timedelta(days=followup.LINK_DAYS + 1)
    with time_machine.travel(later, tick=False):
        response = client.post(reverse("portal:contact_check", args=[token]))
    assert response.status_code == 410
    check.refresh_from_db()
    assert check.answered_at is None


def test_the_check_email_carries_the_link_and_no_health_information(family):
    patient, mother, _father, journey = family
    journey.therapy = f.TherapyFactory(name="Genomax")
    journey.save()
    with time_machine.travel(NOW, tick=False):
        checks = followup.request_check(patient, CheckReason.YEARLY)
        assert notify.reconcile_checks().created == 2
        assert notify.reconcile_checks().created == 0
        dispatch.dispatch_due()
    assert len(mail.outbox) == 2
    message = next(m for m in mail.outbox if m.to == [mother.email])
    check = next(c for c in checks if c.guardian == mother)
    token = re.search(r"/portal/contact/([^/\s]+)/", message.body)[1]
    with time_machine.travel(NOW, tick=False):
        assert followup.check_from_token(token) == check
    assert "Genomax" not in message.body and "Zubiri" not in message.body


def test_an_answered_check_has_its_unsent_email_cancelled(family):
    patient = family[0]
    with time_machine.travel(NOW - dt.timedelta(hours=10), tick=False):
        checks = followup.request_check(patient, CheckReason.YEARLY)
        notify.reconcile_checks()
        for check in checks:
            followup.confirm(check)
        counts = notify.reconcile_checks()
    assert counts.cancelled == 2


# ---- at risk, for each reason ----


def test_no_answer_by_the_day_marks_the_child_at_risk_once(family):
    patient = family[0]
    with time_machine.travel(NOW, tick=False):
        followup.request_check(patient, CheckReason.YEARLY)
    later = NOW + dt.timedelta(days=followup.ANSWER_DAYS + 1)
    with time_machine.travel(later, tick=False):
        assert followup.sweep()["marked"] == 1
        assert followup.sweep()["marked"] == 0
    mark = FollowUpRisk.objects.get(patient=patient)
    assert mark.reason == RiskReason.NO_ANSWER and "no answer since" in mark.detail


def test_a_bounce_marks_the_child_and_asks_again(family):
    patient, mother, _father, journey = family
    Reminder.objects.create(
        key="bounce", kind=Kind.STAGE_CHANGED, guardian=mother, center=patient.center,
        patient=patient, journey=journey, due_on=NOW.date(), send_at=NOW,
        time_zone="UTC", status=Status.FAILED,
    )  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        assert notify.watch_families() == 1
        assert notify.watch_families() == 0
    assert open_marks(patient) == {RiskReason.BOUNCED}
    assert set(ContactConfirmation.objects.values_list("reason", flat=True)) == {"bounced"}


def test_a_family_reached_since_the_bounce_is_not_marked_again(family):
    patient, mother, _father, journey = family
    with time_machine.travel(NOW, tick=False):
        Reminder.objects.create(
            key="bounce", kind=Kind.STAGE_CHANGED, guardian=mother, center=patient.center,
            patient=patient, journey=journey, due_on=NOW.date(), send_at=NOW,
            time_zone="UTC", status=Status.FAILED,
        )  # fmt: skip
        assert notify.watch_families() == 1
    check = ContactConfirmation.objects.get(guardian=mother)
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        followup.confirm(check)
        assert notify.watch_families() == 0
    assert open_marks(patient) == set()


def test_three_nudges_unanswered_mark_the_child(family):
    patient, mother, _father, journey = family
    for i in range(3):
        lab = fn.LabFactory(item__plan=plan_of(journey), journey=journey)
        Reminder.objects.create(
            key=f"nudge{i}", kind=Kind.OVERDUE_NUDGE, guardian=mother, center=patient.center,
            patient=patient, journey=journey, scheduled_lab=lab, due_on=NOW.date(),
            send_at=NOW, sent_at=NOW, time_zone="UTC", status=Status.SENT,
        )  # fmt: skip
        with time_machine.travel(NOW, tick=False):
            notify.watch_families()
        assert bool(open_marks(patient)) is (i == 2)
    assert open_marks(patient) == {RiskReason.UNANSWERED}


def test_a_missed_yearly_window_marks_the_child(family):
    patient, _mother, _father, journey = family
    visit(journey, 1, done_on=DAY0.replace(year=2025))
    visit(journey, 2)  # due 2026-03-01, window closes 2026-04-30
    assert tracker_followup.mark_missed_visits(dt.date(2026, 4, 30)) == 0
    assert tracker_followup.mark_missed_visits(dt.date(2026, 5, 1)) == 1
    mark = FollowUpRisk.objects.get(patient=patient)
    assert mark.reason == RiskReason.MISSED_VISIT and "year 2" in mark.detail


def test_the_worklist_lists_the_centers_marks_with_their_reason(
    client, family, coordinator_a, center_b
):
    patient = family[0]
    followup.mark_at_risk(patient.pk, RiskReason.MISSED_VISIT, "year 2 visit")
    other = f.PatientFactory(center=center_b)
    followup.mark_at_risk(other.pk, RiskReason.BOUNCED)
    section = tracker_followup.at_risk(coordinator_a)
    assert [(r.patient, r.reason) for r in section.rows] == [(patient, RiskReason.MISSED_VISIT)]
    otp_login(client, coordinator_a)
    page = client.get(reverse("admin:tracker_worklist_changelist") + "?at-risk=all").text
    assert "At risk of loss to follow-up" in page and "Missed a yearly visit window" in page
    assert str(other) not in page


# ---- the report ----


def test_the_report_counts_by_year_since_infusion(client, family, coordinator_a, center_a):
    patient, _mother, _father, journey = family
    visit(journey, 1, done_on=dt.date(2025, 3, 20))  # in its window
    visit(journey, 2, done_on=dt.date(2026, 6, 1))  # too late: not counted
    followup.mark_at_risk(patient.pk, RiskReason.MISSED_VISIT)
    gone = f.JourneyFactory(
        patient=f.PatientFactory(center=center_a), center=center_a, stage=Stage.WITHDRAWN,
        infusion_date=dt.date(2025, 1, 1), closed_at=NOW,
    )  # fmt: skip
    assert gone.pk
    rows = tracker_followup.report(center_a, dt.date(2026, 7, 1))
    table = {r.year: (r.in_window, r.at_risk, r.lost) for r in rows}
    assert table == {1: (1, 0, 0), 2: (0, 0, 1), 3: (0, 1, 0)}
    otp_login(client, coordinator_a)
    page_url = reverse("admin:tracker_follow_up_report", args=[center_a.public_id])
    page = client.get(page_url)
    assert page.status_code == 200 and "<svg" in page.text and "Year 3" in page.text
    csv_text = client.get(page_url + "?format=csv").content.decode()
    assert csv_text.splitlines()[0] == "year_since_infusion,visit_in_window,at_risk,lost"
    assert "1,1,0,0" in csv_text.splitlines()


def test_the_report_costs_the_same_queries_for_2_or_12_children(center_a):
    def child(i):
        patient = f.PatientFactory(center=center_a)
        journey = f.JourneyFactory(
            patient=patient, center=center_a, stage=Stage.FOLLOW_UP, infusion_date=DAY0
        )
        visit(journey, 1, done_on=dt.date(2025, 3, 1))
        followup.mark_at_risk(patient.pk, RiskReason.NO_ANSWER)

    counts = []
    for n in (2, 10):
        for i in range(n):
            child(i)
        with CaptureQueriesContext(connection) as queries:
            tracker_followup.report(center_a, dt.date(2026, 7, 1))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_another_centers_coordinator_gets_404_on_the_report(client, center_a, center_b):
    otp_login(client, f.CoordinatorFactory(center=center_b))
    url = reverse("admin:tracker_follow_up_report", args=[center_a.public_id])
    assert client.get(url).status_code == 404
    assert client.get(url + "?format=csv").status_code == 404


def test_marking_uses_the_clock(family):
    assert timezone.now()  # the marks carry the sweep's instant
    with time_machine.travel(NOW, tick=False):
        mark = followup.mark_at_risk(family[0].pk, RiskReason.BOUNCED)
    assert mark.marked_at == NOW
