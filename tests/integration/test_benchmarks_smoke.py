"""The ingest benchmark runs end to end on a few orders, checks itself and reports numbers."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks import ingest
from benchmarks.errors import BenchmarkError
from benchmarks.ingest import IngestResult, run_backend, run_gunicorn_receiver, write_report
from benchmarks.report import HEADER, update_document
from benchmarks.work import Expected

SMOKE_ORDERS = 30
NUMBER = r"[0-9][0-9,]*(\.[0-9]+)?"


def test_benchmark_checks_its_results_and_reports_them(backend: str, tmp_path: Path) -> None:
    result = run_backend(backend, SMOKE_ORDERS, clients=2)

    assert result.floor.outcomes == {"200 ok": SMOKE_ORDERS}
    assert result.receiver.outcomes == {"200 stored": SMOKE_ORDERS}
    assert result.customers == 8  # distinct customer ids in the first 30 CDNOW lines
    assert [d.rows for d in result.drains] == [SMOKE_ORDERS] * len(result.drains)
    out = tmp_path / "benchmarks.md"
    write_report([IngestResult(result, [])], out, "python -m benchmarks.ingest --orders 30")
    text = out.read_text()
    assert text.startswith(HEADER)
    for step in ("HTTP floor", "inbox insert", "adapter only", "drain, 1 worker"):
        assert re.search(rf"\| [^|]*{step}[^|]* \| {NUMBER} (req|events)/s", text), step
    assert re.search(rf"\| [^|]*inbox insert[^|]* \|[^|]+\| {NUMBER} \| {NUMBER} \|", text)
    if backend == "postgresql":
        assert "drain, 2 workers" in text
    # Where the time goes: the worker's stages, each with a figure per event.
    for stage in ("profiles", "metrics", "segments", "trigger hooks", "map", "claim"):
        assert re.search(rf"\| {stage} \| {NUMBER} \| {NUMBER} \|", text), stage


def test_gunicorn_step_compares_the_receiver_with_the_bare_endpoint(
    backend: str, tmp_path: Path
) -> None:
    loads = run_gunicorn_receiver(backend, 20)

    assert [load.body_bytes for load in loads] == [1024, 10 * 1024]
    for load in loads:
        assert load.bare.outcomes == {"200 ok": 20}
        assert load.receiver.outcomes == {"200 stored": 20}  # and stored once: checked inside
    result = run_backend(backend, 5, clients=1)
    out = tmp_path / "benchmarks.md"
    write_report([IngestResult(result, loads)], out, "python -m benchmarks.ingest")
    text = out.read_text()
    for size in ("1 KB", "10 KB"):
        for step in ("bare HMAC endpoint", "receiver: verify \\+ inbox insert"):
            assert re.search(rf"\| {size} \| {step} \| {NUMBER} \|", text), (size, step)
    assert re.search(r"keeps \d+% at 1 KB", text)


def test_a_wrong_result_fails_the_benchmark(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_expect = ingest.expect

    def off_by_one_cent(*args: object) -> Expected:
        expected = real_expect(*args)  # type: ignore[arg-type]
        return replace(expected, spent_minor=expected.spent_minor + 1)

    monkeypatch.setattr(ingest, "expect", off_by_one_cent)
    with pytest.raises(BenchmarkError, match="wrong adapter total"):
        run_backend("sqlite", 5, clients=1)


def test_a_rerun_replaces_its_own_section_only(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    update_document(out, "benchmarks.ingest sqlite", "old sqlite\n")
    update_document(out, "benchmarks.other", "other section\n")
    update_document(out, "benchmarks.ingest sqlite", "new sqlite\n")

    text = out.read_text()
    assert text.startswith(HEADER)
    assert "old sqlite" not in text
    assert text.index("new sqlite") < text.index("other section")
    assert text.count("<!-- benchmarks.ingest sqlite -->") == 1
