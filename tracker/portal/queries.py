"""What the portal's tracker pages read: one queryset per list, a fixed number per page.

Access goes through journey.access.patients_for_guardian only: a child who is not the
guardian's is a 404, the same answer as a child that does not exist.
"""

import datetime

from django.db.models import Case, F, IntegerField, OuterRef, Subquery, Value, When
from django.shortcuts import get_object_or_404

from journey.access import patients_for_guardian
from journey.models import OPEN_STAGES, Guardian, Journey
from journey.portal.pages import CHILD_COLUMNS, journey_with_child
from journey.portal.pages import child_and_journey as _child_and_journey
from journey.prepared import Prepared
from tracker.models import (
    FamilyNote,
    ItemKind,
    LabResult,
    LabTest,
    MonitoringPlan,
    PlanItem,
    ScheduledLab,
    Status,
)

FAMILY_KINDS = (ItemKind.LAB, ItemKind.VISIT)


def child_for_guardian(user, public_id):
    """The guardian's child with this public id, or 404."""
    children = patients_for_guardian(user).select_related("center")
    return get_object_or_404(children, public_id=public_id)


def guardian_of(request):
    """The logged-in guardian (the portal middleware sets request.guardian when installed)."""
    guardian = getattr(request, "guardian", None)
    if guardian is None:
        guardian = get_object_or_404(Guardian, user=request.user)
    return guardian


# What the plan and labs pages read of the journey and the rows joined to it: the therapy's
# and the plan's catalogue copies (label, schedule) are large JSON the pages never show.
JOURNEY_COLUMNS = (
    *("patient_id", "center_id", "therapy_id", "stage", "infusion_date", "opened_at"),
    *("therapy__name", "therapy__generic_name", "therapy__steroid_regimen"),
    *("therapy__family_notes", "therapy__urgent_symptoms"),
    *("center__name", "center__main_phone", "center__after_hours_phone"),
    "center__result_release",
)
# The plan page also reads the plan and its usual lab (the labs page does not join them).
PLAN_COLUMNS = (
    "monitoring_plan__id",
    *("monitoring_plan__default_lab__name", "monitoring_plan__default_lab__address"),
    "monitoring_plan__default_lab__phone",
)


def _open_first(with_plan):
    """The journeys, open first then latest, with their therapy and center (and, `with_plan`,
    their plan and usual lab)."""
    is_open = Case(
        When(stage__in=OPEN_STAGES, then=Value(0)), default=1, output_field=IntegerField()
    )
    related = ["therapy", "center", *(["monitoring_plan__default_lab"] if with_plan else [])]
    columns = [*JOURNEY_COLUMNS, *(PLAN_COLUMNS if with_plan else ()), *CHILD_COLUMNS]
    return (
        Journey.objects.select_related(*related)
        .only(*columns)
        .annotate(closed_first=is_open)
        .order_by("closed_first", "-opened_at")
    )


# Compiled once (journey.prepared): the labs page's journey, and the plan page's with its plan.
LABS_JOURNEY = journey_with_child(lambda: _open_first(with_plan=False))
PLAN_JOURNEY = journey_with_child(lambda: _open_first(with_plan=True))


def child_and_journey(user, public_id, with_plan=False):
    """(the guardian's child with this public id, its open journey, else its latest, or
    None), or 404: one query through journey.access (two when the child has no journey yet).

    The journey comes with its therapy and center (and, `with_plan`, its plan and usual lab).
    """
    return _child_and_journey(user, public_id, PLAN_JOURNEY if with_plan else LABS_JOURNEY)


def plan_of(journey):
    try:
        return journey.monitoring_plan if journey else None
    except MonitoringPlan.DoesNotExist:
        return None


# What the plan page reads of each item and its dates.
PLAN_ITEM_COLUMNS = (
    *("plan_id", "code", "kind", "title", "tests", "baseline", "inpatient", "lifelong"),
    *("position", "continue_until_normal", "extended_at", "extension_ended_at"),
)
PLAN_DATE_COLUMNS = (
    *("item_id", "journey_id", "sequence", "due_on", "window_start", "window_end"),
    *("done_at", "missed_at", "cancelled_at"),
    *("site", "local_lab__name", "local_lab__address", "local_lab__phone"),
)
TEST_COLUMNS = ("code", "family_name", "unit", "decimal_places", "position")


