"""Requests/s and latency of the busiest pages under load, beside a one-line view as the floor.

Pages: the guardian's home, a child's journey, care plan, emergency card and labs pages, the
coordinator's worklist and the admin patient list (logged in as a scale guardian / coordinator),
and the hello view behind a guardian's session (what every logged-in request costs).
Sessions are read as configured: from Redis (cached_db, as in production) when REDIS_URL is
set, else from the database (one query a request more); "session_engine" says which.
gunicorn serves bench.settings (the project's settings with DEBUG off and bench/urls.py:
config.urls plus /bench/hello/) on 127.0.0.1; wrk drives it at --concurrency connections for
--duration seconds per page, a Lua script reporting p50/p95/p99. SQL queries per page are
counted in-process with the test Client.

Each page's object under "pages": rps, p50_ms, p95_ms, p99_ms, errors, floor_rps (the hello
view in the same run) and share_of_floor; queries (a repeat request, as under load) and
queries_cold (the first request of a new login); alone_ms (one repeat request in-process, no
load). No page, login or permission is cached: every request reads what it shows.

    python bench/pages.py [--patients 10000] [--duration 10] [--concurrency 16]

Without wrk or gunicorn the load part is skipped (`missing_tools` in the JSON) unless
--require-load is given; a page whose URL is not in the tree yet is reported as missing.
"""

import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

