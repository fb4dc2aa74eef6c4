"""The coordinator's worklist as one CSV: overdue labs, results awaiting review, due this week.

The rows come from the worklist's own querysets (tracker.services.worklist), so the CSV is
scoped to the user's centers exactly like the page, in a fixed number of queries.

Spreadsheet formula injection: a cell that starts with = + - @ (or a tab / carriage return,
which some spreadsheets also read as a formula start) is prefixed with a quote, so a patient
named "=HYPERLINK(...)" is text, not a formula, when the file is opened.
"""

import csv
import io
import zoneinfo

from django.utils import timezone

from .services import worklist

COLUMNS = [
    "list",
    "center",
    "patient",
    "patient_id",
    "date_of_birth",
    "what",
    "due_on",
    "window_start",
    "window_end",
    "collected_at",
    "result",
    "unit",
    "flag",
    "x_uln",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

OVERDUE, REVIEW, DUE_SOON = "overdue", "awaiting_review", "due_next_7_days"


def safe_cell(value):
    """The cell as text, quoted when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _patient(journey):
    patient = journey.patient
    return {
        "center": journey.center.name,
        "patient": f"{patient.first_name} {patient.last_name}",
        "patient_id": str(patient.public_id),
        "date_of_birth": patient.date_of_birth.isoformat(),
    }


def _lab_row(list_name, lab):
    return {
        "list": list_name,
        **_patient(lab.journey),
        "what": f"{lab.item.title} #{lab.sequence}",
        "due_on": lab.due_on.isoformat(),
        "window_start": lab.window_start.isoformat(),
        "window_end": lab.window_end.isoformat(),
    }


def _result_row(result):
    # In the center's own zone: the clock time the lab wrote on the sample.
    zone = zoneinfo.ZoneInfo(result.journey.center.time_zone)
    collected = timezone.localtime(result.collected_at, zone)
    return {
        "list": REVIEW,
        **_patient(result.journey),
        "what": result.test.name,
        "collected_at": collected.isoformat(timespec="minutes"),
        "result": f"{result.value.normalize():f}",
        "unit": result.unit,
        "flag": result.flag,
        "x_uln": "" if result.x_uln is None else f"{result.x_uln.normalize():f}",
    }


def worklist_rows(user, today):
    """The three lists as dicts, in the page's order (three queries)."""
    center = "journey__center"
    for lab in worklist.overdue_labs(user, today).select_related(center):
        yield _lab_row(OVERDUE, lab)
    for result in worklist.results_awaiting_review(user).select_related(center):
        yield _result_row(result)
    for lab in worklist.labs_due_soon(user, today).select_related(center):
        yield _lab_row(DUE_SOON, lab)


def worklist_csv(user, today):
    """The worklist CSV as text (UTF-8 with a byte order mark, so spreadsheets read accents)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in worklist_rows(user, today):
        writer.writerow([safe_cell(row.get(column)) for column in COLUMNS])
    return out.getvalue()
