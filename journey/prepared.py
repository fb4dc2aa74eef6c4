"""Querysets whose shape never changes, compiled to SQL once per process and thread.

Building and compiling an ORM query costs 0.3-0.8 ms of Python, more than PostgreSQL takes to
run a page's small queries. A page query whose shape is fixed, and whose values alone change
(the user, a child's public id, today, a journey), is built once from stand-in values and
compiled; the places of the stand-ins among its parameters are remembered. Each request then
runs that SQL with its own values and turns the rows into model instances (or values_list
tuples) as the ORM would.

The queryset is still the ORM's, built by the same functions (journey.access's rules
included): only its compiling is done once. Nothing read from the database is kept.

    CHILDREN = Prepared(lambda user_id, now: ..., user_id=int, now=datetime)
    CHILDREN.run(user_id=request.user.pk, now=timezone.now())   # a list

A `list` argument (ids for `__in`) is compiled once per length (lengths up to MAX_LIST;
longer lists are compiled on each call), as `IN (%s, %s, ...)` changes with it.
"""

import datetime
import functools
import re
import threading
import uuid

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connections
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

MAX_LIST = 8
_ONLY_WHEN_ASKED = 2**31 - 1  # psycopg's count before it prepares unasked
_BASE_DAY = datetime.date(1901, 2, 3)
_BASE_TIME = datetime.datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=datetime.UTC)


def _stand_in(kind, index, length=0):
    """A value no real argument will have, distinct for each argument (and list item)."""
    if kind is int:
        return -917_000_000 - index * 100
    if kind is list:
        return [-917_000_000 - index * 100 - 1 - i for i in range(length)]
    if kind is uuid.UUID:
        return uuid.UUID(int=0xC0FFEE_0000_0000 + index)
    if kind is datetime.datetime:
        return _BASE_TIME + datetime.timedelta(seconds=index)
    if kind is datetime.date:
        return _BASE_DAY + datetime.timedelta(days=index)
    raise ImproperlyConfigured(f"no stand-in for {kind!r}")


def _int_wrappers():
    try:
        from psycopg.types.numeric import Int2, Int4, Int8
    except ImportError:  # psycopg 2 or SQLite alone
        return ()
    return (Int2, Int4, Int8)


_INT_WRAPPERS = _int_wrappers()


def _plain_int(ops):
    """How a plain int argument is sent: as a bigint on PostgreSQL (psycopg 3), else as is."""
    if _INT_WRAPPERS and _psycopg3(ops.connection):
        return _INT_WRAPPERS[-1]  # Int8
    return None


def _same(param, value):
    return type(param) is type(value) and param == value


def _forms(item, ops):
    """(the value as it may appear among the parameters, how to get it from the real one).
    A plain int goes to PostgreSQL as a bigint: psycopg would send 8441 as a smallint and
    35361 as an integer, and a prepared statement is kept per query and parameter types, so
    a list of ids of mixed sizes was prepared (and planned) anew on nearly every request."""
    forms = [(item, _plain_int(ops) if type(item) is int else None)]
    if type(item) is int:  # a small-integer column's value comes wrapped by psycopg
        forms += [(wrap(item), wrap) for wrap in _INT_WRAPPERS]
    if isinstance(item, uuid.UUID):
        forms.append((item.hex, lambda v: v.hex))
    elif isinstance(item, datetime.datetime):
        forms.append((ops.adapt_datetimefield_value(item), ops.adapt_datetimefield_value))
    elif isinstance(item, datetime.date):
        forms.append((ops.adapt_datefield_value(item), ops.adapt_datefield_value))
    return forms


def _places(params, stand_ins, ops, require_all=True):
    """For each parameter: (argument name, list index or None, how to adapt it), or
    ("", None, the fixed value). With require_all, each stand-in must be used."""
    wanted = []
    for name, value in stand_ins.items():
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            at = index if isinstance(value, list) else None
            wanted += [(form, (name, at, adapt)) for form, adapt in _forms(item, ops)]
    places, found = [], set()
    for param in params:
        place = next((p for form, p in wanted if _same(param, form)), None)
        if place is None and _derived(param):
            raise ImproperlyConfigured(
                f"the query holds {param!r}, computed from an argument: it would be frozen "
                "into the SQL; pass the computed value as an argument of its own"
            )
        places.append(place if place is not None else ("", None, param))
        found.update([place[0]] if place else [])
    missing = set(stand_ins) - found
    if missing and require_all:
        raise ImproperlyConfigured(f"the query does not use {sorted(missing)}")
    return places


def _derived(param):
    """A fixed value made from a stand-in (a day before `today`, an id plus one): compiled
    once, it would stay the stand-in's for every real value."""
    if isinstance(param, datetime.date):  # datetimes too
        return param.year == _BASE_DAY.year
    if isinstance(param, str):  # a date or time adapted to text (SQLite)
        return param.startswith(f"{_BASE_DAY.year}-")
    if isinstance(param, uuid.UUID):
        return param.int >> 32 == _stand_in(uuid.UUID, 0).int >> 32
    if isinstance(param, int) and not isinstance(param, bool):
        return -918_000_000 < param < -916_000_000
    return False


