"""Loads the therapy catalogue (label facts as data) from the JSON files beside this module.

Files: conditions.json, finding_types.json, therapies.json, steps.json. See docs/catalogue.md.
By default only missing rows are created, so a coordinator's or administrator's edits in the
admin survive a re-run; update=True makes the files win.
"""

import json
from pathlib import Path

from django.db import transaction

from journey.models import Condition, EligibilityCriterion, FindingType, StepTemplate, Therapy

DATA_DIR = Path(__file__).resolve().parent
CRITERION_FIELDS = (
    "kind",
    "label",
    "params",
    "validity_days",
    "retest_after_days",
    "postpone_only",
    "verified",
    "source",
    "origin",
    "origin_note",
)


def read(name):
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def _upsert(model, lookup, defaults, update):
    if update:
        return model.objects.update_or_create(**lookup, defaults=defaults)[0]
    return model.objects.get_or_create(**lookup, defaults=defaults)[0]


def _load_therapy(row, conditions, update):
    row = dict(row)
    condition_codes = row.pop("conditions")
    criteria = row.pop("criteria", [])
    therapy = _upsert(Therapy, {"slug": row.pop("slug")}, row, update)
    therapy.conditions.add(*[conditions[c] for c in condition_codes])
    for position, criterion in enumerate(criteria):
        defaults = {k: criterion[k] for k in CRITERION_FIELDS if k in criterion}
        defaults["position"] = position
        _upsert(
            EligibilityCriterion,
            {"therapy": therapy, "code": criterion["code"]},
            defaults,
            update,
        )
    return therapy


def _load_step(row, therapies, update):
    row = dict(row)
    slugs = row.pop("therapies", [])
    step = _upsert(StepTemplate, {"code": row.pop("code")}, row, update)
    if slugs:
        step.therapies.add(*[therapies[s] for s in slugs])
    return step


@transaction.atomic
def load_catalogue(update=False):
    """Create (or with update=True, refresh) every catalogue row; returns counts."""
    conditions = {
        row["code"]: _upsert(Condition, {"code": row["code"]}, row, update)
        for row in read("conditions.json")
    }
    for row in read("finding_types.json"):
        _upsert(FindingType, {"code": row["code"]}, row, update)
    therapies = {
        t.slug: t for t in (_load_therapy(r, conditions, update) for r in read("therapies.json"))
    }
    steps = [_load_step(r, therapies, update) for r in read("steps.json")]
    return {
        "conditions": len(conditions),
        "therapies": len(therapies),
        "criteria": EligibilityCriterion.objects.count(),
        "finding_types": FindingType.objects.count(),
        "steps": len(steps),
    }
