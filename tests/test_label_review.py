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
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditRecord
from journey import catalogue
from journey.models import Stage, Therapy
from tests import factories_portal_tracker as fp
from tests import factories_tracker as ft
from tests.conftest import otp_login
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
WORKLIST = reverse("admin:tracker_worklist_changelist")


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


def test_a_label_that_comes_back_again_opens_a_review_again():
    """L0 -> L1 -> L0 -> L1: the system closed the first review (the label went back); no
    one decided against L1, so L1 must be reviewed again, not skipped for good."""
    journey = ft.planned_journey(D0)
    original = copy.deepcopy(Therapy.objects.get(pk=journey.therapy_id).monitoring_schedule)
    _relabel(journey.therapy)
    _relabel(journey.therapy, lambda schedule: schedule.__setitem__(slice(None), original))
    _relabel(journey.therapy)
    assert _pending(journey).status == ReviewStatus.PENDING


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


# ---------------------------------------------------------------- the review page


def _review_url(review):
    return reverse("admin:tracker_label_review", args=[review.pk])


def _text(response):
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))
    return text.replace(" :", ":")


@pytest.fixture
def reviewed(center_a):
    journey = ft.planned_journey(D0, center=center_a)
    _relabel(journey.therapy)
    return journey, _pending(journey)


def test_the_review_page_shows_both_plans_item_by_item_and_the_effect(
    client, coordinator_a, reviewed
):
    _journey, review = reviewed
    otp_login(client, coordinator_a)
    text = _text(client.get(_review_url(review)))
    assert "Heart test (troponin) (TNI) days 7, 14, 21, 28 (+/- 2 days); days 60, 90" in text
    assert "every 7 days 7-56 (+/- 2 days)" in text
    assert "Liver tests (ALT, AST, TBIL, INR) days 7, 14, 21, 28 (+/- 2 days); " in text
    assert "every 14 days 42-84 (+/- 3 days)" in text
    assert "Exit rule: ALT, AST: until below 2 x the upper limit" in text
    assert "Applying adds 2 dates, moves 2 and cancels 0." in text
    assert text.count(" changed ") == 1 and "before the infusion" in text


def test_another_centers_coordinator_gets_404(client, coordinator_b, reviewed):
    _journey, review = reviewed
    otp_login(client, coordinator_b)
    assert client.get(_review_url(review)).status_code == 404
    assert client.post(_review_url(review), {"action": "apply"}).status_code == 404
    assert _pending(review.journey)


def test_apply_from_the_page(client, coordinator_a, reviewed):
    journey, review = reviewed
    otp_login(client, coordinator_a)
    response = client.post(_review_url(review), {"action": "apply", "reason": "new label"})
    assert response.status_code == 302
    assert _versions(journey)[-1] == "Label update of 2026-03-01 applied: new label"
    record = AuditRecord.objects.filter(content_type__model="planreview").latest("timestamp")
    assert record.actor_id == coordinator_a.pk
    # Decided: the page shows the outcome and no form; a second POST changes nothing.
    text = _text(client.get(_review_url(review)))
    assert "New label applied" in text and "plan version 2" in text
    assert "Keep current plan" not in text
    client.post(_review_url(review), {"action": "apply"})
    assert len(_versions(journey)) == 2


def test_apply_refuses_a_label_that_changed_while_the_page_was_open(
    client, coordinator_a, reviewed
):
    journey, review = reviewed
    otp_login(client, coordinator_a)
    shown = PlanReview.objects.get(pk=review.pk).proposed_digest
    _relabel(journey.therapy, lambda schedule: schedule.pop(), as_of=dt.date(2026, 4, 1))
    assert PlanReview.objects.get(pk=review.pk).proposed_digest != shown

    response = client.post(_review_url(review), {"action": "apply", "shown": shown})

    assert response.status_code == 200
    assert "The label changed while this page was open" in _text(response)
    assert len(_versions(journey)) == 1
    assert _pending(journey).pk == review.pk


