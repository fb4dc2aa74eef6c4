"""bench/reminders.py at a tiny size, as a subprocess on a scratch database: one JSON line."""

from tests.bench_run import run_bench

KEYS = {
    "patients",
    "reminders",
    "plan_s",
    "plan_rows_per_s",
    "plan_queries",
    "plan_chunks",
    "plan_queries_per_chunk",
    "fan_out_chunks",
    "fan_out_s",
    "fan_out_queries",
    "fan_out_every_id_s",
    "dispatch_msgs_per_s",
    "dispatch_queries",
    "dispatch_queries_per_batch",
    "smtp_floor_msgs_per_s",
    "ratio_vs_smtp_floor",
    "per_row_children",
    "per_row_rows_per_s",
    "ratio_vs_per_row",
    "ratio_vs_eta_tasks",
    "floor_s",
    "ratio_vs_floor",
    "database",
}


def test_reminders_bench_prints_one_json_line_with_the_floor():
    report = run_bench("reminders.py", "--patients", 30, "--sample", 20, "--per-row-children", 10)
    assert report.keys() >= KEYS
    assert report["patients"] == 30
    assert report["reminders"] == 120  # lab reminder + 2 nudges + coordinator, per child
    assert report["plan_rows_per_s"] > 0
    assert report["fan_out_queries"] == 1 and report["fan_out_chunks"] >= 1
    assert report["dispatch_sample"] == 20  # every sampled row sent over the sink
    assert report["smtp_floor_msgs_per_s"] > 0 and report["ratio_vs_smtp_floor"] > 0
    assert report["per_row_children"] == 10 and report["per_row_rows"] == 40  # same planning
    if report["database"] == "postgresql":
        assert report["ratio_vs_floor"] > 0  # the floor wrote the same keys (else exit 1)
    else:
        assert report["ratio_vs_floor"] is None and report["floor_s"] is None
