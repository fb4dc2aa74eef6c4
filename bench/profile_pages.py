"""Where a portal page's time goes, in this process: no server, no load, no network.

For each page of bench/pages.py (logged in as the same scale guardian), `--repeats` GETs
through the test Client, interleaved page by page so a busy machine slows them all alike;
prints one JSON line with each page's median and p10 milliseconds and its query count. The
figures are the in-process `alone_ms` of bench/pages.py, taken over more repeats.

    python bench/profile_pages.py [--repeats 200] [--pages guardian_home,child_labs]
    python bench/profile_pages.py --profile child_labs [--top 40]   # cProfile, to stderr

Compare two checkouts by running this script from each against the same database, one after
the other (or alternating), and comparing the medians. It reads and never writes (except the
login's session).
"""

import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

GUARDIAN_PAGES = ("guardian_hello", "guardian_home", "child_journey", "child_plan")
GUARDIAN_PAGES += ("child_card", "child_labs")


def _clients(pages):
    from django.test import Client

    from journey.security.testing import force_login_verified

    clients = {}
    for name, (path, user) in pages.items():
        client = Client()
        force_login_verified(client, user)
        assert client.get(path).status_code == 200, name  # the first request of the login
        clients[name] = (client, path)
    return clients


def _timed(clients, repeats):
    timings = {name: [] for name in clients}
    for _ in range(repeats):
        for name, (client, path) in clients.items():
            started = time.perf_counter()
            client.get(path)
            timings[name].append((time.perf_counter() - started) * 1000)
    return timings


def _queries(client, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get(path)
    return len(ctx.captured_queries)


def _profile(client, path, repeats, top):
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeats):
        client.get(path)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    common.log(out.getvalue())


def run(args):
    from bench.pages import _pages, _people

    guardian, child, coordinator = _people()
    every = _pages(guardian, child, coordinator)
    wanted = args.pages.split(",") if args.pages else GUARDIAN_PAGES
    clients = _clients({name: every[name] for name in wanted})
    if args.profile:
        client, path = clients[args.profile]
        _profile(client, path, args.repeats, args.top)
    _timed(clients, 10)  # warm every code path first
    timings = _timed(clients, args.repeats)
    report = {}
    for name, values in timings.items():
        values.sort()
        report[name] = {
            "median_ms": round(statistics.median(values), 2),
            "p10_ms": round(values[len(values) // 10], 2),
            "queries": _queries(*clients[name]),
        }
    return {"bench": "profile_pages", "repeats": args.repeats, "pages": report}


def main(argv=None):
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--pages", default="", help="Comma-separated names (bench/pages.py).")
    p.add_argument("--profile", default="", help="cProfile this page; stats to stderr.")
    p.add_argument("--top", type=int, default=40)
    args = p.parse_args(argv)
    common.setup_django("bench.settings")
    common.emit(run(args))


if __name__ == "__main__":
    main()
