"""The worklist's SQL, compiled once per process and run with each request's values.

Building the fourteen sections' querysets and compiling them cost more Python than PostgreSQL
takes to run them (~12 ms a page). Their shape depends only on how many centers the user
works at, the registered sections and the time zone; only values change (the user's centers,
today, now, the pages). So a plan builds the sections once for a stand-in user of that many
centers at a stand-in time (journey.prepared's stand-ins), compiles each section's key query
(worklist_pages._counted) with its LIMIT and OFFSET as parameters, and compiles the row
queries on first use; each request runs that SQL with its own values.

Access is still decided on each request: the user's centers come from
journey.access.center_ids_for, and the sections' own scoping (journey.access.scope_to_centers)
is in the SQL. Nothing read from the database is kept. Two guards keep a value from being
frozen into the SQL: building the sections may not run a query, and the SQL may hold no fixed
date or time (a provider must take its time from `at`, never from the clock). A superuser
(every center), a user without a center, or a section shown whole takes
worklist_pages.section_pages instead.
"""

import datetime
import math
import re
import threading
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connection
from django.utils import timezone

from journey.access import center_ids_for
from journey.prepared import Compiled, bind, fetch, inline_fixed, places, stand_in

from . import worklist
from .worklist_pages import (
    DRAW_LAB_FIELDS,
    PER_PAGE,
    SectionPage,
    _counted,
    _keys,
    branch_sql,
    draws_in_order,
    section_pages,
)

# A slice no page asks for: its "LIMIT 917011 OFFSET 917013" becomes two parameters.
_START, _COUNT = 917_013, 917_011
# Stand-in indexes of the row queries' own values (the plan's take 0 to 19).
_KEYS, _JOURNEYS, _FIRST_DAY, _LAST_DAY = 20, 21, 22, 23


def pages_for(user, at, number_for, fields_for, per_page=PER_PAGE):
    """Every section's page for `user` at `at` (a WorklistTime): number_for(section) is the
    page asked for (worklist_pages.page_number), fields_for(section) the row fields (or
    None: model instances). Returns [SectionPage] in page order."""
    ids = center_ids_for(user)
    if ids:
        plan = _plan(len(ids))
        numbers = [number_for(section) for section in plan.sections]
        if all(numbers):  # no section shown whole
            return plan.pages(sorted(ids), at, numbers, fields_for, per_page)
    wanted = [(s, number_for(s), fields_for(s)) for s in worklist.sections(user, at=at)]
    return section_pages(wanted, per_page)


_local = threading.local()


def _plan(count):
    """The plan for users of `count` centers, built once per process and thread."""
    key = (count, worklist.providers(), timezone.get_current_timezone_name(), connection.alias)
    plans = _local.__dict__.setdefault("plans", {})
    if key not in plans:
        plans[key] = _Plan(count)
    return plans[key]


class _StaffAt:
    """A stand-in staff user of some centers: what journey.access.center_ids_for reads."""

    is_authenticated = is_active = True
    is_superuser = False

    def __init__(self, center_ids):
        self._waypoint_center_ids = center_ids


class _StandInTime:
    """A WorklistTime of stand-ins; each derived value gets a stand-in of its own, and its
    computation is kept to be run on each request's time."""

    def __init__(self):
        self.today = stand_in(datetime.date, 1)
        self.now = stand_in(datetime.datetime, 2)
        self.computed = {}  # name: (computation, its stand-in)

    def derived(self, compute):
        value = stand_in(type(compute(self)), 3 + len(self.computed))
        self.computed[f"at{len(self.computed)}"] = (compute, value)
        return value

    def stand_ins(self):
        found = {name: value for name, (_compute, value) in self.computed.items()}
        return {"today": self.today, "now": self.now, **found}

    def values(self, at):
        found = {name: compute(at) for name, (compute, _value) in self.computed.items()}
        return {"today": at.today, "now": at.now, **found}


@dataclass(frozen=True)
class _Branch:
    """One section's key query: its SQL (a UNION ALL branch) and where its values go."""

    index: int
    sql: str
    places: list

    def params(self, values, start, count):
        return [*bind(self.places, values), count, start]


class _Statement:
    """Branches run as one UNION ALL, prepared once per connection (its planning was 1 of
    its 2.5 ms at 100,000 patients). Code's constants are written into the SQL
    (journey.prepared.inline_fixed), so its generic plan reads the same partial indexes as a
    plan made for the values."""

    def __init__(self, branches):
        self.branches = branches
        self.sql = " UNION ALL ".join(branch.sql for branch in branches)

    def rows(self, values, starts, per_page):
        if not self.branches:
            return []
        params = []
        for branch in self.branches:
            params += branch.params(values, starts[branch.index], per_page)
        return fetch(connection, self.sql, params)


