"""The history import benchmark runs end to end on a small shop, checks itself (customers,
orders, lines, counted totals) and reports its figures."""

from __future__ import annotations

from pathlib import Path

from benchmarks.backfill import run_backend, write_files, write_report


def test_the_import_benchmark_checks_its_result_and_reports_it(
    backend: str, tmp_path: Path
) -> None:
    files = write_files(tmp_path, customers=40, orders=300)

    result = run_backend(backend, files)  # raises unless the store holds what was written

    assert result.seconds > 0 and result.cpu > 0
    assert {"stage", "merge", "recompute_all_metrics"} <= set(result.phases)
    out = tmp_path / "benchmarks.md"
    write_report([result], out, "python -m benchmarks.backfill --customers 40 --orders 300")
    text = out.read_text()
    assert f"History import: {backend}, 40 customers / 300 orders" in text
    assert f"({files.lines:,} line items)" in text
