"""bench/pages.py at a tiny size, as a subprocess on a scratch database: one JSON line.

Without wrk or gunicorn the load part is skipped locally; in CI (CI=true) they must be there.
"""

import pytest

from tests.bench_run import run_bench
from tests.conftest import IN_CI

PAGES = {
    *("guardian_home", "child_journey", "child_plan", "child_card", "child_labs"),
    *("coordinator_worklist", "admin_patient_list"),
}
FIGURES = {
    "rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "queries",
    "errors",
    "alone_ms",
    "queries_cold",
    "floor_rps",
}


def run_pages_bench():
    args = ["--patients", 30, "--centers", 2, "--duration", 1, "--concurrency", 4, "--workers", 2]
    return run_bench("pages.py", *args, *(["--require-load"] if IN_CI else []))


def test_pages_bench_prints_one_json_line():
    report = run_pages_bench()
    assert report["pages"].keys() >= PAGES
    assert "floor_rps" in report
    for name, figures in report["pages"].items():
        if figures.get("missing"):
            continue
        assert figures.keys() >= FIGURES, name
        assert figures["status"] == 200, (name, figures)
        assert figures["queries_cold"] > 0, (name, figures)
        assert 0 < figures["queries"] <= figures["queries_cold"], (name, figures)
    if report["missing_tools"]:
        pytest.skip(f"load part skipped: {report['missing_tools']}")
    assert report["floor_rps"] > 0
    for name, figures in report["pages"].items():
        if not figures.get("missing"):
            assert figures["rps"] > 0, name
            assert figures["errors"] == 0, name
