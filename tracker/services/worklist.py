"""The worklist's lists: one queryset each, scoped to the user's centers, open journeys only.

Each list is a WorklistSection whose rows are an ordered queryset, most urgent first; the page
shows one slice of each (section_page) and the CSV (tracker.export) reads the whole querysets.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, QuerySet, Window
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from journey.access import scope_to_centers
from journey.models import OPEN_STAGES

from ..models import LabResult, PlanItem, ScheduledLab

PER_PAGE = 25
ALL = "all"


def _open_journeys(queryset, user, path="journey"):
    scoped = scope_to_centers(queryset, user, f"{path}__center")
    return scoped.filter(**{f"{path}__stage__in": OPEN_STAGES})


def overdue_labs(user, today=None):
    """Open labs whose window has closed, oldest first (worklist; reminders may reuse)."""
    today = today or timezone.localdate()
    # due_on <= window_end (a check constraint), so due_on < today adds no condition; it lets
    # PostgreSQL reach a center's rows journey by journey through scheduledlab_open_journey_due.
    labs = ScheduledLab.objects.overdue(today).filter(due_on__lt=today).with_status(today)
    return (
        _open_journeys(labs, user)
        .select_related("item", "journey__patient")
        .order_by("window_end", "pk")
    )


def labs_due_soon(user, today=None, days=7):
    """Open labs due from today to `days` ahead."""
    today = today or timezone.localdate()
    labs = ScheduledLab.objects.due_between(today, today + timedelta(days=days)).with_status(today)
    return (
        _open_journeys(labs, user)
        .select_related("item", "journey__patient")
        .order_by("due_on", "pk")
    )


def results_awaiting_review(user):
    results = LabResult.objects.awaiting_review()
    return (
        _open_journeys(results, user)
        .select_related("test", "journey__patient")
        .order_by("collected_at", "pk")
    )


def open_extensions(user):
    items = PlanItem.objects.filter(extended_at__isnull=False, extension_ended_at__isnull=True)
    return (
        _open_journeys(items, user, "plan__journey")
        .select_related("plan__journey__patient")
        .order_by("extended_at", "pk")
    )


@dataclass(frozen=True)
class WorklistSection:
    """One list: `key` is its HTML id and its page parameter (?overdue=2), `rows` an ordered
    queryset (most urgent first, a unique last sort key) scoped to the user's centers."""

    key: str
    title: str
    template: str
    rows: QuerySet


def sections(user, today=None):
    """Every list of the worklist, in page order: the tracker's four, then the registered ones."""
    today = today or timezone.localdate()
    own = [
        WorklistSection(
            "overdue",
            _("Overdue labs and visits"),
            "admin/tracker/_worklist_overdue.html",
            overdue_labs(user, today),
        ),
        WorklistSection(
            "review",
            _("Abnormal results awaiting review"),
            "admin/tracker/_worklist_review.html",
            results_awaiting_review(user),
        ),
        WorklistSection(
            "extended",
            _("Plans extended because results are not back to normal"),
            "admin/tracker/_worklist_extended.html",
            open_extensions(user),
        ),
        WorklistSection(
            "due-soon",
            _("Due in the next 7 days"),
            "admin/tracker/_worklist_due_soon.html",
            labs_due_soon(user, today, days=7),
        ),
    ]
    return own + extra_sections(user)


@dataclass(frozen=True)
class SectionPage:
    """The rows of one section shown on the page, with the section's total."""

    section: WorklistSection
    rows: list
    count: int
    number: int  # 1-based; 0 when the whole section is shown
    per_page: int = PER_PAGE

    @property
    def key(self):
        return self.section.key

    @property
    def title(self):
        return self.section.title

    @property
    def template(self):
        return self.section.template

    @property
    def shows_all(self):
        return self.number == 0

    @property
    def num_pages(self):
        return max(1, math.ceil(self.count / self.per_page))

    @property
    def has_previous(self):
        return self.number > 1

    @property
    def has_next(self):
        return 0 < self.number < self.num_pages

    @property
    def first_index(self):
        """1-based position of the first row shown (0 when there is none)."""
        if not self.rows:
            return 0
        return 1 if self.shows_all else (self.number - 1) * self.per_page + 1

    @property
    def last_index(self):
        return self.first_index + len(self.rows) - 1 if self.rows else 0


def page_number(value):
    """The page asked for: ALL, or a number from 1 (anything else is page 1)."""
    if value == ALL:
        return 0
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def section_page(section, number=1, per_page=PER_PAGE):
    """One page of a section and its total in one query (COUNT(*) OVER () beside each row).

    number 0 is the whole section. A page past the end (rows handled since the link was made)
    answers the last page, at the cost of a count and a second page query.
    """
    if number == 0:
        rows = list(section.rows)
        return SectionPage(section, rows, len(rows), 0, per_page)
    counted = section.rows.annotate(worklist_total=Window(Count("*")))
    start = (number - 1) * per_page
    rows = list(counted[start : start + per_page])
    if rows:
        return SectionPage(section, rows, rows[0].worklist_total, number, per_page)
    if number == 1:
        return SectionPage(section, [], 0, 1, per_page)
    total = section.rows.count()
    last = max(1, math.ceil(total / per_page))
    start = (last - 1) * per_page
    return SectionPage(section, list(section.rows[start : start + per_page]), total, last, per_page)


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
