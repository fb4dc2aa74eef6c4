"""Lab results entered per second through tracker.services.record_results.

Each collection (one journey, one draw's tests) goes through the service: parse, convert, flag,
link to the open draw, complete it, apply the exit rules, announce after commit. Beside it, in
the same run and interleaved collection by collection, the same LabResult rows are inserted
with the bare ORM (one create per row, one transaction per collection, no conversion, flagging
or linking): `ratio_vs_bare_insert` is service time / bare time, which holds on a noisy machine.

    python bench/results.py [--patients 10000] [--results 2000]
"""

import itertools
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

SAMPLE_COLLECTIONS = 5  # measured for queries only, before the timed loop


def _collections(count, rng):
    """(journey, rows) pairs: each journey's first post-infusion lab item, plausible values."""
    from devdata import scale
    from devdata.demo_results import NORMAL
    from journey.models import Journey, Stage
    from tracker.models import LabTest

    tests = {t.code: t for t in LabTest.objects.all()}
    journeys = (
        Journey.objects.filter(
            stage__in=[Stage.MONITORING, Stage.FOLLOW_UP],
            therapy__isnull=False,
            center__name__startswith=scale.CENTER_PREFIX,
        )
        .select_related("therapy")
        .order_by("pk")
    )
    out = []
    for journey in journeys.iterator(chunk_size=500):
        codes = _draw_tests(journey.therapy)
        if not codes:
            continue
        rows = [
            (code, _value(rng, NORMAL.get(code, "1"), tests[code]), tests[code].unit)
            for code in codes
        ]
        out.append((journey, rows))
        if len(out) >= count:
            break
    return out


def _draw_tests(therapy):
    for item in therapy.monitoring_schedule or []:
        if item.get("tests") and not item.get("baseline"):
            return list(item["tests"])
    return []


def _value(rng, normal, test):
    """Around the normal value; one in ten raised enough to be flagged (never impossible)."""
    factor = rng.uniform(0.8, 1.2) if rng.random() < 0.9 else rng.uniform(2, 6)
    return f"{min(float(normal) * factor, float(test.plausible_max) * 0.9):.2f}"


def _bare_insert(results, collected_at):
    from django.db import transaction

    from tracker.models import LabResult

    skip = {"id", "public_id", "scheduled_lab"}
    with transaction.atomic():
        for r in results:
            fields = {
                f.attname: getattr(r, f.attname)
                for f in LabResult._meta.concrete_fields
                if f.name not in skip
            }
            # One current result per test and time (a second is a correction): another time.
            fields["collected_at"] = collected_at
            LabResult.objects.create(**fields)


def _queries_per_result(sample, by, when):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tracker.services import record_results

    made = 0
    with CaptureQueriesContext(connection) as ctx:
        for journey, rows in sample:
            made += len(record_results(journey, when, rows, by=by))
    return len(ctx.captured_queries) / max(made, 1)


def run(args):
    from django.utils import timezone

    from journey.models import Membership
    from tracker.services import record_results

    rng = random.Random(args.seed)
    common.ensure_seeded(args.patients, args.centers, args.seed)
    # Two results per collection at least; a small set is cycled through again.
    collections = _collections(args.results // 2 + SAMPLE_COLLECTIONS, rng)
    if len(collections) <= SAMPLE_COLLECTIONS:
        raise SystemExit("not enough journeys in monitoring: seed more patients")
    by = Membership.objects.select_related("user").first().user
    when = timezone.now() - timedelta(hours=1)
    queries = _queries_per_result(collections[:SAMPLE_COLLECTIONS], by, when)
    service_s = bare_s = 0.0
    made = calls = 0
    common.log(f"recording about {args.results} results")
    for journey, rows in itertools.cycle(collections[SAMPLE_COLLECTIONS:]):
        if made >= args.results:
            break
        calls += 1
        started = time.perf_counter()
        # Each collection at its own minute: the same test at the same time is a correction.
        at = when - timedelta(minutes=2 * calls)
        results = record_results(journey, at, rows, by=by)
        middle = time.perf_counter()
        _bare_insert(results, at - timedelta(minutes=1))
        bare_s += time.perf_counter() - middle
        service_s += middle - started
        made += len(results)
    return {
        "bench": "results",
        "results": made,
        "collections": calls,
        "seconds": round(service_s, 3),
        "results_per_s": round(made / service_s, 1),
        "queries_per_result": round(queries, 2),
        "bare_insert_seconds": round(bare_s, 3),
        "bare_insert_results_per_s": round(made / bare_s, 1),
        "ratio_vs_bare_insert": round(service_s / bare_s, 2),
        "patients": args.patients,
        "database": common.database_label(),
        "machine": common.machine(),
    }


def main(argv=None):
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--results", type=int, default=2000)
    args = p.parse_args(argv)
    common.setup_django()
    common.emit(run(args))


if __name__ == "__main__":
    main()
