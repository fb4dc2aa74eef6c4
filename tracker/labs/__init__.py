"""The lab catalogue as data: catalogue.json, loaded by `manage.py load_labs`."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import transaction

CATALOGUE = Path(__file__).with_name("catalogue.json")
TEST_FIELDS = (
    "name",
    "family_name",
    "loinc",
    "unit",
    "decimal_places",
    "plausible_max",
    "critical_high_x_uln",
    "shows_x_uln",
    "position",
    "note",
    "limits_source",
)
RANGE_FIELDS = (
    "age_to_months",
    "low",
    "high",
    "critical_low",
    "critical_high",
    "source",
    "verified",
)


def _dec(value):
    return None if value is None else Decimal(str(value))


def _test_defaults(row, doc):
    defaults = {k: row.get(k, "") for k in TEST_FIELDS}
    for key in ("plausible_max", "critical_high_x_uln"):
        defaults[key] = _dec(defaults[key])
    defaults["source"] = row.get("source", doc["source"])
    defaults["as_of"] = date.fromisoformat(row.get("as_of", doc["as_of"]))
    return defaults


def _range_defaults(row):
    defaults = {k: row.get(k) for k in RANGE_FIELDS}
    for key in ("low", "high", "critical_low", "critical_high"):
        defaults[key] = _dec(defaults[key])
    return defaults


@transaction.atomic
def load_labs(path=CATALOGUE, update=True):
    """Create or update tests, units and ranges from the file. Idempotent; returns counts.

    With update=False, rows already in the database keep their (possibly admin-edited) values.
    """
    from tracker.models import LabTest, LabUnit, ReferenceRange

    doc = json.loads(Path(path).read_text())
    counts = {"tests": 0, "units": 0, "ranges": 0}
    method = "update_or_create" if update else "get_or_create"
    for row in doc["tests"]:
        test, _ = getattr(LabTest.objects, method)(
            code=row["code"], defaults=_test_defaults(row, doc)
        )
        counts["tests"] += 1
        for unit in row["units"]:
            getattr(LabUnit.objects, method)(
                test=test,
                unit=unit["unit"],
                defaults={
                    "multiply": _dec(unit["multiply"]),
                    "divide": _dec(unit["divide"]),
                    "highest": _dec(unit.get("highest")),
                },
            )
            counts["units"] += 1
        for band in row["ranges"]:
            getattr(ReferenceRange.objects, method)(
                test=test,
                age_from_months=band["age_from_months"],
                sex=band["sex"],
                defaults=_range_defaults(band),
            )
            counts["ranges"] += 1
    return counts
