"""One page of a worklist section and its total, and the draw rows of the lab sections.

A section whose rows the admin pre-formats (`fields` given) costs one query: the page's values
with the section's total beside each row. A section with its own template gets model
instances: the page's keys with the total, then the instances (two queries).
"""

import math
import uuid
from dataclasses import dataclass

from django.db.models import Aggregate, Count, IntegerField, Max, Min, TextField, Window
from django.db.models.functions import Cast

PER_PAGE = 20
ALL = "all"
_SEPARATOR = "\x1f"  # the ASCII unit separator: never in a test's title


class _ListAgg(Aggregate):
    """The group's values as one text, joined by _SEPARATOR (no order: the caller sorts)."""

    function = "STRING_AGG"
    template = "%(function)s(%(expressions)s, chr(31))"
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            function="GROUP_CONCAT",
            template="%(function)s(%(expressions)s, char(31))",
            **extra,
        )


# What one draw row holds beside its journey, due day and the table's fields.
DRAW_VALUES = {
    "opens_on": Min("window_start"),
    "closes_on": Max("window_end"),
    "first_close": Min("window_end"),
    "test_titles": _ListAgg("item__title"),
    "lab_ids": _ListAgg(Cast("public_id", TextField())),
    "in_hospital": Max(Cast("item__inpatient", IntegerField())),
}


@dataclass(frozen=True)
class SectionPage:
    """The rows of one section shown on the page, with the section's total."""

    section: object  # tracker.services.worklist.WorklistSection
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
    """One page of a section and its total.

    number 0 is the whole section. A page past the end (rows handled since the link was made)
    answers the last page, at the cost of a count and one more page query. With `fields` the
    rows are dicts of just those values and "pk" (a draw section: one dict per draw, see
    draw_rows), in one query; without, model instances in two.
    """
    fetch = _instances if fields is None else _values
    source = _source(section, fields)
    if number == 0:
        rows, total = fetch(source, 0, None)
        return SectionPage(section, rows, total, 0, per_page)
    rows, total = fetch(source, (number - 1) * per_page, per_page)
    if not rows and number > 1:
        total = source.count()
        number = max(1, math.ceil(total / per_page))
        rows, _total = fetch(source, (number - 1) * per_page, per_page)
    return SectionPage(section, rows, total or 0, number, per_page)


def _source(section, fields):
    """What the page reads: the section's rows, its values, or its draws (grouped)."""
    if fields is None:
        return section.rows
    if section.draw_order:
        grouped = section.rows.values("journey_id", "due_on", *fields).annotate(**DRAW_VALUES)
        return grouped.order_by(*section.draw_order)
    return section.rows.values("pk", *fields)


def _counted(rows, start, per_page):
    """(rows of one page, the section's total) in one query.

    COUNT(*) OVER () puts the total beside each row. Sorting by it first (the same value on
    every row, so the order is the section's own) keeps PostgreSQL 15 from walking an index in
    the section's order in the hope of stopping after a page: the window needs every row, and
    such a walk reads every center's rows (250 ms at 100,000 patients; the center's own
    journeys take a few ms).
    """
    order = rows.query.order_by or rows.model._meta.ordering
    counted = rows.annotate(worklist_total=Window(Count("*"))).order_by("worklist_total", *order)
    page = list(counted[start : None if per_page is None else start + per_page])
    return page, page[0]["worklist_total"] if page else 0


def _values(rows, start, per_page):
    page, total = _counted(rows, start, per_page)
    return [_draw(row) if "lab_ids" in row else row for row in page], total


def _draw(row):
    """A draw's row: its tests' titles sorted and deduplicated, its labs' public ids."""
    row["tests"] = sorted(set(row.pop("test_titles").split(_SEPARATOR)))
    row["labs"] = [str(uuid.UUID(raw)) for raw in row.pop("lab_ids").split(_SEPARATOR)]
    row["in_hospital"] = bool(row["in_hospital"])
    return row


def _instances(rows, start, per_page):
    """Model instances of one page, in order: the keys and total first (on the filtered
    tables only), then the rows with their joins."""
    keyed = rows.values("pk")
    page, total = _counted(keyed, start, per_page)
    keys = [row["pk"] for row in page]
    if not keys:
        return [], total
    by_pk = {row.pk: row for row in rows.filter(pk__in=keys)}
    return [by_pk[pk] for pk in keys if pk in by_pk], total
