"""The worklist's lists: one queryset each, scoped to the user's centers, open journeys only.

Each list is a WorklistSection whose rows are an ordered queryset, most urgent first; the page
shows one slice of each (section_page) and the CSV (tracker.export) reads the whole querysets.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, F, Lookup, QuerySet, Window
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from journey.access import center_ids_for, scope_to_centers
from journey.models import OPEN_STAGES, Journey

from ..models import LabResult, PlanItem, PlanReview, ReviewStatus, ScheduledLab

PER_PAGE = 20
ALL = "all"


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
    results = LabResult.objects.awaiting_review()
    return (
        _open_journeys(results, user, journeys)
        .select_related("test", "journey__patient")
        .order_by("collected_at", "pk")
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
    pre-formats (tracker.admin.worklist_rows)."""

    key: str
    title: str
    template: str
    rows: QuerySet


def sections(user, today=None):
    """Every list of the worklist, in page order: the tracker's five, then the registered ones."""
    today = today or timezone.localdate()
    journeys = open_journey_ids(user)  # one query for three lists
    own = [
        WorklistSection(
            "overdue",
            _("Overdue labs and visits"),
            "",
            overdue_labs(user, today, journeys=journeys),
        ),
        WorklistSection(
            "review",
            _("Abnormal results awaiting review"),
            "",
            results_awaiting_review(user, journeys=journeys),
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
        ),
        WorklistSection(
            "label-review",
            _("Label changed: review plan"),
            "",
            label_reviews(user, journeys=journeys),
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


def section_page(section, number=1, per_page=PER_PAGE, fields=None):
    """One page of a section and its total: the page's keys and the count, then its rows.

    number 0 is the whole section. A page past the end (rows handled since the link was made)
    answers the last page, at the cost of a count and one more key query. With `fields` (names
    and related lookups) the rows are dicts of just those values and "pk": what a page shows,
    without building model instances.
    """
    if number == 0:
        keys, total = _page_keys(section.rows, 0, None)
        rows = _rows_in_order(section.rows, keys, fields)
        return SectionPage(section, rows, total, 0, per_page)
    keys, total = _page_keys(section.rows, (number - 1) * per_page, per_page)
    if not keys and number > 1:
        total = section.rows.count()
        number = max(1, math.ceil(total / per_page))
        keys, _total = _page_keys(section.rows, (number - 1) * per_page, per_page)
    rows = _rows_in_order(section.rows, keys, fields)
    return SectionPage(section, rows, total or 0, number, per_page)


def _page_keys(rows, start, per_page):
    """(primary keys of one page, the section's total), in one query on the filtered tables only.

    COUNT(*) OVER () puts the total beside each key. Sorting by it first (the same value on
    every row, so the order is the section's own) keeps PostgreSQL 15 from walking an index in
    the section's order in the hope of stopping after a page: the window needs every row, and
    such a walk reads every center's rows (250 ms at 100,000 patients; the center's own
    journeys take a few ms). The joins for display wait for the page's keys (_rows_in_order).
    """
    order = rows.query.order_by or rows.model._meta.ordering
    counted = rows.annotate(worklist_total=Window(Count("*")))
    page = counted.order_by("worklist_total", *order).values_list("pk", "worklist_total")
    keys = list(page[start : None if per_page is None else start + per_page])
    return [pk for pk, _total in keys], keys[0][1] if keys else 0


def _rows_in_order(rows, keys, fields=None):
    """The rows of these keys, in the keys' order: instances with their related objects, or
    dicts of `fields` (and "pk") when given."""
    if not keys:
        return []
    found = rows.filter(pk__in=keys)
    if fields:
        by_pk = {row["pk"]: row for row in found.values("pk", *fields)}
    else:
        by_pk = {row.pk: row for row in found}
    return [by_pk[pk] for pk in keys if pk in by_pk]


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
