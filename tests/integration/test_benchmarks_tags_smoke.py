"""The tag sync benchmark runs end to end on a few customers against the simulator, checks
the shop's final tags and reports calls, points and times."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks import tags
from benchmarks.errors import BenchmarkError
from benchmarks.report import HEADER
from benchmarks.tags import Limits, run_backend
from benchmarks.tags_report import write_report

# A small bucket refilling fast: the pacer still has to wait, but the run takes seconds.
SMOKE_LIMITS = Limits(bucket_size=100, restore_rate=1000, bulk_threshold=20)
NUMBER = r"[0-9][0-9,]*(\.[0-9]+)?"


def test_benchmark_checks_the_shop_and_reports(backend: str, tmp_path: Path) -> None:
    result = run_backend(backend, 50, 30, SMOKE_LIMITS)

    one, bulk = result.realtime, result.bulk
    assert one is not None and bulk is not None
    assert (one.changes, one.calls, one.points, one.throttled) == (30, 30, 300, 0)
    assert (bulk.changes, bulk.throttled, bulk.uploads) == (50, 0, 1)
    assert 3 <= bulk.calls <= 10  # staged upload target, run, a few polls
    assert set(bulk.documents) == {
        "StagedUploadsCreate",
        "BulkOperationRunMutation",
        "BulkOperationStatus",
    }
    assert one.seconds >= SMOKE_LIMITS.minimum_seconds(one.points)
    assert 0 < bulk.landed <= bulk.seconds
    out = tmp_path / "benchmarks.md"
    write_report([result], out, "python -m benchmarks.tags --changes 50")
    text = out.read_text()
    assert text.startswith(HEADER)
    assert "<!-- benchmarks.tags -->" in text and f"<!-- benchmarks.tags {backend} 30 -->" in text
    assert re.search(
        rf"\| one call per customer \(real time\) \| 30 \| 30 \| 300 \| 1,000.0 \| 10,000.0 "
        rf"\| 0 \| {NUMBER} \| 0.2 \| {NUMBER}x \|",
        text,
    )
    assert re.search(rf"\| one bulk mutation \(one sweep\) \| 50 \| {NUMBER} \| {NUMBER} \|", text)
    assert "Goal of zero THROTTLED answers met" in text


def test_a_tag_missing_in_the_shop_fails_the_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    real = tags.merchant_tags

    def one_more(number: int, wholesale: bool) -> list[str]:
        return [*real(number, wholesale), *(["expected-but-absent"] if number == 7 else [])]

    monkeypatch.setattr(tags, "merchant_tags", one_more)  # what the check expects, only
    with pytest.raises(BenchmarkError, match="customer 7 has tags"):
        run_backend("sqlite", 30, 5, SMOKE_LIMITS)
