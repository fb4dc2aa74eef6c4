"""Factories and label-shaped schedules for the tracker tests."""

import datetime as dt

from journey.services import set_infusion_date
from tests import factories as f
from tracker.services import generate_plan

WEEKLY_M1 = {"days": [7, 14, 21, 28], "window_days": 2}
EOW_M2_3 = {"every_days": 14, "first_day": 42, "last_day": 84, "window_days": 3}
MONTHLY_M2_3 = {"days": [60, 90], "window_days": 7}
WEEKLY_4M = {"every_days": 7, "first_day": 7, "last_day": 119, "window_days": 2}

ZOLGENSMA_SCHEDULE = [
    {
        "code": "baseline-labs",
        "kind": "lab",
        "title": "Blood tests before the infusion",
        "tests": ["ALT", "AST", "TBIL", "INR", "CREAT", "PLT", "TNI"],
        "baseline": True,
        "segments": [],
    },
    {
        "code": "liver-panel",
        "kind": "lab",
        "title": "Liver tests",
        "tests": ["ALT", "AST", "TBIL", "INR"],
        "segments": [WEEKLY_M1, EOW_M2_3],
        "continue_until_normal": {"tests": ["ALT", "AST"], "rule": "below_x_uln", "value": 2},
    },
    {
        "code": "platelets",
        "kind": "lab",
        "title": "Platelet count",
        "tests": ["PLT"],
        "segments": [WEEKLY_M1, EOW_M2_3],
        "continue_until_normal": {"tests": ["PLT"], "rule": "within_range"},
    },
    {
        "code": "troponin",
        "kind": "lab",
        "title": "Heart test (troponin)",
        "tests": ["TNI"],
        "segments": [WEEKLY_M1, MONTHLY_M2_3],
    },
    {
        "code": "steroid-taper",
        "kind": "checkpoint",
        "title": "Steroid taper decision",
        "tests": [],
        "segments": [{"days": [30], "window_days": 2}],
    },
]

BEQVEZ_SCHEDULE = [
    {
        "code": "baseline-labs",
        "kind": "lab",
        "title": "Blood tests before the infusion",
        "tests": ["ALT", "AST", "FIX"],
        "baseline": True,
        "segments": [],
    },
    {
        "code": "liver-fix",
        "kind": "lab",
        "title": "Liver tests and factor IX",
        "tests": ["ALT", "AST", "FIX"],
        "segments": [WEEKLY_4M],
    },
]

ELEVIDYS_LIVER = {
    "code": "liver",
    "kind": "lab",
    "title": "Liver tests",
    "tests": ["GGT", "TBIL"],
    "segments": [{"every_days": 7, "first_day": 7, "last_day": 84, "window_days": 2}],
    "continue_until_normal": {"tests": ["GGT", "TBIL"], "rule": "near_baseline", "value": 1.5},
}


def therapy(schedule=None, **kwargs):
    kwargs.setdefault("ltfu_years", 5)
    return f.TherapyFactory(monitoring_schedule=schedule or ZOLGENSMA_SCHEDULE, **kwargs)


def journey(center=None, schedule=None, born=dt.date(2025, 6, 1), sex="male", **kwargs):
    """A journey with a therapy (no infusion date yet)."""
    patient = f.PatientFactory(center=center or f.CenterFactory(), date_of_birth=born, sex=sex)
    return f.JourneyFactory(patient=patient, therapy=therapy(schedule, **kwargs))


def planned_journey(day0=dt.date(2026, 1, 5), by=None, **kwargs):
    """A journey with its infusion date set directly and its plan generated."""
    j = journey(**kwargs)
    j.infusion_date = day0
    j.save(update_fields=["infusion_date"])
    generate_plan(j, by=by, reason="test")
    return j


def set_day0(j, day0, by, reason="moved"):
    """Move day 0 through the journey service (the tracker listens to its signal)."""
    return set_infusion_date(j, day0, by=by, reason=reason)
