"""Label changes never rewrite a child's plan silently: the coordinator applies or keeps them.

GIVEN a child whose plan was drawn from a therapy's label schedule
WHEN  the label's schedule changes (catalogue update or an administrator's edit)
THEN  the plan stays as it was (a day 0 move included) until the coordinator reviews it on
      the worklist: "apply" draws a new plan version from the new label (done and missed rows
      untouched), "keep" records why the old plan stays.
"""

import copy
import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import TestCase

from audit.models import AuditRecord
from journey import catalogue
from journey.models import Stage, Therapy
from tests import factories_tracker as ft
from tracker import services
from tracker.models import MonitoringPlan, PlanReview, ReviewStatus, ScheduledLab
from tracker.services import label_review

D0 = dt.date(2026, 1, 5)
pytestmark = pytest.mark.django_db


def _dues(journey, code):
    labs = ScheduledLab.objects.filter(journey=journey, item__code=code, cancelled_at__isnull=True)
    return [lab.due_on for lab in labs.order_by("sequence")]


def _edit_label(therapy, change):
    """Edit the therapy's schedule the way the admin or the loader does (a save), committed."""
    schedule = copy.deepcopy(therapy.monitoring_schedule)
    change(schedule)
    therapy.monitoring_schedule = schedule
    with TestCase.captureOnCommitCallbacks(execute=True):
        therapy.save()
    return therapy


def _weekly_troponin_to_day_56(schedule):
    troponin = next(item for item in schedule if item["code"] == "troponin")
    troponin["segments"] = [{"every_days": 7, "first_day": 7, "last_day": 56, "window_days": 2}]


def test_a_day0_move_after_a_label_edit_does_not_pull_in_the_new_label(coordinator_a):
    journey = ft.planned_journey(D0)
    before = _dues(journey, "troponin")
    _edit_label(Therapy.objects.get(pk=journey.therapy_id), _weekly_troponin_to_day_56)
    with TestCase.captureOnCommitCallbacks(execute=True):
        ft.set_day0(journey, D0 + dt.timedelta(days=7), by=coordinator_a)
    assert _dues(journey, "troponin") == [d + dt.timedelta(days=7) for d in before]


# ---------------------------------------------------------------- helpers for the rest

NEW_LABEL = dt.date(2026, 3, 1)


def _relabel(therapy, change=_weekly_troponin_to_day_56, as_of=NEW_LABEL):
    therapy = Therapy.objects.get(pk=therapy.pk)
    therapy.label_as_of = as_of
    return _edit_label(therapy, change)


def _pending(journey):
    return PlanReview.objects.get(journey=journey, status=ReviewStatus.PENDING)


def _plan(journey):
    return MonitoringPlan.objects.get(journey=journey)


def _versions(journey):
    return list(_plan(journey).versions.order_by("number").values_list("reason", flat=True))


def _changed_file(monkeypatch, slug, change):
    """journey.catalogue.read() as if therapies.json had `change` for `slug`."""
    real = catalogue.read

    def read(name):
        rows = real(name)
        if name == "therapies.json":
            for row in rows:
                if row["slug"] == slug:
                    change(row)
        return rows

    monkeypatch.setattr(catalogue, "read", read)


# ---------------------------------------------------------------- opening reviews


def test_a_label_edit_opens_one_review_per_open_plan_and_changes_no_plan():
    journey = ft.planned_journey(D0)
    other = ft.planned_journey(D0)  # another therapy: untouched
    closed = ft.planned_journey(D0)
    closed.therapy = journey.therapy
    closed.stage = Stage.CLOSED
    closed.save()
    rows_before = list(ScheduledLab.objects.filter(journey=journey).values_list("due_on"))
    _relabel(journey.therapy)
    review = _pending(journey)
    assert review.label_as_of == NEW_LABEL and review.plan == _plan(journey)
    assert not PlanReview.objects.filter(journey__in=[other, closed]).exists()
    assert list(ScheduledLab.objects.filter(journey=journey).values_list("due_on")) == rows_before
    assert _plan(journey).label_as_of == dt.date(2025, 1, 1)  # still the old copy


def test_a_second_label_change_updates_the_pending_review_never_two():
    journey = ft.planned_journey(D0)
    _relabel(journey.therapy)
    first = _pending(journey)

    def monthly_troponin(schedule):
        troponin = next(item for item in schedule if item["code"] == "troponin")
        troponin["segments"] = [{"every_months": 1, "first_month": 1, "last_month": 3}]
        troponin["segments"][0]["window_days"] = 7

    _relabel(journey.therapy, monthly_troponin, as_of=dt.date(2026, 4, 1))
    second = _pending(journey)
    assert second.pk == first.pk and second.label_as_of == dt.date(2026, 4, 1)
    assert PlanReview.objects.filter(journey=journey).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanReview.objects.create(
            plan=second.plan,
            journey=journey,
            therapy=second.therapy,
            label_as_of=NEW_LABEL,
            proposed_digest="x",
        )


