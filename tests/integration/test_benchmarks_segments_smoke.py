"""The segment benchmark runs end to end on a tiny store and agrees with its DuckDB baseline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks import segments_duckdb
from benchmarks.errors import BenchmarkError
from benchmarks.report import HEADER
from benchmarks.segments import run_size, write_report

SMOKE_CUSTOMERS = 300
NUMBER = r"[0-9][0-9,]*(\.[0-9]+)?"


def test_benchmark_agrees_with_duckdb_and_reports(backend: str, tmp_path: Path) -> None:
    result = run_size(backend, SMOKE_CUSTOMERS, events=20, latency_seconds=1.0, burst=50)

    assert result.baseline is not None
    assert result.baseline.rules == result.segments >= 7 + 11 + 10  # built-ins, RFM, custom
    assert result.baseline.members > 0
    assert set(result.baseline.seconds) == {1, 2}
    assert result.cold is not None and result.cold.changed == SMOKE_CUSTOMERS
    assert len(result.realtime_ms) == 20
    assert result.latency is not None and result.latency.events >= 1  # all applied, or raised
    assert 0 <= result.latency.p50_ms <= result.latency.p99_ms
    assert result.full is not None and result.full.changed == 0
    assert result.steady is not None and result.steady.incremental
    out = tmp_path / "benchmarks.md"
    write_report([result], out, "python -m benchmarks.segments --customers 300")
    text = out.read_text()
    assert text.startswith(HEADER)
    assert f"<!-- benchmarks.segments {backend} 300 -->" in text
    assert re.search(rf"\| 300 \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \(", text)
    assert "DuckDB and the app agree" in text


def test_a_wrong_baseline_rule_fails_the_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    real = segments_duckdb.rule_sql

    def off_by_one(*args: object) -> dict[str, str]:
        rules = real(*args)  # type: ignore[arg-type]
        rules["regular"] = "c.orders_count >= 2"
        return rules

    monkeypatch.setattr(segments_duckdb, "rule_sql", off_by_one)
    with pytest.raises(BenchmarkError, match="segment 'regular'"):
        run_size("sqlite", SMOKE_CUSTOMERS, events=1)