def _cursor(connection, prepare):
    """A cursor for `fetch`, or None: Django's own (SQLite, psycopg 2).

    On PostgreSQL (psycopg 3) it takes PostgreSQL's own $1 placeholders (_native) and binds
    the values on the server. With `prepare` it prepares the statement once per connection,
    so PostgreSQL stops parsing and planning it anew on every request (planning took
    0.2-1.4 ms of these queries, running them 0.1 ms); without, the statement is unnamed and
    planned for its values on each run. Django's wrapper still logs and counts it."""
    if not _psycopg3(connection):
        return None
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django leaves preparing off (None), which refuses even an explicit prepare=True;
        # Django's own cursors bind on the client and never prepare whatever this says.
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    with connection.wrap_database_errors:
        cursor = _native_cursor_class()(raw)
    cursor.prepare = prepare
    return connection._prepare_cursor(cursor)


def _psycopg3(connection):
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


def _log_readable(connection, sql, params):
    """The logged query (DEBUG, CaptureQueriesContext) with its values in it, as Django logs
    its own: psycopg gives the $1 text, or none for a statement it ran prepared."""
    log = connection.queries_log if connection.queries_logged else None
    if log:
        log[-1]["sql"] = connection.ops.compose_sql(sql, params)


@functools.cache
def _native_cursor_class():
    import psycopg
    from django.db.backends.postgresql.base import CursorMixin

    class NativeCursor(CursorMixin, psycopg.RawCursor):
        """Runs SQL with $1 placeholders, prepared or not as `prepare` says (psycopg keeps
        the last 100 prepared per connection); the project's other cursors bind on the
        client and prepare nothing."""

        prepare = True

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=self.prepare, binary=binary)

    return NativeCursor


_PLACEHOLDER = re.compile(r"%(.)")


@functools.lru_cache(maxsize=1024)
def _native(sql):
    """Django's SQL with PostgreSQL's placeholders ($1, $2, ...; %% as %), worked out once
    per statement: psycopg parses a statement of over 4,096 characters or 50 values anew on
    every run (the worklist's took ~1 ms a page)."""
    count = 0

    def replace(match):
        nonlocal count
        if match[1] == "%":
            return "%"
        if match[1] != "s":
            raise ImproperlyConfigured(f"unexpected placeholder %{match[1]} in {sql[:80]}")
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(replace, sql)


def bind(places, values):
    """The parameters for `places` (from _places) with these values."""
    out = []
    for name, index, adapt in places:
        if not name:
            out.append(adapt)  # a fixed value
            continue
        value = values[name] if index is None else values[name][index]
        out.append(adapt(value) if adapt else value)
    return out


def fetch(connection, sql, params, prepare=True):
    """Every row of `sql`, run on PostgreSQL with its own placeholders (_cursor), prepared
    unless `prepare` is False: then planned anew for its values each time (a prepared
    statement may switch to a generic plan after five runs, which can be slower where the
    values decide the plan). Logged as Django logs its queries."""
    native = _cursor(connection, prepare)
    with native or connection.cursor() as cursor:
        cursor.execute(_native(sql) if native else sql, params)
        rows = cursor.fetchall()
    if native:
        _log_readable(connection, sql, params)
    return rows


def inline_fixed(connection, sql, found):
    """`sql` with each fixed value among its parameters (a place ("", None, value) of
    _places) written in as a literal, on PostgreSQL (psycopg 3): a prepared statement's
    generic plan then sees the constants a partial index's condition names (flags, kinds,
    stages), as a plan made for the values does; with them as parameters it could not use
    those indexes (0.5 s instead of 2 ms for the worklist). Returns (sql, the other places);
    placeholders after the places' (LIMIT %s) stay. Only code's constants are fixed values:
    a request's own values stay parameters."""
    if not _psycopg3(connection):
        return sql, found
    from psycopg.sql import Literal

    connection.ensure_connection()
    raw, kept, out = connection.connection, [], []
    places_left = iter(found)
    for part in re.split(r"(%%|%s)", sql):
        if part != "%s":
            out.append(part)
            continue
        place = next(places_left, None)  # None: a placeholder after them (LIMIT %s)
        if place is None or place[0]:
            out.append(part)
            kept += [place] if place else []
        else:
            out.append(Literal(place[2]).as_string(raw).replace("%", "%%"))
    if next(places_left, None) is not None:
        raise ImproperlyConfigured("more parameters than placeholders")
    return "".join(out), kept


_PLAIN_ATTRIBUTES = (DeferredAttribute, ForeignKeyDeferredAttribute)


