"""Label changes never rewrite a child's plan silently: the coordinator applies or keeps them.

GIVEN a child whose plan was drawn from a therapy's label schedule
WHEN  the label's schedule changes (catalogue update or an administrator's edit)
THEN  the plan stays as it was (a day 0 move included) until the coordinator reviews it on
      the worklist: "apply" draws a new plan version from the new label (done and missed rows
      untouched), "keep" records why the old plan stays.
"""

import copy
import datetime as dt

import pytest
from django.test import TestCase

from journey.models import Therapy
from tests import factories_tracker as ft
from tracker.models import ScheduledLab

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
