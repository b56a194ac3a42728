"""The goals table of `benchmarks.goals` reports each figure from the parts' results."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchmarks.goals import GoalRun, render, write_report
from benchmarks.ingest import IngestResult
from benchmarks.receiver import ReceiverLoad
from benchmarks.report import BackendResult, update_document
from benchmarks.segments import SizeResult, SweepTiming
from benchmarks.segments_duckdb import Baseline
from benchmarks.segments_latency import Latency
from benchmarks.serving import LoadResult
from benchmarks.work import WorkResult


def load(rate: float, p99_ms: float) -> LoadResult:
    latencies = [p99_ms / 1000] * 100
    return LoadResult(100 / rate, latencies, Counter({"200": 100}))


def goal_run(backend: str, events_per_second: float, steady: float) -> GoalRun:
    drains = [WorkResult("drain, 1 worker", 1000, 300, 1000 / events_per_second)]
    ingested = BackendResult(
        backend, f"{backend} 1", 1000, 300, 4, 4000,
        load(1000, 5), load(500, 10), drains[0], drains, (0.0, 0.0),
    )  # fmt: skip
    receiver = [ReceiverLoad(1024, load(2000, 4), load(1500, 12), 1.0, 2.0)]
    store = SizeResult(backend, 1000)
    store.cold = SweepTiming(1.0, 0.0, 59.0, 1000)
    store.steady = SweepTiming(0.5, 0.0, steady - 0.5, 10, True, 20)
    store.full = SweepTiming(0.5, 0.0, 9.5, 0)
    store.baseline = Baseline({1: 3.0, 2: 2.0}, 33, 5000)
    store.latency = Latency(800.0, 400.0, 8000, 1000, 40.0, 350.0)
    store.previews = {"a": (0.25, 10), "b": (1.5, 20)}
    return GoalRun(backend, IngestResult(ingested, receiver), store)


def test_the_table_holds_each_measured_figure() -> None:
    runs = [goal_run("sqlite", 944, 6.0), goal_run("postgresql", 432, 3.0)]
    table = render(runs, "python -m benchmarks.goals")
    assert "| measured (SQLite / PostgreSQL) |" in table
    assert "| 75%, p99 12.0 ms / 75%, p99 12.0 ms |" in table  # 1,500 of 2,000 req/s
    assert "| 944 / 432 |" in table
    assert "| 3.0x (6.00 s) / 1.5x (3.00 s) | ≤ 3x |" in table  # against DuckDB's 2 s
    assert "| 5.0x (10.00 s) / 5.0x (10.00 s) | ≤ 10x |" in table
    assert "| 60.0 s / 60.0 s |" in table
    assert "| 350 ms / 350 ms | ≤ 1 s |" in table
    assert "| 1.50 s / 1.50 s | ≤ 1 s |" in table  # the slowest preview


def test_the_report_keeps_the_other_sections(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    update_document(out, "kept", "## Something else\n")
    write_report([goal_run("sqlite", 944, 6.0)], out, "python -m benchmarks.goals")
    text = out.read_text()
    assert "## Something else" in text
    assert "<!-- benchmarks.goals -->" in text
    assert "<!-- benchmarks.ingest sqlite -->" in text
    assert "<!-- benchmarks.segments sqlite 1000 -->" in text
