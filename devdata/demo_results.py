"""The monitoring part of the demo: results for the first draws after Maya's infusion.

devdata.demo builds the families and journeys (setting the infusion date draws the plan); this
adds results to the draws that are already past, leaving the next one overdue, so the worklist
has an abnormal result to review, an overdue lab and one due tomorrow.
"""

from datetime import datetime, time, timedelta

from django.utils import timezone

from journey.models import Journey
from tracker import services
from tracker.labs import load_labs

# Normal values in canonical units; the week-1 ALT is above twice the infant upper limit.
NORMAL = {
    "ALT": "32",
    "AST": "41",
    "TBIL": "0.5",
    "INR": "1.0",
    "PLT": "260",
    "TNI": "8",
    "CREAT": "0.25",
    "GGT": "15",
    "FIX": "80",
    "HGB": "12",
    "ANC": "2.5",
}
WEEK_ONE = {**NORMAL, "ALT": "120", "AST": "58"}
UNITS = {
    "ALT": "U/L",
    "AST": "U/L",
    "GGT": "U/L",
    "TBIL": "mg/dL",
    "INR": "ratio",
    "PLT": "10^9/L",
    "TNI": "ng/L",
    "CREAT": "mg/dL",
    "FIX": "%",
    "HGB": "g/dL",
    "ANC": "10^9/L",
}
# (day from infusion the draw was due, values): baseline, then week 1; week 2 stays overdue.
DRAWS = [(-1, NORMAL, -6), (7, WEEK_ONE, 7)]


def _record(journey, due_day, values, collected_day, by):
    labs = journey.scheduled_labs.filter(day_offset=due_day).select_related("item")
    tests = sorted({code for lab in labs for code in lab.item.tests})
    if not tests:
        return
    day = journey.infusion_date + timedelta(days=collected_day)
    collected = timezone.make_aware(datetime.combine(day, time(9, 30)))
    rows = [(code, values[code], UNITS[code]) for code in tests]
    services.record_results(journey, collected, rows, by=by)


def seed_results(by_center_coordinator):
    """Record the past draws of every demo journey in monitoring that has no results yet."""
    load_labs()
    journeys = Journey.objects.filter(stage="monitoring", infusion_date__isnull=False)
    for journey in journeys:
        by = by_center_coordinator(journey.center_id)
        # The plan is normally drawn after commit; draw it here too (idempotent) so the demo
        # does not depend on when the infusion date's transaction committed.
        services.generate_plan(journey, by=by, reason="Demo data")
        if journey.lab_results.exists():
            continue
        for due_day, values, collected_day in DRAWS:
            _record(journey, due_day, values, collected_day, by)