class _Plan:
    def __init__(self, count):
        self.time = _StandInTime()
        centers = stand_in(list, 0, count)
        with connection.execute_wrapper(_no_query):
            self.sections = worklist.sections(_StaffAt(centers), at=self.time)
        self.stand_ins = {"centers": centers, **self.time.stand_ins()}
        found = (self._branch(i, s) for i, s in enumerate(self.sections))
        self.branches = [branch for branch in found if branch]
        self.statement = _Statement(self.branches)
        self._rows = {}

    def _branch(self, index, section):
        try:
            sql, params = _counted(section, _START, _COUNT).query.sql_with_params()
        except EmptyResultSet:
            return None
        tail = connection.ops.limit_offset_sql(_START, _START + _COUNT)
        if not sql.endswith(tail):
            raise ImproperlyConfigured(f"{section.key}: the key query does not end in {tail}")
        sql = branch_sql(index, section, f"{sql[: -len(tail)]}LIMIT %s OFFSET %s")
        found = places(params, self.stand_ins, connection.ops, require_all=False)
        _no_fixed_time(section, found)
        return _Branch(index, *inline_fixed(connection, sql, found))

    def pages(self, center_ids, at, numbers, fields_for, per_page):
        values = {"centers": center_ids, **self.time.values(at)}
        found = self._keys(values, [(n - 1) * per_page for n in numbers], per_page)
        pages = []
        for section, number, (keys, total) in zip(self.sections, numbers, found, strict=True):
            if not keys and number > 1:  # past the end: the last page
                number, (keys, total) = self._last_page(section, values, per_page)
            rows = self._section_rows(section, keys, fields_for(section), values)
            pages.append(SectionPage(section, rows, total, number, per_page))
        return pages

    def _keys(self, values, starts, per_page):
        """(keys, total) of each section's page, in one statement."""
        found = [[] for _section in self.sections]
        for index, *row in self.statement.rows(values, starts, per_page):
            found[index].append(row)
        return [_keys(section, rows) for section, rows in zip(self.sections, found, strict=True)]

    def _last_page(self, section, values, per_page):
        branch = next((b for b in self.branches if b.index == self.sections.index(section)), None)
        if branch is None:
            return 1, ([], 0)
        first = fetch(connection, branch.sql, branch.params(values, 0, 1))
        number = max(1, math.ceil((first[0][-1] if first else 0) / per_page))
        params = branch.params(values, (number - 1) * per_page, per_page)
        rows = fetch(connection, branch.sql, params)
        return number, _keys(section, [row[1:] for row in rows])

    def _section_rows(self, section, keys, fields, values):
        if not keys:
            return []
        if section.draw_order:
            return self._draws(section, keys, fields or (), values)
        compiled = self._compiled(section, len(keys), fields, _by_keys)
        found = compiled.run({**values, "keys": keys})
        return [dict(zip(("pk", *fields), row, strict=True)) for row in found] if fields else found

    def _draws(self, section, keys, fields, values):
        journeys = sorted({journey for journey, _day in keys})
        days = [day for _journey, day in keys]
        compiled = self._compiled(section, len(journeys), fields, _by_draws)
        asked = {"journeys": journeys, "first_day": min(days), "last_day": max(days)}
        names = (*DRAW_LAB_FIELDS, *fields)
        found = compiled.run({**values, **asked})
        return draws_in_order([dict(zip(names, row, strict=True)) for row in found], keys, fields)

    def _compiled(self, section, count, fields, build):
        """A row query of `section` for `count` keys (or journeys), compiled on first use."""
        key = (section.key, count, fields, build)
        if key not in self._rows:
            queryset, own = build(section, count, fields)
            stand_ins = {**self.stand_ins, **own}
            # Prepared on the server: rows by primary key, and a page's draws (their
            # journeys' open labs, read by scheduledlab_open_journey whatever the days; its
            # planning took 1 ms of 1.5). Only the key statement's lab lists are planned for
            # their values (a generic plan of it took 0.5 s instead of 5 ms).
            compiled = Compiled(queryset, stand_ins, require_all=False)
            _no_fixed_time(section, compiled.places)
            self._rows[key] = compiled
        return self._rows[key]


def _by_keys(section, count, fields):
    keys = stand_in(list, _KEYS, count)
    found = section.rows.filter(pk__in=keys)
    return (found.values_list("pk", *fields) if fields else found), {"keys": keys}


def _by_draws(section, count, fields):
    """The labs of a page's draws: their journeys' open labs between the first and the last
    day (scheduledlab_open_journey); worklist_pages.draws_in_order keeps the draws' own."""
    own = {
        "journeys": stand_in(list, _JOURNEYS, count),
        "first_day": stand_in(datetime.date, _FIRST_DAY),
        "last_day": stand_in(datetime.date, _LAST_DAY),
    }
    labs = section.rows if section.draw_labs is None else section.draw_labs
    found = labs.filter(
        journey_id__in=own["journeys"],
        due_on__gte=own["first_day"],
        due_on__lte=own["last_day"],
    )
    return found.values_list(*DRAW_LAB_FIELDS, *fields).order_by("pk"), own


def _no_query(execute, sql, params, many, context):
    raise ImproperlyConfigured(
        "a worklist section ran a query while it was built: its answer would be kept in the "
        f"compiled SQL ({sql[:80]})"
    )


_ISO_DAY = re.compile(r"\d{4}-\d\d-\d\d")  # a date or time as SQLite is given it


def _no_fixed_time(section, found):
    """No date or time may be fixed in the SQL: it would be the one of the first request."""
    for name, _index, value in found:
        if name:
            continue
        if isinstance(value, datetime.date) or (isinstance(value, str) and _ISO_DAY.match(value)):
            raise ImproperlyConfigured(
                f"{section.key}: the SQL holds {value!r}; take the time from `at`"
            )
