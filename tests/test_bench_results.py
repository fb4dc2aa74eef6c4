"""bench/results.py at a tiny size, as a subprocess on a scratch database: one JSON line."""

from tests.bench_run import run_bench

KEYS = {
    "results",
    "seconds",
    "results_per_s",
    "queries_per_result",
    "ratio_vs_bare_insert",
    "database",
}


def test_results_bench_prints_one_json_line():
    report = run_bench("results.py", "--patients", 30, "--centers", 2, "--results", 30)
    assert report.keys() >= KEYS
    assert report["results"] >= 30
    assert report["results_per_s"] > 0
    assert report["ratio_vs_bare_insert"] > 0
