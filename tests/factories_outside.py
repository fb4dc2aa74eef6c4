"""Builders for the outside-result tests: Mia (guardian A, center A) 84 days after her infusion,
on the last planned liver draw of a series that ends on a rule (ALT and AST below 2x ULN,
TBIL and INR normal); Leo's guardian B at the same center. Files for uploads."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from tests import factories as f
from tests import factories_tracker as ft
from tests.factories_portal import family
from tracker.models import PlanItem, ScheduledLab
from tracker.services import generate_plan, record_results

D0 = dt.date(2026, 1, 5)
DAY84 = D0 + dt.timedelta(days=84)
NOW = dt.datetime(2026, 3, 30, 15, 0, tzinfo=dt.UTC)  # day 84, 11:00 in New York
LIVER_RULE = {
    "all": [
        {"tests": ["ALT", "AST"], "rule": "below_x_uln", "value": 2},
        {"tests": ["TBIL", "INR"], "rule": "within_range"},
    ],
    "source": "test",
}
UNITS = {"ALT": "U/L", "AST": "U/L", "TBIL": "mg/dL", "INR": "ratio"}

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


def upload(content=PDF, name="Mia ALT March.pdf", content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def mia_on_day84(center):
    """(guardian, child, journey): the plan drawn, the liver item ending on LIVER_RULE."""
    guardian, child = family(center, first_name="Mia", email="ana@example.org")
    child.date_of_birth = dt.date(2025, 6, 1)
    child.save(update_fields=["date_of_birth"])
    baseline, liver = (dict(i) for i in ft.ZOLGENSMA_SCHEDULE[:2])
    liver["continue_until_normal"] = LIVER_RULE
    therapy = ft.therapy([baseline, liver])
    journey = f.JourneyFactory(patient=child, therapy=therapy, infusion_date=D0)
    generate_plan(journey, by=None, reason="test")
    return guardian, child, journey


def leo_guardian(center):
    return family(center, first_name="Leo", email="ben@example.org")[0]


def staff_draw(journey, values, at=NOW):
    rows = [(code, value, UNITS[code]) for code, value in values.items()]
    return record_results(journey, at, rows, by=None, now=at)


def liver_item(journey):
    return PlanItem.objects.get(plan__journey=journey, code="liver-panel")


def liver_rows(journey):
    labs = ScheduledLab.objects.filter(journey=journey, item=liver_item(journey))
    return list(labs.filter(cancelled_at__isnull=True).order_by("sequence"))
