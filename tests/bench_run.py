"""Run a bench/ script at a tiny size on a scratch database and return its one JSON line."""

import json
import os
import subprocess
import sys

from bench.common import ROOT, scratch_database_url


def run_bench(script, *args):
    """`python bench/<script> args...` on a fresh database; fails unless it prints one line."""
    with scratch_database_url() as url:
        done = subprocess.run(
            [sys.executable, f"bench/{script}", *map(str, args)],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])
