"""bench/ingest.py at a tiny size, as a subprocess on a scratch database: one JSON line."""

from tests.bench_run import run_bench

KEYS = {"messages", "results", "recorded", "seconds", "results_per_s", "ratio_vs_bare_insert"}


def test_ingest_bench_prints_one_json_line():
    report = run_bench("ingest.py", "--patients", 30, "--centers", 2, "--results", 30)
    assert report.keys() >= KEYS
    assert report["results"] >= 30
    assert report["recorded"] == report["results"]  # every one matched: the bench is honest
    assert report["results_per_s"] > 0 and report["ratio_vs_bare_insert"] > 0
