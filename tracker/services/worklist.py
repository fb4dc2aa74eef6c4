"""The worklist's lists: one queryset each, scoped to the user's centers, open journeys only.

Each list is a WorklistSection whose rows are an ordered queryset, most urgent first; the page
shows one slice of each (section_pages) and the CSV (tracker.export) reads the whole querysets.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Case, OuterRef, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from journey.access import center_ids_for, scope_to_centers
from journey.models import OPEN_STAGES, Center, Journey

from ..models import (
    CRITICAL_FLAGS,
    LabResult,
    PlanItem,
    PlanReview,
    ReviewStatus,
    ScheduledLab,
)
from .worklist_pages import (
    ALL,
    PER_PAGE,
    SectionPage,
    page_number,
    section_pages,
)

__all__ = ["ALL", "PER_PAGE", "SectionPage", "page_number", "section_pages"]


def _open_journeys(queryset, user):
    """The rows of open journeys at the user's centers, by joining the journey (plan reviews:
    few, and nothing else keeps them to open journeys)."""
    scoped = scope_to_centers(queryset, user, "journey__center")
    return scoped.filter(journey__stage__in=OPEN_STAGES)


# A result's journey's stage, read by its primary key for each result of the list (~180 at a
# center of 5,000 children: 0.2 ms); as a join, PostgreSQL hashed the center's ~4,300 open
# journeys for them (1-2 ms), or every center's (33 ms) without the center named on both.
_JOURNEY_STAGE = Subquery(
    Journey.objects.filter(pk=OuterRef("journey_id")).order_by().values("stage")[:1]
)


def _at_centers(queryset, user):
    """Rows that carry their journey's center (scheduled labs, results) at the user's
    centers, read from a partial index led by the center, without joining their journeys
    for it.

    The center is the journey's by a constraint (on PostgreSQL a foreign key to the journey's
    id and center, which a transfer's move cascades to), and an open lab belongs to an open
    journey (a journey that ends closes its open labs: tracker.services.journey_end; a lab
    reopened or drawn for an ended journey is not). Joining the journeys to check both
    hashed the center's ~4,300 open journeys once per list (~2 ms a list at 100,000
    patients); results still join them for their stage."""
    scoped = scope_to_centers(queryset, user, "center")
    if center_ids_for(user) is None:
        # Every center (a superuser): named, so each center's rows are one range of its index
        # (without, PostgreSQL walked every open lab: 460 ms, not 130, at 100,000).
        scoped = scoped.filter(center__in=Center.objects.values("pk"))
    return scoped


def overdue_labs(user, today=None):
    """Open labs whose window has closed, oldest first (worklist; reminders may reuse)."""
    today = today or timezone.localdate()
    labs = ScheduledLab.objects.overdue(today)
    return (
        _at_centers(labs, user)
        .select_related("item", "journey__patient")
        .order_by("window_end", "pk")
    )


def labs_due_soon(user, today=None, end=None):
    """Open labs due from today to `end` (a week ahead unless given)."""
    today = today or timezone.localdate()
    labs = ScheduledLab.objects.due_between(today, end or today + timedelta(days=7))
    return (
        _at_centers(labs, user).select_related("item", "journey__patient").order_by("due_on", "pk")
    )


def results_awaiting_review(user):
    """Abnormal results not reviewed yet: critical first, then the other abnormal ones, each
    oldest first (every result here is abnormal: awaiting_review), of open journeys (the
    journey joined: a result stays unreviewed when its journey ends)."""
    results = LabResult.objects.awaiting_review().annotate(
        urgency=Case(When(flag__in=CRITICAL_FLAGS, then=Value(0)), default=Value(1))
    )
    return (
        _at_centers(results, user)
        .alias(journey_stage=_JOURNEY_STAGE)
        .filter(journey_stage__in=OPEN_STAGES)
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


def label_reviews(user):
    """Plans waiting for the coordinator after a label change, oldest first."""
    reviews = PlanReview.objects.filter(status=ReviewStatus.PENDING)
    return (
        _open_journeys(reviews, user)
        .select_related("journey__patient", "therapy")
        .order_by("created_at", "pk")
    )


@dataclass(frozen=True)
class WorklistTime:
    """The day and the moment a worklist is drawn for, given to every section's provider.

    A value worked out from them (a week ahead, an alert's cutoff) goes through `derived`, so
    that the compiled worklist (worklist_plan) works it out anew for each request instead of
    keeping the value it had when the SQL was compiled."""

    today: date
    now: datetime

    @classmethod
    def current(cls, today=None):
        now = timezone.now()
        return cls(today or timezone.localdate(now), now)

    def derived(self, compute):
        """compute(self): a date or datetime the section's query compares with."""
        return compute(self)


def week_ahead(at):
    return at.today + timedelta(days=7)


@dataclass(frozen=True)
class WorklistSection:
    """One list: `key` is its HTML id and its page parameter (?overdue=2), `rows` an ordered
    queryset (most urgent first, a unique last sort key) scoped to the user's centers.
    `template` renders its rows; "" for the tracker's own lists, whose rows the admin
    pre-formats (tracker.admin.worklist_rows). A list of scheduled labs with a `draw_order`
    shows one row per draw (tracker.draws: journey and due day), in that order (names among
    journey_id, due_on and first_close, the earliest window end of the draw)."""

    key: str
    title: str
    template: str
    rows: QuerySet
    draw_order: tuple = ()
    # The labs of a page's draws are read from this (the same filter as `rows` without the
    # user's journeys: the page's keys came from `rows`, and the (journey, day) pairs then
    # use scheduledlab_open_journey instead of every lab of a thousand journeys).
    draw_labs: QuerySet | None = None
    # The line shown instead of an empty list, without its template ("": the template's).
    empty: str = ""


# Draw order (first_close: the earliest window end of the draw): the window closed longest
# ago first; due soonest first.
OVERDUE_DRAWS = ("first_close", "due_on", "journey_id")
DUE_DRAWS = ("due_on", "journey_id")


def sections(user, today=None, at=None):
    """Every list of the worklist, in page order: the tracker's five, most urgent first
    (results to review: critical, then abnormal; then overdue draws), then the registered
    ones. `at` (a WorklistTime) overrides `today`."""
    at = at or WorklistTime.current(today)
    today, week_end = at.today, at.derived(week_ahead)
    own = [
        WorklistSection(
            "review",
            _("Abnormal results awaiting review"),
            "",
            results_awaiting_review(user),
        ),
        WorklistSection(
            "overdue",
            _("Overdue labs and visits"),
            "",
            overdue_labs(user, today),
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
            labs_due_soon(user, today, end=week_end),
            DUE_DRAWS,
            ScheduledLab.objects.due_between(today, week_end),
        ),
        WorklistSection(
            "label-review",
            _("Label changed: review plan"),
            "",
            label_reviews(user),
        ),
    ]
    return own + extra_sections(user, at)


# Higher apps (notifications) add lists to the worklist without tracker importing them: each
# provider is a callable (user, at: WorklistTime) -> WorklistSection, registered in the app's
# AppConfig.ready. A provider builds querysets and never runs one (worklist_plan compiles
# them once with stand-in values), and takes its time from `at`, never from the clock.
_SECTION_PROVIDERS = []


def register_worklist_section(provider):
    if provider not in _SECTION_PROVIDERS:
        _SECTION_PROVIDERS.append(provider)
    return provider


def extra_sections(user, at=None):
    """The registered sections for this user (rows not fetched yet: querysets)."""
    at = at or WorklistTime.current()
    return [provider(user, at) for provider in _SECTION_PROVIDERS]


def providers():
    """The registered providers, in page order (worklist_plan compiles for this list)."""
    return tuple(_SECTION_PROVIDERS)
