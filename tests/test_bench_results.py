"""bench/results.py at a tiny size, as a subprocess on a scratch database: one JSON line."""

import json
import os
import subprocess
import sys

from bench.common import ROOT, scratch_database_url

KEYS = {
    "results",
    "seconds",
    "results_per_s",
    "queries_per_result",
    "ratio_vs_bare_insert",
    "database",
}


def test_results_bench_prints_one_json_line():
    with scratch_database_url() as url:
        done = subprocess.run(
            [sys.executable, "bench/results.py", "--patients", "30", "--centers", "2"]
            + ["--results", "30"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    report = json.loads(lines[0])
    assert report.keys() >= KEYS
    assert report["results"] >= 30
    assert report["results_per_s"] > 0
    assert report["ratio_vs_bare_insert"] > 0
