"""Many collections at once (a lab system's batch of messages): the rules of record_results,
in a fixed number of queries per batch whatever its size.

record_collections(collections, *, by, now=None, tests=None) records each Collection as
record_results would without corrections; one it would refuse gets its `error` and nothing
of it is saved, the others are recorded.
"""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Prefetch, Q
from django.utils import timezone

from journey.bulk import create_all
from journey.models import Journey

from ..models import ItemKind, LabResult, ScheduledLab
from .exit_rules import _apply_exit_rule, judged_items
from .results import (
    _announce,
    _complete_draws,
    _parse_rows,
    _rebase_later_results,
    _ResultContext,
    catalogue,
    check_collected_at,
    duplicate_message,
    new_result,
)


@dataclass
class Collection:
    """One journey's results of one collection time: rows are [(code, value, unit)]."""

    journey_id: int
    collected_at: datetime
    rows: list
    preliminary: bool = False
    results: list = field(default_factory=list)  # the new LabResult rows
    error: Exception | None = None  # ValidationError (by code) or ValueError: nothing saved


class _Context(_ResultContext):
    """A collection's context from what the batch read for all its journeys."""

    def __init__(self, journey, collected_at, tests, baselines, labs):
        self._read_baselines, self._read_labs = baselines, labs
        super().__init__(journey, collected_at, tests)

    def _baselines(self):
        return self._read_baselines

    def _open_labs(self):
        return [lab for lab in self._read_labs if lab.window_start <= self.day <= lab.window_end]


def record_collections(collections, *, by, now=None, tests=None):
    """Record the collections in one transaction, a journey's collections in turn; returns them."""
    now = now or timezone.now()
    tests = tests or catalogue()
    with transaction.atomic():
        for round_ in _rounds(collections):
            _record_round(round_, by, now, tests)
    return collections


def _rounds(collections):
    """Groups holding each journey once, in order: a later collection sees the earlier."""
    rounds = []
    for collection in collections:
        free = next((r for r in rounds if collection.journey_id not in r), None)
        if free is None:
            free = {}
            rounds.append(free)
        free[collection.journey_id] = collection
    return [list(r.values()) for r in rounds]


def _record_round(collections, by, now, tests):
    # Read and locked at once, in pk order (two batches never wait for each other in a circle).
    locked = Journey.objects.select_for_update(of=("self",)).select_related("center", "patient")
    journeys = {j.pk: j for j in locked.filter(pk__in=[c.journey_id for c in collections])}
    days = {c.journey_id: _day(journeys.get(c.journey_id), c.collected_at) for c in collections}
    baselines = _baselines(journeys.values())
    labs = _open_labs(days)
    before = _same_time(collections)
    for c in collections:
        journey = journeys.get(c.journey_id)
        try:
            if journey is None:
                raise ValueError(f"journey {c.journey_id} not found")
            ctx = _Context(journey, c.collected_at, tests, baselines[journey.pk], labs[journey.pk])
            c.results = _new_results(c, ctx, before, by, now)
        except (ValidationError, ValueError) as exc:
            c.results, c.error = [], exc
    create_all(LabResult, [r for c in collections for r in c.results])
    _after(collections, journeys, by, now)


def _day(journey, collected_at):
    if journey is None:
        return None
    zone = zoneinfo.ZoneInfo(journey.center.time_zone)
    return timezone.localtime(collected_at, zone).date()


def _baselines(journeys):
    """{journey id: {code: value}}: _ResultContext.baselines_of for every journey at once."""
    found = defaultdict(dict)
    ids = [j.pk for j in journeys if j.infusion_date]
    rows = LabResult.objects.counting().filter(
        Q(collected_at__date__lt=F("journey__infusion_date"))
        | Q(scheduled_lab__item__baseline=True),
        journey__in=ids,
    )
    if ids:
        values = rows.order_by("collected_at").values_list("journey_id", "test__code", "value")
        for journey_id, code, value in values:
            found[journey_id][code] = value
    return found


def _open_labs(days):
    """{journey id: [open lab draws whose window may hold a collection day]}."""
    found = defaultdict(list)
    known = [d for d in days.values() if d is not None]
    if not known:
        return found
    rows = ScheduledLab.objects.open().filter(
        journey__in=[j for j, d in days.items() if d is not None],
        item__kind=ItemKind.LAB,
        window_start__lte=max(known),
        window_end__gte=min(known),
    )
    results = Prefetch("results", queryset=LabResult.objects.select_related("test"))
    for lab in rows.select_related("item").prefetch_related(results):
        found[lab.journey_id].append(lab)
    return found


def _same_time(collections):
    """{(journey id, time, code): current result} of these journeys, times and tests."""
    codes = {row[0] for c in collections for row in c.rows}
    rows = LabResult.objects.current().filter(
        journey__in={c.journey_id for c in collections},
        collected_at__in={c.collected_at for c in collections},
        test__code__in=codes,
    )
    return {(r.journey_id, r.collected_at, r.test.code): r for r in rows.select_related("test")}


def _new_results(c, ctx, before, by, now):
    """record_results' checks and rows for one collection (ValidationError when refused)."""
    journey = ctx.journey
    zone = zoneinfo.ZoneInfo(journey.center.time_zone)
    check_collected_at(c.collected_at, journey.patient.date_of_birth, now, zone)
    parsed = _parse_rows(ctx.tests, c.rows)
    same = [before.get((journey.pk, c.collected_at, p[0].code)) for p in parsed]
    refused = {r.test.code: duplicate_message(r) for r in same if r is not None}
    if refused:
        raise ValidationError(refused)
    return [new_result(ctx, p, by, now, c.preliminary) for p in parsed]


def _after(collections, journeys, by, now):
    """record_results' after-steps for the round: draws completed, baselines carried to later
    results, exit rules judged (each once for the round), then the announcements."""
    counted = [c for c in collections if c.results and not c.preliminary]
    labs = {r.scheduled_lab_id for c in counted for r in c.results if r.scheduled_lab_id}
    _complete_draws(labs, by)
    for c in counted:
        labs |= _rebase_later_results(journeys[c.journey_id], c.results)
    for item in judged_items(labs):
        _apply_exit_rule(item, labs, by, now)
    for c in collections:
        if c.results:
            _announce(journeys[c.journey_id], c.results, critical=not c.preliminary)
