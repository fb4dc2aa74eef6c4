"""Few, useful emails: one per draw, one per burst of stage moves, only future sends listed,
and plain text that is not HTML-escaped."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from journey.models import Stage, StageChange
from notifications import emails, services
from notifications import planning as p
from notifications.models import Kind, Reminder, Status
from tests.factories_notifications import Family

NOW = dt.datetime(2025, 3, 8, 12, tzinfo=dt.UTC)
NY = "America/New_York"


@pytest.fixture
def family(db):
    return Family()


def _pending(kind, **filters):
    return Reminder.objects.filter(kind=kind, status=Status.PENDING, **filters)


# ---- one email per draw, never one per test ----


def test_three_tests_due_the_same_day_give_one_reminder_per_guardian(family):
    """GIVEN a draw of three tests (liver panel, platelets, troponin) due on one day
    WHEN the sweep plans THEN each guardian gets one reminder for the draw, not three."""
    for _ in range(3):
        family.lab(dt.date(2025, 3, 10))
    family.lab(dt.date(2025, 3, 12))  # another draw
    with time_machine.travel(NOW, tick=False):
        services.reconcile([family.patient.pk])
    rows = _pending(Kind.LAB_REMINDER)
    assert sorted((r.guardian_id, r.due_on) for r in rows) == sorted(
        (g.pk, day)
        for g in (family.mother, family.father)
        for day in (dt.date(2025, 3, 10), dt.date(2025, 3, 12))
    )


def test_an_overdue_draw_climbs_one_ladder_not_one_per_test(family):
    """GIVEN an overdue draw of three tests THEN one nudge per rung, one coordinator email."""
    for _ in range(3):
        family.lab(dt.date(2025, 3, 5))
    with time_machine.travel(NOW, tick=False):
        services.reconcile([family.patient.pk])
    ladder = sorted(
        Reminder.objects.filter(rung__gt=0).values_list("rung", "kind", "guardian", "user")
    )
    assert ladder == [
        (1, Kind.OVERDUE_NUDGE, family.mother.pk, None),
        (2, Kind.OVERDUE_NUDGE, family.mother.pk, None),
        (3, Kind.OVERDUE_OTHER_GUARDIAN, family.father.pk, None),
        (4, Kind.OVERDUE_COORDINATOR, None, family.coordinator.pk),
    ]


def test_the_draw_reminder_follows_the_draw_when_one_test_is_done(family):
    """GIVEN a draw of two tests WHEN the test the reminder points at is done but the other is
    not THEN the same reminder stays pending and now points at the open test."""
    first = family.lab(dt.date(2025, 3, 10))
    second = family.lab(dt.date(2025, 3, 10))
    with time_machine.travel(NOW, tick=False):
        services.reconcile([family.patient.pk])
        row = _pending(Kind.LAB_REMINDER, guardian=family.mother).get()
        done = first if row.scheduled_lab_id == first.pk else second
        done.done_at = timezone.now()
        done.save()
        services.reconcile([family.patient.pk])
    again = _pending(Kind.LAB_REMINDER, guardian=family.mother).get()
    assert again.pk == row.pk
    assert again.scheduled_lab_id == ({first.pk, second.pk} - {done.pk}).pop()


def test_a_draw_whose_windows_differ_is_overdue_when_the_last_window_closes():
    lab = p.Lab(5, dt.date(2025, 3, 4), dt.date(2025, 3, 6))
    wide = p.Lab(6, dt.date(2025, 3, 4), dt.date(2025, 3, 7))
    plan = p.plan_patient(
        p.PatientInputs(1, 1, 1, guardians=[p.Recipient("g", 10, NY, primary=True)],
                        labs=[lab, wide]),
        NOW,
    )  # fmt: skip
    [nudge] = [d for d in plan if d.rung == 1]
    assert (nudge.due_on, nudge.scheduled_lab_id) == (dt.date(2025, 3, 8), 6)


def test_rows_keyed_per_test_before_the_change_are_not_sent_again(family):
    """GIVEN a reminder sent under the old per-test key WHEN the rows are re-keyed per draw
    (the migration) and the sweep plans THEN no second email for the same draw is planned."""
    from notifications.rekey import rekey_per_draw

    first = family.lab(dt.date(2025, 3, 10))
    family.lab(dt.date(2025, 3, 10))
    sent = Reminder.objects.create(
        key=f"g{family.mother.pk}:lab_reminder:lab{first.pk}:2025-03-10",
        kind=Kind.LAB_REMINDER,
        guardian=family.mother,
        center=family.center,
        patient=family.patient,
        journey=family.journey,
        scheduled_lab=first,
        due_on=dt.date(2025, 3, 10),
        send_at=NOW,
        sent_at=NOW,
        status=Status.SENT,
        time_zone=NY,
    )
    rekey_per_draw(Reminder, Reminder.objects.all())
    with time_machine.travel(NOW, tick=False):
        services.reconcile([family.patient.pk])
    mine = Reminder.objects.filter(kind=Kind.LAB_REMINDER, guardian=family.mother)
    assert [(r.pk, r.status) for r in mine] == [(sent.pk, Status.SENT)]


# ---- stage moves: one email per burst, none for history ----


def _move(journey, stage, at):
    """A stage move as journey.services records it (moved_at = the instant given)."""
    return StageChange.objects.create(journey=journey, to_stage=stage, moved_at=at, reason="t")


def _stage_notes(guardian):
    return list(
        Reminder.objects.filter(kind=Kind.STAGE_CHANGED, guardian=guardian)
        .exclude(status=Status.CANCELLED)
        .values_list("key", flat=True)
    )


def test_a_burst_of_stage_moves_gives_one_email_about_the_latest(family):
    """GIVEN a coordinator back-filling three stages a minute apart THEN each guardian has one
    stage email planned, about the last move, sent after the burst settles."""
    moves = [Stage.INFUSION_SCHEDULED, Stage.INFUSION, Stage.MONITORING]
    for i, stage in enumerate(moves):
        at = NOW + dt.timedelta(minutes=i)
        with time_machine.travel(at, tick=False):
            last = _move(family.journey, stage, at)
            services.reconcile([family.patient.pk])
    assert _stage_notes(family.mother) == [
        f"g{family.mother.pk}:stage_changed:stage{last.pk}:2025-03-08"
    ]
    row = Reminder.objects.get(key=_stage_notes(family.mother)[0])
    assert row.send_at == last.moved_at + p.SETTLE


def test_stage_moves_recorded_as_already_past_give_no_email(family):
    """GIVEN moves recorded with a time hours or days ago (history being entered)
    WHEN the sweep plans now THEN no stage email."""
    with time_machine.travel(NOW, tick=False):
        _move(family.journey, Stage.INFUSION, NOW - dt.timedelta(days=3))
        _move(family.journey, Stage.MONITORING, NOW - dt.timedelta(hours=3))
        services.reconcile([family.patient.pk])
    assert _stage_notes(family.mother) == []


def test_a_planned_stage_email_is_kept_through_a_long_snooze(family):
    """GIVEN a stage email planned at once but held by a snooze WHEN the sweep runs hours later
    THEN it is still planned (only moves first seen late are history)."""
    services.snooze(family.mother, family.patient, 1, now=NOW)
    with time_machine.travel(NOW, tick=False):
        _move(family.journey, Stage.MONITORING, NOW)
        services.reconcile([family.patient.pk])
    with time_machine.travel(NOW + dt.timedelta(hours=5), tick=False):
        services.reconcile([family.patient.pk])
    assert len(_stage_notes(family.mother)) == 1
    assert _pending(Kind.STAGE_CHANGED, guardian=family.mother).count() == 1


# ---- "Emails coming up": future sends only ----


def test_emails_coming_up_lists_only_future_sends(family):
    family.lab(dt.date(2025, 3, 10))
    _move(family.journey, Stage.MONITORING, NOW)
    with time_machine.travel(NOW, tick=False):
        services.reconcile([family.patient.pk])
    Reminder.objects.filter(kind=Kind.LAB_REMINDER).update(send_at=NOW - dt.timedelta(hours=1))
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        upcoming = services.upcoming_for(family.mother, family.patient)
    assert upcoming and all(r.send_at > NOW for r in upcoming)
    assert Kind.LAB_REMINDER not in {r.kind for r in upcoming}


# ---- plain text is plain ----

AWKWARD = "Róisín O'Brien & <b>Co</b>"


@pytest.mark.parametrize("kind", [Kind.LAB_REMINDER, Kind.OVERDUE_COORDINATOR, Kind.DAILY_DIGEST])
def test_plain_text_and_subject_are_not_html_escaped(family, kind):
    """GIVEN a child and a center named O'Brien & <b> THEN the subject and the text part show
    the names as typed, and only the HTML part escapes them."""
    lab = family.lab(dt.date(2025, 3, 10))
    family.patient.first_name = AWKWARD
    family.center.name = f"{AWKWARD} Hospital"
    guardian = family.mother if kind == Kind.LAB_REMINDER else None
    row = Reminder(
        key="k",
        kind=kind,
        guardian=guardian,
        user=None if guardian else family.coordinator,
        center=family.center,
        patient=family.patient,
        journey=family.journey,
        scheduled_lab=lab,
        due_on=dt.date(2025, 3, 10),
        rung=4,
        send_at=NOW,
        time_zone=NY,
    )
    message = emails.build(row, digest={"overdue": 1})
    html = message.alternatives[0][0]
    for text in (message.subject, message.body):
        assert "&amp;" not in text and "&#x27;" not in text and "&lt;" not in text
    assert AWKWARD in message.subject + message.body
    assert AWKWARD not in html and "O&#x27;Brien &amp; &lt;b&gt;Co&lt;/b&gt;" in html


def test_an_escalated_draw_stays_on_the_worklist_while_any_of_its_tests_is_open(family):
    """GIVEN the coordinator's one email about an overdue draw of two tests WHEN the test it
    points at is done THEN the other, still open, is listed as escalated (one draw, one list)."""
    first = family.lab(dt.date(2025, 3, 1))
    second = family.lab(dt.date(2025, 3, 1))
    with time_machine.travel(NOW, tick=False):
        services.reconcile([family.patient.pk])
    row = Reminder.objects.get(kind=Kind.OVERDUE_COORDINATOR)
    Reminder.objects.filter(pk=row.pk).update(status=Status.SENT, sent_at=NOW)
    centers = [family.center.pk]
    assert set(services.escalated_labs_for_centers(centers)) == {first, second}
    pointed = first if row.scheduled_lab_id == first.pk else second
    pointed.done_at = NOW
    pointed.save()
    assert list(services.escalated_labs_for_centers(centers)) == [
        second if pointed == first else first
    ]


# ---- the demo's emails go to the log at INFO ----


def test_without_email_url_each_email_is_one_info_line_in_the_log(db, settings, caplog):
    """GIVEN no EMAIL_URL (the demo) THEN the mail backend is the log one, and dispatch writes
    each email as an INFO record: recipient, subject, text."""
    import logging
    import os
    import subprocess
    import sys

    from notifications import dispatch
    from tests.factories_notifications import due_reminders

    env = {k: v for k, v in os.environ.items() if k != "EMAIL_URL"}
    code = "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    shown = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert shown.strip().endswith("notifications.mail.LogBackend")
    settings.EMAIL_BACKEND = "notifications.mail.LogBackend"
    family = due_reminders(1)
    with caplog.at_level(logging.INFO, logger="notifications.mail"):
        dispatch.dispatch_due()
    [record] = [r for r in caplog.records if r.name == "notifications.mail"]
    assert record.levelno == logging.INFO
    assert family.mother.email in record.getMessage()
    assert "News about Mia's journey" in record.getMessage()
