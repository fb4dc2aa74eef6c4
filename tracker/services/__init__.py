"""The tracker's use cases: generate and edit plans, record and review results, exit rules.

Public functions (keyword-only `by` is the user who acts; `now` is for tests):
  generate_plan(journey, *, by=None, reason="", now=None, label=None) -> PlanVersion | None
  open_reviews(therapy, now=None) -> int (plans waiting for a review of the therapy's label)
  apply_review(review, *, by, reason="", now=None) / keep_plan(review, *, by, reason, now=None)
  reschedule_lab(lab, new_due_on, *, by, reason, now=None) -> PlanVersion
  mark_missed(lab, *, by, reason, now=None)
  complete_visit(lab, *, by, now=None)
  close_extension(item, *, by, reason, now=None)
  parse_value(test, raw, unit) -> (entered Decimal, canonical Decimal)
  record_results(journey, collected_at, rows, *, by, now=None) -> list[LabResult]
  record_results(..., corrections={code: reason}) corrects a result of the same time instead
  record_results(..., preliminary=True) records a lab's preliminary results (shown, not counted)
  catalogue() -> {code: LabTest} with units and ranges (record_results(..., tests=) takes it)
  record_collections([Collection], *, by, now=None, tests=None): many journeys' collections
    (a lab system's batch) by record_results' rules in a fixed number of queries; each
    collection gets its results or its error
  correct_result(result, raw, unit, *, by, reason, now=None) -> LabResult
  mark_entered_in_error(result, *, by, reason, now=None) -> LabResult (no longer counts)
  draw_tests / entry_help / entry_warnings / confirm_token: what the result form shows and asks
  review_result(result, *, by, note, now=None)
  write_note(journey, *, text, by, result=None | due_on=None, reason="", now=None) -> FamilyNote
  overdue_labs / labs_due_soon / results_awaiting_review / open_extensions(user, ...) -> querysets
"""

from .batch import Collection, record_collections
from .corrections import mark_entered_in_error
from .entry import confirm_token, draw_tests, entry_help, entry_warnings
from .label_review import apply_review, keep_plan, on_therapy_saved, open_reviews
from .notes import write_note
from .plans import (
    close_extension,
    complete_visit,
    generate_plan,
    mark_missed,
    on_schedule_changed,
    reschedule_lab,
    schedule_items,
)
from .results import (
    FUTURE_MARGIN,
    catalogue,
    check_collected_at,
    correct_result,
    duplicate_message,
    parse_value,
    record_results,
    review_result,
    same_time_results,
)
from .worklist import (
    WorklistSection,
    WorklistTime,
    extra_sections,
    labs_due_soon,
    open_extensions,
    overdue_labs,
    register_worklist_section,
    results_awaiting_review,
)

__all__ = [
    "Collection",
    "FUTURE_MARGIN",
    "WorklistSection",
    "WorklistTime",
    "apply_review",
    "catalogue",
    "check_collected_at",
    "close_extension",
    "complete_visit",
    "confirm_token",
    "correct_result",
    "draw_tests",
    "duplicate_message",
    "entry_help",
    "entry_warnings",
    "extra_sections",
    "generate_plan",
    "keep_plan",
    "labs_due_soon",
    "mark_entered_in_error",
    "mark_missed",
    "on_schedule_changed",
    "on_therapy_saved",
    "open_reviews",
    "open_extensions",
    "overdue_labs",
    "parse_value",
    "record_collections",
    "record_results",
    "register_worklist_section",
    "reschedule_lab",
    "results_awaiting_review",
    "review_result",
    "same_time_results",
    "schedule_items",
    "write_note",
]