SETTINGS = "bench.settings"
REPEATS = 31  # single requests timed in-process per page (their median: 5 swung 2x on
# a machine whose speed drifts)
WARM_UP = 10  # requests first: a process's first use of a page compiles its SQL, and
# PostgreSQL plans a prepared statement anew for its first five runs
WRK_SCRIPT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def _people():
    """A scale guardian with a login and a child past infusion, and a scale coordinator."""
    from devdata import scale
    from journey.models import Guardian, Membership, Stage

    stages = [Stage.MONITORING, Stage.FOLLOW_UP]
    guardian = (
        Guardian.objects.filter(
            user__isnull=False,
            center__name__startswith=scale.CENTER_PREFIX,
            children__journeys__stage__in=stages,
        )
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if guardian is None:
        raise SystemExit("no scale guardian with a login and a child in monitoring: seed more")
    child = guardian.children.filter(journeys__stage__in=stages).order_by("pk").first()
    coordinator = (
        Membership.objects.filter(center__name__startswith=scale.CENTER_PREFIX)
        .select_related("user")
        .order_by("center__name", "pk")
        .first()
        .user
    )
    return guardian.user, child, coordinator


def _pages(guardian, child, coordinator):
    """name -> (path or None when the URL is not there yet, user)."""
    from django.urls import NoReverseMatch, reverse

    wanted = {
        "guardian_home": ("portal:home", [], guardian),
        "child_journey": ("portal:child", [child.public_id], guardian),
        "child_plan": ("portal_tracker:plan", [child.public_id], guardian),
        "child_card": ("portal:card", [child.public_id], guardian),
        "child_labs": ("portal_tracker:labs", [child.public_id], guardian),
        "coordinator_worklist": ("admin:tracker_worklist_changelist", [], coordinator),
        "admin_patient_list": ("admin:journey_patient_changelist", [], coordinator),
        # The hello view behind a guardian's session: what every logged-in request costs.
        "guardian_hello": ("bench_hello", [], guardian),
    }
    out = {}
    for name, (url_name, args, user) in wanted.items():
        try:
            out[name] = (reverse(url_name, args=args), user)
        except NoReverseMatch:
            out[name] = (None, user)
    return out


def _count_queries(path, user):
    """(status, queries, cold queries, median ms) of GETs through the test Client.

    Cold: the first request of a new login. Warm: a repeat request, as under load (nothing is
    cached between requests, so it reads everything the page shows). The time is a repeat
    request alone in this process (no load), after WARM_UP requests (as under load)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from journey.security.testing import force_login_verified

    client = Client()
    if user is not None:
        force_login_verified(client, user)  # the admin asks for the second factor
    with CaptureQueriesContext(connection) as cold:
        client.get(path)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    queries = len(ctx.captured_queries)  # each request below resets the query log
    queries_cold = len(cold.captured_queries)
    for _ in range(WARM_UP):
        client.get(path)
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
    return response.status_code, queries, queries_cold, round(statistics.median(timings), 1)


def _session_cookie(user):
    from django.test import Client

    from journey.security.testing import force_login_verified

    client = Client()
    force_login_verified(client, user)  # the admin asks for the second factor
    return client.cookies["sessionid"].value


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _missing_tools():
    missing = []
    if shutil.which("wrk") is None:
        missing.append("wrk (apt-get install -y wrk)")
    if importlib.util.find_spec("gunicorn") is None:
        missing.append("gunicorn (pip install gunicorn)")
    return missing


class Server:
    """gunicorn on 127.0.0.1 with bench.settings; stopped by its own process id."""

    def __init__(self, workers):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
        command = [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
        command += ["--bind", f"127.0.0.1:{self.port}", "--workers", str(workers)]
        command += ["--pythonpath", str(common.ROOT), "--log-level", "warning"]
        self.process = subprocess.Popen(command, cwd=common.ROOT, env=env, stdout=sys.stderr)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("gunicorn exited at start; see the lines above")
            try:
                with urllib.request.urlopen(self.base + "/bench/hello/", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        raise SystemExit("gunicorn did not answer within a minute")

    def status(self, path, cookie):
        request = urllib.request.Request(self.base + path, headers=_headers(cookie))
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _headers(cookie):
    return {"Cookie": f"sessionid={cookie}"} if cookie else {}


def _wrk(url, cookie, args, script):
    command = ["wrk", "-t", str(args.threads), "-c", str(args.concurrency)]
    command += ["-d", f"{args.duration}s", "--timeout", "10s", "-s", script]
    for key, value in _headers(cookie).items():
        command += ["-H", f"{key}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    line = next(row for row in out.splitlines() if row.startswith("WRKJSON"))
    requests, micros, errors, non_2xx, p50, p95, p99 = map(int, line.split()[1:])
    return {
        "requests": requests,
        "rps": round(requests / (micros / 1e6), 1),
        "p50_ms": round(p50 / 1000, 1),
        "p95_ms": round(p95 / 1000, 1),
        "p99_ms": round(p99 / 1000, 1),
        "errors": errors + non_2xx,
    }


def _load(pages, args):
    """wrk against each page on one gunicorn; returns (floor, {name: figures})."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(WRK_SCRIPT)
    server = Server(args.workers)
    try:
        server.wait_ready()
        common.log(f"gunicorn on {server.base} with {args.workers} workers")
        floor = _wrk(server.base + "/bench/hello/", None, args, handle.name)
        figures = {}
        for name, (path, user) in pages.items():
            if path is None:
                continue
            cookie = _session_cookie(user)
            status = server.status(path, cookie)
            if status != 200:
                figures[name] = {"status": status, "errors": "not 200 before the load"}
                continue
            common.log(f"{name}: {args.duration} s at {args.concurrency} connections")
            figures[name] = _wrk(server.base + path, cookie, args, handle.name)
        return floor, figures
    finally:
        server.stop()
        os.unlink(handle.name)


def run(args):
    from django.conf import settings

    common.ensure_seeded(args.patients, args.centers, args.seed)
    guardian, child, coordinator = _people()
    pages = _pages(guardian, child, coordinator)
    report = {}
    for name, (path, user) in pages.items():
        if path is None:
            report[name] = {"missing": True, "reason": "URL not in this tree yet"}
            continue
        status, queries, cold, alone_ms = _count_queries(path, user)
        report[name] = {"path": path, "status": status, "queries": queries}
        report[name].update(queries_cold=cold, alone_ms=alone_ms)
    missing = _missing_tools()
    floor = None
    if missing and args.require_load:
        raise SystemExit(f"missing for the load part: {', '.join(missing)}")
    if not missing:
        floor, figures = _load(pages, args)
        for name, values in figures.items():
            report[name].update(values)
            report[name]["floor_rps"] = floor["rps"]  # the hello view, same server and run
            if values.get("rps") and floor["rps"]:
                report[name]["share_of_floor"] = round(values["rps"] / floor["rps"], 3)
    for values in report.values():
        for key in ("rps", "p50_ms", "p95_ms", "p99_ms", "queries", "errors", "floor_rps"):
            values.setdefault(key, None)
    return {
        "bench": "pages",
        "pages": report,
        "floor_rps": floor["rps"] if floor else None,
        "floor": floor,
        "load": "skipped" if missing else "wrk",
        "missing_tools": missing,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "workers": args.workers,
        "patients": args.patients,
        "database": common.database_label(),
        "session_engine": settings.SESSION_ENGINE,  # cached_db when REDIS_URL is set
        "machine": common.machine(),
    }


def main(argv=None):
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--duration", type=int, default=10, help="Seconds of load per page.")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--threads", type=int, default=2, help="wrk threads.")
    p.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    p.add_argument("--require-load", action="store_true", help="Fail without wrk/gunicorn.")
    args = p.parse_args(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    common.setup_django(SETTINGS)
    common.emit(run(args))


if __name__ == "__main__":
    main()