PLAN_ITEMS = Prepared(
    lambda plan_id: (
        PlanItem.objects.filter(plan_id=plan_id, removed_at__isnull=True)
        .only(*PLAN_ITEM_COLUMNS)
        .order_by("position", "code")
    ),
    plan_id=int,
)
# The live items' not-cancelled dates, in order (as a prefetch of the items would read them).
PLAN_DATES = Prepared(
    lambda plan_id: (
        ScheduledLab.objects.filter(
            item__plan_id=plan_id, item__removed_at__isnull=True, cancelled_at__isnull=True
        )
        .select_related("local_lab")
        .only(*PLAN_DATE_COLUMNS)
        .order_by("due_on", "sequence")
    ),
    plan_id=int,
)
LAB_TESTS = Prepared(lambda: LabTest.objects.only(*TEST_COLUMNS))


def plan_items(plan):
    """The plan's live items, each with its not-cancelled dates in order in `item.dates`
    (2 queries)."""
    items = PLAN_ITEMS.run(plan_id=plan.pk)
    by_pk = {item.pk: item for item in items}
    for item in items:
        item.dates = []
    for row in PLAN_DATES.run(plan_id=plan.pk):
        row.item = by_pk[row.item_id]
        row.item.dates.append(row)
    return items


def lab_tests():
    """The lab catalogue by code (a dozen rows; one query), with what the pages show."""
    return {t.code: t for t in LAB_TESTS.run()}


# The columns the labs page reads, and no others (a result row has about thirty).
DATE_COLUMNS = ("item_id", "journey_id", "due_on", "window_start", "window_end")
ITEM_COLUMNS = ("kind", "code", "title", "tests", "inpatient", "position", "continue_until_normal")
RESULT_COLUMNS = (
    *("test_id", "value", "unit", "collected_at", "flag", "x_uln", "range_low", "range_high"),
    *("baseline_value", "supersedes_id", "entered_at", "reviewed_at", "preliminary"),
)


def _draw_note():
    """The family's note on a row's draw (its journey and due day), in the same query."""
    notes = FamilyNote.objects.filter(journey_id=OuterRef("journey_id"), due_on=OuterRef("due_on"))
    return Subquery(notes.values("text")[:1])


JOURNEY_DATES = Prepared(
    lambda journey_id, today: (
        ScheduledLab.objects.with_status(today)
        .filter(journey_id=journey_id)
        .exclude(status=Status.CANCELLED)
        .filter(item__removed_at__isnull=True)
        .select_related("item")
        .only(*DATE_COLUMNS, *(f"item__{name}" for name in ITEM_COLUMNS))
        .annotate(draw_note=_draw_note())
        .order_by("due_on", "item__position", "pk")
    ),
    journey_id=int,
    today=datetime.date,
)
CURRENT_RESULTS = Prepared(
    lambda journey_id: (
        LabResult.objects.current()
        .filter(journey_id=journey_id)
        .only(*RESULT_COLUMNS)
        .annotate(family_note_text=F("family_note__text"))  # the care team's note, one join
        .annotate(after_preliminary=F("supersedes__preliminary"))
        .order_by("collected_at", "test__position", "pk")
    ),
    journey_id=int,
)


def journey_dates(journey, today):
    """The journey's dated rows (draws, visits, checkpoints) with their status (one query)."""
    return JOURNEY_DATES.run(journey_id=journey.pk, today=today)


def current_results(journey, tests):
    """Every current result of the journey, oldest first (one query). A result entered in
    error is left out: it was never the child's, and a withdrawn number only worries.

    `tests` is lab_tests(): each result gets its LabTest from there, not from a join."""
    by_pk = {test.pk: test for test in tests.values()}
    results = CURRENT_RESULTS.run(journey_id=journey.pk)
    for result in results:
        result.test = by_pk[result.test_id]
    return results
