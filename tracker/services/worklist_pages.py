"""One page of a worklist section and its total, and the draw rows of the lab sections."""

import math
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Min, Window

from ..draws import draw_key, group_draws

PER_PAGE = 20
ALL = "all"


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


MAX_PAGE = 100_000  # a larger number is past the end: it answers the last page


def page_number(value):
    """The page asked for: ALL, or a number from 1 to MAX_PAGE (anything else is page 1)."""
    if value == ALL:
        return 0
    try:
        return min(max(1, int(value)), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


def section_pages(wanted, per_page=PER_PAGE):
    """The page of each (section, number, fields) in `wanted`, with the section's total.

    number 0 is the whole section. A page past the end (rows handled since the link was made)
    answers the last page, at the cost of a count and one more key query. With `fields` the
    rows are dicts of just those values and "pk" (a draw section: one dict per draw, see
    _draw_rows); without, model instances. One statement reads every section's keys with
    its total (_page_keys), on each filtered table alone; then one query joins a section's
    rows for just those keys, for each section with rows. (One query joining first made
    PostgreSQL misjudge a center's rows and hash every plan item: 16 ms, not 4.)
    """
    found = _page_keys([(section, *_slice(number, per_page)) for section, number, _f in wanted])
    pages = []
    for (section, number, fields), (keys, total) in zip(wanted, found, strict=True):
        if not keys and number > 1:
            total = _keyed(section).count()
            number = max(1, math.ceil(total / per_page))
            [(keys, _total)] = _page_keys([(section, *_slice(number, per_page))])
        rows = _rows(section, keys, fields)
        pages.append(SectionPage(section, rows, total, number, per_page))
    return pages


def _slice(number, per_page):
    """(first row, row count or None for all) of page `number`."""
    return (0, None) if number == 0 else ((number - 1) * per_page, per_page)


def _keyed(section):
    """The section's keys in its order: primary keys, or (journey, due day) for draws."""
    if section.draw_order:
        grouped = section.rows.values("journey_id", "due_on").annotate(
            first_close=Min("window_end")
        )
        return grouped.order_by(*section.draw_order)
    return section.rows.values("pk")


def _counted(section, start, per_page):
    """The keys of one page with the section's total beside each, as a queryset.

    COUNT(*) OVER () puts the total beside each key. Sorting by it first (the same value on
    every row, so the order is the section's own) keeps PostgreSQL 15 from walking an index in
    the section's order in the hope of stopping after a page: the window needs every row, and
    such a walk reads every center's rows (250 ms at 100,000 patients; the center's own
    journeys take a few ms).
    """
    rows = _keyed(section)
    order = rows.query.order_by or rows.model._meta.ordering
    counted = rows.annotate(worklist_total=Window(Count("*"))).order_by("worklist_total", *order)
    return counted[start : None if per_page is None else start + per_page]


# Each section's page in one shape, so that one UNION ALL holds them all: the section's
# place, a primary key or a draw's journey, due day and first window end, the total.
_PK_COLUMNS = '"pk", CAST(NULL AS date), CAST(NULL AS date)'
_DRAW_COLUMNS = '"journey_id", "due_on", "first_close"'


def _page_keys(wanted):
    """[(keys of one page, the section's total)] for each (section, start, count) of
    `wanted`, in one statement: each section's key query (_counted) is a branch of a UNION
    ALL, planned on its own. A section that cannot have rows (no centers) is not asked."""
    branches, params = [], []
    for index, (section, start, per_page) in enumerate(wanted):
        try:
            sql, branch_params = _counted(section, start, per_page).query.sql_with_params()
        except EmptyResultSet:
            continue
        branches.append(branch_sql(index, section, sql))
        params.extend(branch_params)
    found = [[] for _wanted in wanted]
    if branches:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(branches), params)
            for index, *row in cursor.fetchall():
                found[index].append(row)
    return [_keys(section, rows) for (section, _s, _p), rows in zip(wanted, found, strict=True)]


def branch_sql(index, section, sql):
    """A section's key query (`sql`, from _counted) as a branch of the UNION ALL: its place
    in the page, its keys in one shape, its total. No parentheses around a branch: SQLite
    refuses them (the branch's ORDER BY and LIMIT are inside its derived table)."""
    columns = _DRAW_COLUMNS if section.draw_order else _PK_COLUMNS
    return f'SELECT {index}, {columns}, "worklist_total" FROM ({sql}) AS "page{index}"'


def _keys(section, rows):
    """(keys, total) of one section's rows from _page_keys. A draw section's keys are put in
    its draw order here (a UNION ALL keeps no branch's order); primary keys are put in order
    by the rows query."""
    total = rows[0][-1] if rows else 0
    if not section.draw_order:
        return [pk for pk, _due, _close, _total in rows], total
    draws = [
        {"journey_id": journey, "due_on": _day(due), "first_close": _day(close)}
        for journey, due, close, _total in rows
    ]
    draws.sort(key=lambda draw: tuple(draw[name] for name in section.draw_order))
    return [(draw["journey_id"], draw["due_on"]) for draw in draws], total


def _day(value):
    """A date from the raw cursor: SQLite gives its text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _rows(section, keys, fields):
    if not keys:
        return []
    if section.draw_order:
        labs = section.rows if section.draw_labs is None else section.draw_labs
        return _draw_rows(labs, keys, fields or ())
    found = section.rows.filter(pk__in=keys)  # in the section's order
    return list(found.values("pk", *fields) if fields else found)


def _draw_rows(labs, keys, fields):
    """One dict per draw (tracker.draws), in the keys' order: `fields` of its first lab, its
    journey and due day, its tests' titles, its labs' public ids, its window and whether a
    test is taken in hospital."""
    # The page's journeys and days (scheduledlab_open_journey); a lab of one draw's
    # journey on another draw's day is dropped here.
    found = labs.filter(journey_id__in={j for j, _d in keys}, due_on__in={d for _j, d in keys})
    return draws_in_order(found.values(*DRAW_LAB_FIELDS, *fields).order_by("pk"), keys, fields)


def draws_in_order(lab_rows, keys, fields):
    """The draws of `keys`, in their order, from their labs' rows (dicts of DRAW_LAB_FIELDS
    and `fields`, by primary key); a lab of a page's journey on a day not of its draw is
    dropped."""
    wanted = set(keys)
    draws = {
        (draw.journey_id, draw.due_on): draw
        for draw in group_draws(row for row in lab_rows if draw_key(row) in wanted)
    }
    return [_draw(draws[key], fields) for key in keys if key in draws]


DRAW_LAB_FIELDS = ("journey_id", "due_on", "public_id", "item__title", "item__inpatient")
DRAW_LAB_FIELDS += ("window_start", "window_end")


def _draw(draw, fields):
    first = draw.rows[0]
    return {
        **{name: first[name] for name in fields},
        "journey_id": draw.journey_id,
        "due_on": draw.due_on,
        "opens_on": draw.window_start,
        "closes_on": draw.window_end,
        "tests": sorted({row["item__title"] for row in draw.rows}),
        "labs": [str(row["public_id"]) for row in draw.rows],
        "in_hospital": any(row["item__inpatient"] for row in draw.rows),
    }