def test_keep_without_a_reason_says_so_by_the_field(client, coordinator_a, reviewed):
    journey, review = reviewed
    otp_login(client, coordinator_a)
    response = client.post(_review_url(review), {"action": "keep", "reason": ""})
    assert response.status_code == 200
    assert "Please give a reason" in response.content.decode()
    assert response.context["form"].errors["reason"]
    assert _pending(journey)
    response = client.post(_review_url(review), {"action": "keep", "reason": "cardiology"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.KEPT and review.decided_by == coordinator_a


@pytest.mark.parametrize(
    "data", [{}, {"action": "delete"}, {"action": "keep", "reason": "x" * 2000}]
)
def test_bad_input_is_a_form_error_not_a_500(client, coordinator_a, reviewed, data):
    _journey, review = reviewed
    otp_login(client, coordinator_a)
    assert client.post(_review_url(review), data).status_code == 200
    assert _pending(review.journey)


def test_the_page_needs_the_csrf_token(coordinator_a, reviewed):
    _journey, review = reviewed
    client = Client(enforce_csrf_checks=True)
    otp_login(client, coordinator_a)
    assert client.post(_review_url(review), {"action": "apply"}).status_code == 403
    assert _pending(review.journey)


# ---------------------------------------------------------------- the worklist


def _section(response):
    return next(e.page for e in response.context["sections"] if e.page.key == "label-review")


def test_the_worklist_lists_pending_reviews_of_the_users_centers(
    client, coordinator_a, coordinator_b, reviewed, center_b
):
    journey, review = reviewed
    otp_login(client, coordinator_a)
    response = client.get(WORKLIST)
    page = _section(response)
    assert [r["pk"] for r in page.rows] == [review.pk] and page.count == 1
    assert _review_url(review) in response.content.decode()
    assert "Label changed: review plan (1)" in _text(response)
    otp_login(client, coordinator_b)
    assert _section(client.get(WORKLIST)).count == 0


def _worklist_queries(client):
    client.get(WORKLIST)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(WORKLIST)
    return len(ctx.captured_queries), _section(response).count


def test_the_section_costs_the_same_queries_for_one_review_or_thirty(
    client, coordinator_a, center_a
):
    therapy = ft.therapy()
    first = ft.planned_journey(D0, center=center_a)
    first.therapy = therapy
    first.save()
    Journey = type(first)
    MonitoringPlan.objects.filter(journey=first).update(therapy=therapy)
    _relabel(therapy)
    otp_login(client, coordinator_a)
    one = _worklist_queries(client)
    for _ in range(29):
        journey = ft.planned_journey(D0, center=center_a)
        Journey.objects.filter(pk=journey.pk).update(therapy=therapy)
        MonitoringPlan.objects.filter(journey=journey).update(therapy=therapy)
    _relabel(therapy, as_of=dt.date(2026, 5, 1))
    thirty = _worklist_queries(client)
    assert one[1] == 1 and thirty[1] == 30
    assert thirty[0] == one[0], (one, thirty)


def test_the_worklist_shows_a_review_open_and_close_on_the_next_load(
    client, coordinator_a, center_a
):
    journey = ft.planned_journey(D0, center=center_a)
    otp_login(client, coordinator_a)
    assert _section(client.get(WORKLIST)).count == 0
    _relabel(journey.therapy)
    assert _section(client.get(WORKLIST)).count == 1
    label_review.keep_plan(_pending(journey), by=coordinator_a, reason="kept")
    assert _section(client.get(WORKLIST)).count == 0


# ---------------------------------------------------------------- what the family sees

PORTAL_DAY = dt.datetime(2026, 1, 20, 15, tzinfo=dt.UTC)
OLD_TROPONIN = "then every month until April 5, 2026"
NEW_TROPONIN = "Heart test (troponin-I): every week from Jan. 12, 2026 until March 2, 2026"


@pytest.fixture
def family(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.a@example.org")
    child, journey = fp.child_of(guardian, first_name="Maya")
    return guardian, child, journey


def _family_plan(client, guardian, child):
    client.force_login(guardian.user)
    url = reverse("portal_tracker:plan", kwargs={"public_id": child.public_id})
    with time_machine.travel(PORTAL_DAY, tick=False):
        response = client.get(url)
    assert response.status_code == 200
    return _text(response)


@pytest.mark.urls("tests.urls_portal_tracker")
@pytest.mark.parametrize("decision", ["apply", "keep"])
def test_the_family_plan_changes_only_when_the_coordinator_applies(
    client, coordinator_a, family, decision
):
    guardian, child, journey = family
    before = _family_plan(client, guardian, child)
    assert OLD_TROPONIN in before and NEW_TROPONIN not in before
    _relabel(journey.therapy)
    assert _family_plan(client, guardian, child) == before  # a label edit alone: no change
    review = _pending(journey)
    with TestCase.captureOnCommitCallbacks(execute=True):
        if decision == "apply":
            label_review.apply_review(review, by=coordinator_a)
        else:
            label_review.keep_plan(review, by=coordinator_a, reason="cardiology follows")
    after = _family_plan(client, guardian, child)
    if decision == "apply":
        assert NEW_TROPONIN in after and OLD_TROPONIN not in after
    else:
        assert after == before


@pytest.mark.urls("tests.urls_portal_tracker")
def test_a_day0_move_before_the_review_keeps_the_familys_old_label(client, coordinator_a, family):
    guardian, child, journey = family
    _relabel(journey.therapy)
    with TestCase.captureOnCommitCallbacks(execute=True):
        ft.set_day0(journey, D0 + dt.timedelta(days=1), by=coordinator_a)
    text = _family_plan(client, guardian, child)
    assert "then every month until April 6, 2026" in text  # old label, new day 0
    assert "until March 3, 2026" not in text
    assert _pending(journey)