def test_a_label_that_goes_back_closes_the_pending_review():
    journey = ft.planned_journey(D0)
    original = copy.deepcopy(Therapy.objects.get(pk=journey.therapy_id).monitoring_schedule)
    _relabel(journey.therapy)
    _relabel(journey.therapy, lambda schedule: schedule.__setitem__(slice(None), original))
    review = PlanReview.objects.get(journey=journey)
    assert review.status == ReviewStatus.KEPT and "went back" in review.reason


def test_load_catalogue_update_prints_the_changes_and_the_open_journeys(monkeypatch):
    journey = ft.planned_journey(D0)
    zolgensma = Therapy.objects.get(slug="zolgensma")
    journey.therapy = zolgensma
    journey.save()
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.generate_plan(journey, reason="switch to the catalogue's Zolgensma")

    def new_label(row):
        row["label_as_of"] = "2026-03-01"
        _weekly_troponin_to_day_56(row["monitoring_schedule"])
        row["monitoring_schedule"].append({**row["monitoring_schedule"][-1], "code": "echo"})

    _changed_file(monkeypatch, "zolgensma", new_label)
    out = io.StringIO()
    call_command("load_catalogue", "--update", stdout=out)
    text = out.getvalue()
    assert "Zolgensma (zolgensma): changed label_as_of, monitoring_schedule" in text
    assert "schedule items added: echo" in text
    assert "schedule items changed: troponin" in text
    assert "open journeys with a plan on this therapy: 1" in text
    assert _pending(journey).label_as_of == NEW_LABEL
    # Run again: nothing changed, nothing printed, still one review.
    out = io.StringIO()
    call_command("load_catalogue", "--update", stdout=out)
    assert "changed" not in out.getvalue()
    assert PlanReview.objects.filter(journey=journey).count() == 1


# ---------------------------------------------------------------- apply and keep


def test_apply_draws_a_new_version_and_keeps_done_and_missed_rows(coordinator_a):
    journey = ft.planned_journey(D0)
    troponin = ScheduledLab.objects.filter(journey=journey, item__code="troponin")
    done, missed = troponin.get(sequence=1), troponin.get(sequence=2)
    services.complete_visit(done, by=coordinator_a)
    services.mark_missed(missed, by=coordinator_a, reason="sick")
    _relabel(journey.therapy)
    review = _pending(journey)
    assert label_review.dry_run(review) == {
        "items_added": [],
        "items_changed": ["troponin"],
        "items_removed": [],
        "added": 2,  # draws 7 and 8: days 49 and 56
        "moved": 2,  # draws 5 and 6: days 60 and 90 -> 35 and 42
        "cancelled": 0,
    }
    label_review.apply_review(review, by=coordinator_a)
    review.refresh_from_db()
    assert review.status == ReviewStatus.APPLIED and review.decided_by == coordinator_a
    assert _versions(journey)[-1] == "Label update of 2026-03-01 applied"
    assert review.version.number == 2
    assert _dues(journey, "troponin") == [D0 + dt.timedelta(days=n) for n in range(7, 57, 7)]
    done.refresh_from_db()
    missed.refresh_from_db()
    assert done.done_at and done.due_on == D0 + dt.timedelta(days=7)
    assert missed.missed_at and missed.due_on == D0 + dt.timedelta(days=14)
    plan = _plan(journey)
    assert plan.label_as_of == NEW_LABEL
    assert plan.schedule == Therapy.objects.get(pk=journey.therapy_id).monitoring_schedule
    with pytest.raises(ValidationError):
        label_review.apply_review(review, by=coordinator_a)  # decided once


def test_keep_needs_a_reason_and_leaves_the_plan(coordinator_a):
    journey = ft.planned_journey(D0)
    before = _dues(journey, "troponin")
    _relabel(journey.therapy)
    review = _pending(journey)
    with pytest.raises(ValidationError) as error:
        label_review.keep_plan(review, by=coordinator_a, reason="  ")
    assert "reason" in error.value.message_dict
    label_review.keep_plan(review, by=coordinator_a, reason="cardiology follows her")
    review.refresh_from_db()
    assert review.status == ReviewStatus.KEPT and review.reason == "cardiology follows her"
    assert _dues(journey, "troponin") == before and _versions(journey) == ["test"]
    # The same label saved again (a loader re-run) does not reopen it.
    _edit_label(Therapy.objects.get(pk=journey.therapy_id), lambda schedule: None)
    assert not PlanReview.objects.filter(journey=journey, status=ReviewStatus.PENDING).exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanReview.objects.filter(pk=review.pk).update(reason="")


def test_the_decision_is_in_the_audit_trail(coordinator_a):
    journey = ft.planned_journey(D0)
    _relabel(journey.therapy)
    label_review.keep_plan(_pending(journey), by=coordinator_a, reason="cardiology follows her")
    record = AuditRecord.objects.filter(content_type__model="planreview").latest("timestamp")
    assert record.reason == "cardiology follows her"
    assert record.patient_id == journey.patient_id
    assert record.changes["status"] == ["pending", "kept"]
    # Who decided: the request's user through the admin (test_the_review_page_...).
