"""Recording results: matching draws, completion, corrections, review, signals."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests import factories_tracker as ft
from tracker import services, signals
from tracker.models import LabResult, ScheduledLab, Status

D0 = dt.date(2026, 1, 5)
pytestmark = pytest.mark.django_db


def at(day, hour=9):
    return timezone.make_aware(dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(hour)))


LIVER = [
    ("ALT", "20", "U/L"),
    ("AST", "30", "U/L"),
    ("TBIL", "0.4", "mg/dL"),
    ("INR", "1", "ratio"),
]


def test_results_link_to_the_draw_in_window_and_complete_it(coordinator_a):
    j = ft.planned_journey(D0)
    results = services.record_results(j, at(8), LIVER[:2], by=coordinator_a, now=at(8))
    lab = ScheduledLab.objects.get(journey=j, item__code="liver-panel", sequence=1)
    assert {r.scheduled_lab for r in results} == {lab}
    assert lab.status(D0 + dt.timedelta(days=8)) == Status.DUE  # two of four tests so far
    services.record_results(j, at(9), LIVER[2:], by=coordinator_a, now=at(9))
    lab.refresh_from_db()
    assert (lab.status(), lab.done_by, lab.done_at) == (Status.DONE, coordinator_a, at(9))


def test_a_result_outside_every_window_is_an_extra_draw():
    j = ft.planned_journey(D0)
    (result,) = services.record_results(j, at(33), [("PLT", "200", "10^9/L")], by=None, now=at(33))
    assert result.scheduled_lab is None


def test_one_bad_row_saves_nothing_and_names_the_test():
    j = ft.planned_journey(D0)
    rows = [("ALT", "20", "U/L"), ("PLT", "lots", "10^9/L"), ("TBIL", "1", "g/L")]
    with pytest.raises(ValidationError) as exc:
        services.record_results(j, at(7), rows, by=None, now=at(7))
    assert set(exc.value.message_dict) == {"PLT", "TBIL"}
    assert not LabResult.objects.exists()


def test_collection_in_the_future_is_refused():
    j = ft.planned_journey(D0)
    with pytest.raises(ValidationError) as exc:
        services.record_results(j, at(7), [("PLT", "200", "10^9/L")], by=None, now=at(6))
    assert "collected_at" in exc.value.message_dict


def test_correction_supersedes_and_keeps_the_old_row(coordinator_a):
    j = ft.planned_journey(D0)
    (old,) = services.record_results(j, at(7), [("PLT", "40", "10^9/L")], by=None, now=at(7))
    assert old.flag == "critical_low"
    new = services.correct_result(old, "140", "10^9/L", by=coordinator_a, reason="typo", now=at(8))
    old.refresh_from_db()
    assert (old.superseded_at, old.value, new.supersedes) == (at(8), 40, old)
    assert (new.flag, new.correction_reason, new.scheduled_lab) == (
        "low",
        "typo",
        old.scheduled_lab,
    )
    assert list(LabResult.objects.current()) == [new]
    with pytest.raises(ValidationError):
        services.correct_result(old, "150", "10^9/L", by=coordinator_a, reason="again")


def test_review_records_who_when_and_note(coordinator_a):
    j = ft.planned_journey(D0)
    (result,) = services.record_results(j, at(7), [("PLT", "120", "10^9/L")], by=None, now=at(7))
    assert list(LabResult.objects.awaiting_review()) == [result]
    with pytest.raises(ValidationError):
        services.review_result(result, by=coordinator_a, note=" ")
    services.review_result(result, by=coordinator_a, note="repeat next week", now=at(8))
    assert (result.reviewed_by, result.reviewed_at) == (coordinator_a, at(8))
    assert not LabResult.objects.awaiting_review().exists()
    with pytest.raises(ValidationError):
        services.review_result(result, by=coordinator_a, note="twice")


def test_critical_results_are_announced_after_commit(django_capture_on_commit_callbacks):
    j = ft.planned_journey(D0)
    heard = []

    def listener(**kwargs):
        heard.append(kwargs["critical_ids"])

    signals.results_recorded.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            (r,) = services.record_results(j, at(7), [("PLT", "30", "/uL")], by=None, now=at(7))
    finally:
        signals.results_recorded.disconnect(listener)
    assert r.value == Decimal("0.03")  # 30 /uL is 0.03 x 10^9/L: critical low
    assert heard == [[r.pk]]


def test_visit_done_and_missed_record_who_and_why(coordinator_a):
    j = ft.planned_journey(D0)
    visit = ScheduledLab.objects.get(journey=j, item__code="steroid-taper")
    services.complete_visit(visit, by=coordinator_a, now=at(30))
    visit.refresh_from_db()
    assert (visit.status(), visit.done_by) == (Status.DONE, coordinator_a)
    lab = ScheduledLab.objects.get(journey=j, item__code="troponin", sequence=2)
    with pytest.raises(ValidationError):
        services.mark_missed(lab, by=coordinator_a, reason="")
    services.mark_missed(lab, by=coordinator_a, reason="vomiting, could not draw")
    lab.refresh_from_db()
    assert (lab.status(), lab.missed_by, lab.missed_reason) == (
        Status.MISSED,
        coordinator_a,
        "vomiting, could not draw",
    )
    with pytest.raises(ValidationError):
        services.mark_missed(lab, by=coordinator_a, reason="again")