class _Plain:
    """Model.from_db for a plain model's rows: the loaded columns put in the instance's
    __dict__, as Model.__init__ does with them, without its per-field setattr and signals.

    Only for a model whose __init__ and from_db are Django's, with no pre_init or post_init
    receiver (checked when the query is compiled: those are connected as models are set up),
    and whose columns are plain attributes (no descriptor doing work on assignment)."""

    def __init__(self, model):
        self.model = model

    @classmethod
    def fits(cls, model, names):
        if model.__init__ is not Model.__init__ or model.from_db.__func__ is not _FROM_DB:
            return False
        if pre_init.has_listeners(model) or post_init.has_listeners(model):
            return False
        return all(type(getattr(model, name, None)) in _PLAIN_ATTRIBUTES for name in names)

    def from_db(self, db, field_names, values):
        obj = self.model.__new__(self.model)
        obj.__dict__.update(zip(field_names, values, strict=True))
        state = obj._state = ModelState()
        state.adding = False
        state.db = db
        return obj


_FROM_DB = Model.from_db.__func__


def _plain_populators(populators):
    """The select_related populators' models made by _Plain where it fits."""
    for populator in populators:
        if _Plain.fits(populator.model_cls, populator.init_list):
            populator.model_cls = _Plain(populator.model_cls)
        _plain_populators(populator.related_populators)
    return populators


class _Compiled:
    """One compiled query: its SQL, where each argument goes, and how rows become objects."""

    def __init__(self, queryset, stand_ins, require_all=True):
        if queryset._prefetch_related_lookups or queryset._known_related_objects:
            raise ImproperlyConfigured("a prepared query reads one queryset, no prefetch")
        self.db = queryset.db
        self.iterable = queryset._iterable_class
        compiler = self.compiler = queryset.query.get_compiler(using=self.db)
        try:
            self.sql, params = compiler.as_sql()
        except EmptyResultSet:
            self.sql, params = None, ()
        ops = compiler.connection.ops
        self.places = _places(params, stand_ins, ops, require_all) if self.sql else []
        self.col_count = compiler.col_count if compiler.has_extra_select else None
        self.converters = compiler.get_converters(
            [s[0] for s in compiler.select[0 : compiler.col_count]]
        )
        if self.iterable is ModelIterable:
            self._model_setup()
        elif self.iterable not in (ValuesListIterable, FlatValuesListIterable):
            raise ImproperlyConfigured(f"{self.iterable.__name__} is not supported")

    def _model_setup(self):
        compiler = self.compiler
        klass_info, select = compiler.klass_info, compiler.select
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.model_slice = slice(fields[0], fields[-1] + 1)
        self.init_list = [f[0].target.attname for f in select[self.model_slice]]
        self.populators = _plain_populators(get_related_populators(klass_info, select, self.db))
        plain = _Plain.fits(self.model, self.init_list)
        self.maker = _Plain(self.model) if plain else self.model
        self.annotations = list(compiler.annotation_col_map.items())

    def params(self, values):
        return bind(self.places, values)

    def rows(self, values):
        if self.sql is None:
            return []
        rows = fetch(connections[self.db], self.sql, self.params(values))
        if self.col_count is not None:
            rows = [row[: self.col_count] for row in rows]
        if self.converters:
            rows = list(self.compiler.apply_converters(rows, self.converters))
        return rows

    def run(self, values):
        rows = self.rows(values)
        if self.iterable is FlatValuesListIterable:
            return [row[0] for row in rows]
        if self.iterable is ValuesListIterable:
            return [tuple(row) for row in rows]
        return [self._instance(row) for row in rows]

    def _instance(self, row):
        obj = self.maker.from_db(self.db, self.init_list, row[self.model_slice])
        for populator in self.populators:
            populator.populate(row, obj)
        for name, position in self.annotations:
            setattr(obj, name, row[position])
        return obj


# For querysets put together by hand (tracker.services.worklist_plan): the same pieces.
stand_in = _stand_in
places = _places
Compiled = _Compiled


class Prepared:
    """A queryset built by `build(**arguments)`, compiled once; `kinds` names each argument's
    type (int, uuid.UUID, datetime.date, datetime.datetime, or list of ints)."""

    def __init__(self, build, **kinds):
        self.build = build
        self.kinds = kinds
        self._local = threading.local()

    def _compiled(self, values):
        lengths = tuple(len(values[name]) for name, kind in self.kinds.items() if kind is list)
        key = (timezone.get_current_timezone_name(), lengths)
        if any(n > MAX_LIST for n in lengths):
            return self._compile(lengths)
        cache = self._local.__dict__.setdefault("cache", {})
        if key not in cache:
            cache[key] = self._compile(lengths)
        return cache[key]

    def _compile(self, lengths):
        sizes = iter(lengths)
        stand_ins = {
            name: _stand_in(kind, index, next(sizes) if kind is list else 0)
            for index, (name, kind) in enumerate(self.kinds.items())
        }
        return _Compiled(self.build(**stand_ins), stand_ins)

    def run(self, **values):
        """The queryset's results for these values, as a list."""
        if set(values) != set(self.kinds):
            raise TypeError(f"expected {sorted(self.kinds)}, got {sorted(values)}")
        return self._compiled(values).run(values)

    def first(self, **values):
        found = self.run(**values)
        return found[0] if found else None
