"""The worklist's lists: one queryset each, scoped to the user's centers, open journeys only.

Each list is a WorklistSection whose rows are an ordered queryset, most urgent first; the page
shows one slice of each (section_page) and the CSV (tracker.export) reads the whole querysets.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Case, F, Lookup, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from journey.access import center_ids_for, scope_to_centers
from journey.models import OPEN_STAGES, Journey

from ..models import (
    CRITICAL_FLAGS,
    LabResult,
    PlanItem,
    PlanReview,
    ReviewStatus,
    ScheduledLab,
)
from .worklist_pages import ALL, PER_PAGE, SectionPage, page_number, section_page

__all__ = ["ALL", "PER_PAGE", "SectionPage", "page_number", "section_page"]


EVERY_CENTER = None
_ASK = object()


def open_journey_ids(user):
    """The ids of the open journeys at the user's centers, or EVERY_CENTER for a superuser.

    The lists filter on this list of ids rather than joining journeys: PostgreSQL then probes
    each list's index journey by journey (a few ms for a center of 1,000 patients) instead of
    misjudging how many rows a center has and reading every center's rows.
    """
    centers = center_ids_for(user)
    if centers is None:
        return EVERY_CENTER
    journeys = Journey.objects.filter(center__in=centers, stage__in=OPEN_STAGES)
    return list(journeys.values_list("pk", flat=True))


class _AnyOf(Lookup):
    """`column = ANY(%s::bigint[])` with the ids as one '{1,2,...}' parameter: an IN list of
    a thousand literals, or a Python list psycopg dumps item by item, costs a few ms a query.
    Other databases (SQLite in local runs and tests) get a plain IN list."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids = [int(pk) for pk in self.rhs]
        if not ids:
            return "1 = 0", []
        return f"{lhs} IN ({', '.join(['%s'] * len(ids))})", [*lhs_params, *ids]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        array = "{" + ",".join(str(int(pk)) for pk in self.rhs) + "}"
        return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, array]


def _open_journeys(queryset, user, journeys):
    journeys = open_journey_ids(user) if journeys is _ASK else journeys
    if journeys is EVERY_CENTER:
        return queryset.filter(journey__stage__in=OPEN_STAGES)
    return queryset.filter(_AnyOf(F("journey_id"), journeys))


def overdue_labs(user, today=None, journeys=_ASK):
    """Open labs whose window has closed, oldest first (worklist; reminders may reuse)."""
    today = today or timezone.localdate()
    labs = ScheduledLab.objects.overdue(today)
    return (
        _open_journeys(labs, user, journeys)
        .select_related("item", "journey__patient")
        .order_by("window_end", "pk")
    )


def labs_due_soon(user, today=None, days=7, journeys=_ASK):
    """Open labs due from today to `days` ahead."""
    today = today or timezone.localdate()
    labs = ScheduledLab.objects.due_between(today, today + timedelta(days=days))
    return (
        _open_journeys(labs, user, journeys)
        .select_related("item", "journey__patient")
        .order_by("due_on", "pk")
    )


def results_awaiting_review(user, journeys=_ASK):
    """Abnormal results not reviewed yet: critical first, then the other abnormal ones, each
    oldest first (every result here is abnormal: awaiting_review)."""
    results = LabResult.objects.awaiting_review().annotate(
        urgency=Case(When(flag__in=CRITICAL_FLAGS, then=Value(0)), default=Value(1))
    )
    return (
        _open_journeys(results, user, journeys)
        .select_related("test", "journey__patient")
        .order_by("urgency", "collected_at", "pk")
    )


def open_extensions(user):
    """Open extensions, oldest first. Few in all, so planitem_open_extension reads every
    center's and the journey join keeps the user's (a list of journey ids would make
    PostgreSQL read every item of every plan of the center instead)."""
    items = PlanItem.objects.filter(extended_at__isnull=False, extension_ended_at__isnull=True)
    scoped = scope_to_centers(items, user, "plan__journey__center")
    return (
        scoped.filter(plan__journey__stage__in=OPEN_STAGES)
        .select_related("plan__journey__patient")
        .order_by("extended_at", "pk")
    )


def label_reviews(user, journeys=_ASK):
    """Plans waiting for the coordinator after a label change, oldest first."""
    reviews = PlanReview.objects.filter(status=ReviewStatus.PENDING)
    return (
        _open_journeys(reviews, user, journeys)
        .select_related("journey__patient", "therapy")
        .order_by("created_at", "pk")
    )


@dataclass(frozen=True)
class WorklistSection:
    """One list: `key` is its HTML id and its page parameter (?overdue=2), `rows` an ordered
    queryset (most urgent first, a unique last sort key) scoped to the user's centers.
    `template` renders its rows; "" for the tracker's own lists, whose rows the admin
    pre-formats (tracker.admin.worklist_rows). A list of scheduled labs with a `draw_order`
    shows one row per draw (tracker.draws: journey and due day), in that order."""

    key: str
    title: str
    template: str
    rows: QuerySet
    draw_order: tuple = ()
    # The labs of a page's draws are read from this (the same filter as `rows` without the
    # user's journeys: the page's keys came from `rows`, and the (journey, day) pairs then
    # use scheduledlab_open_journey_due instead of every lab of a thousand journeys).
    draw_labs: QuerySet | None = None


# Draw order (first_close: the earliest window end of the draw): the window closed longest
# ago first; due soonest first.
OVERDUE_DRAWS = ("first_close", "due_on", "journey_id")
DUE_DRAWS = ("due_on", "journey_id")


def sections(user, today=None):
    """Every list of the worklist, in page order: the tracker's five, most urgent first
    (results to review: critical, then abnormal; then overdue draws), then the registered
    ones."""
    today = today or timezone.localdate()
    journeys = open_journey_ids(user)  # one query for three lists
    own = [
        WorklistSection(
            "review",
            _("Abnormal results awaiting review"),
            "",
            results_awaiting_review(user, journeys=journeys),
        ),
        WorklistSection(
            "overdue",
            _("Overdue labs and visits"),
            "",
            overdue_labs(user, today, journeys=journeys),
            OVERDUE_DRAWS,
            ScheduledLab.objects.overdue(today),
        ),
        WorklistSection(
            "extended",
            _("Plans extended because results are not back to normal"),
            "",
            open_extensions(user),
        ),
        WorklistSection(
            "due-soon",
            _("Due in the next 7 days"),
            "",
            labs_due_soon(user, today, days=7, journeys=journeys),
            DUE_DRAWS,
            ScheduledLab.objects.due_between(today, today + timedelta(days=7)),
        ),
        WorklistSection(
            "label-review",
            _("Label changed: review plan"),
            "",
            label_reviews(user, journeys=journeys),
        ),
    ]
    return own + extra_sections(user)


# Higher apps (notifications) add lists to the worklist without tracker importing them: each
# provider is a callable (user) -> WorklistSection, registered in the app's AppConfig.ready.
_SECTION_PROVIDERS = []


def register_worklist_section(provider):
    if provider not in _SECTION_PROVIDERS:
        _SECTION_PROVIDERS.append(provider)
    return provider


def extra_sections(user):
    """The registered sections for this user (rows not fetched yet: querysets)."""
    return [provider(user) for provider in _SECTION_PROVIDERS]
