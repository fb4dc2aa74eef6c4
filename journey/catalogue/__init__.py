"""Loads the therapy catalogue (label facts as data) from the JSON files beside this module.

Files: conditions.json, finding_types.json, therapies.json, steps.json. See docs/catalogue.md.
By default only missing rows are created, so a coordinator's or administrator's edits in the
admin survive a re-run; update=True makes the files win, and says per therapy what changed
(label_changes). A changed schedule reaches no child's plan here: the tracker hears the
Therapy save and opens a label review per affected plan (docs/monitoring.md "Label changes").
"""

import json
from pathlib import Path

from django.db import transaction

from journey.models import (
    OPEN_STAGES,
    CenterCriterionSetting,
    Condition,
    EligibilityCriterion,
    FindingType,
    Journey,
    StepTemplate,
    Therapy,
)

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


# What a child's plan is drawn from: a change here means label reviews (tracker).
SCHEDULE_FIELDS = ("monitoring_schedule", "ltfu_years")


def _schedule_diff(old, new):
    """Item codes added, removed and changed between two label schedules."""
    before = {item["code"]: item for item in old or []}
    after = {item["code"]: item for item in new or []}
    return {
        "added": [code for code in after if code not in before],
        "removed": [code for code in before if code not in after],
        "changed": [code for code in after if code in before and before[code] != after[code]],
    }


def label_change(old, values):
    """What the file's values change in a therapy row (None: nothing, or a new therapy)."""
    if old is None:
        return None
    fields = [
        name
        for name, value in values.items()
        if getattr(old, name) != Therapy._meta.get_field(name).to_python(value)
    ]
    if not fields:
        return None
    change = {"therapy": old.slug, "name": old.name, "fields": fields, "open_journeys": 0}
    if any(name in fields for name in SCHEDULE_FIELDS):
        change["schedule"] = _schedule_diff(
            old.monitoring_schedule, values.get("monitoring_schedule")
        )
        if "ltfu_years" in fields:
            change["schedule"]["ltfu_years"] = [old.ltfu_years, values["ltfu_years"]]
        change["open_journeys"] = _open_journeys_with_a_plan(old)
    return change


def _open_journeys_with_a_plan(therapy):
    """Open journeys on the therapy with day 0 set: the ones that have a plan to review."""
    journeys = Journey.objects.filter(
        therapy=therapy, stage__in=OPEN_STAGES, infusion_date__isnull=False
    )
    return journeys.count()


def _load_therapy(row, conditions, update, changes):
    row = dict(row)
    condition_codes = row.pop("conditions")
    criteria = row.pop("criteria", [])
    slug = row.pop("slug")
    old = Therapy.objects.filter(slug=slug).first() if update else None
    change = label_change(old, row) if update else None
    therapy = _upsert(Therapy, {"slug": slug}, row, update)
    if update and old is None:
        change = {"therapy": slug, "name": therapy.name, "fields": [], "new": True}
    wanted = [conditions[c] for c in condition_codes]
    if update:
        therapy.conditions.set(wanted)
    else:
        therapy.conditions.add(*wanted)
    criteria_change = _load_criteria(therapy, criteria, update)
    if criteria_change:
        change = change or {"therapy": slug, "name": therapy.name, "fields": []}
        change["criteria"] = criteria_change
    if change:
        changes.append(change)
    return therapy


def _criterion_values(criterion, position):
    values = {k: criterion[k] for k in CRITERION_FIELDS if k in criterion}
    values["position"] = position
    return values


def _load_criteria(therapy, criteria, update):
    """Create (update: refresh) the therapy's criteria; with update, the file's list wins whole:
    a rule the file no longer has is deleted, so a superseded label rule (Casgevy's old minimum
    age) cannot keep judging children. Returns the codes added, removed and changed, or None."""
    before = {c.code: c for c in therapy.criteria.all()} if update else {}
    diff = {"added": [], "removed": [], "changed": []}
    for position, criterion in enumerate(criteria):
        values = _criterion_values(criterion, position)
        old = before.pop(criterion["code"], None)
        if update and old is None:
            diff["added"].append(criterion["code"])
        elif old is not None and any(getattr(old, k) != v for k, v in values.items()):
            diff["changed"].append(criterion["code"])
        _upsert(
            EligibilityCriterion, {"therapy": therapy, "code": criterion["code"]}, values, update
        )
    if before:
        diff["removed"] = sorted(before)
        gone = therapy.criteria.filter(code__in=before)
        settings = CenterCriterionSetting.objects.filter(criterion__in=gone, enabled=True)
        # A center's switch goes with its rule (cascade): say which centers had it on.
        diff["center_settings_removed"] = sorted(
            f"{s.criterion.code} ({s.center.name})"
            for s in settings.select_related("criterion", "center")
        )
        gone.delete()
    return diff if any(diff.values()) else None


def _load_step(row, therapies, update):
    row = dict(row)
    slugs = row.pop("therapies", [])
    step = _upsert(StepTemplate, {"code": row.pop("code")}, row, update)
    wanted = [therapies[s] for s in slugs]
    if update:
        step.therapies.set(wanted)  # the file's list wins (empty: every therapy)
    elif wanted:
        step.therapies.add(*wanted)
    return step


@transaction.atomic
def load_catalogue(update=False):
    """Create (or with update=True, refresh) every catalogue row.

    Returns the counts, and under "label_changes" one entry per therapy the files changed
    (see label_change).
    """
    conditions = {
        row["code"]: _upsert(Condition, {"code": row["code"]}, row, update)
        for row in read("conditions.json")
    }
    for row in read("finding_types.json"):
        _upsert(FindingType, {"code": row["code"]}, row, update)
    changes = []
    loaded = (_load_therapy(r, conditions, update, changes) for r in read("therapies.json"))
    therapies = {t.slug: t for t in loaded}
    steps = [_load_step(r, therapies, update) for r in read("steps.json")]
    return {
        "conditions": len(conditions),
        "therapies": len(therapies),
        "criteria": EligibilityCriterion.objects.count(),
        "finding_types": FindingType.objects.count(),
        "steps": len(steps),
        "label_changes": changes,
    }
