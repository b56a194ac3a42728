"""Issue 12's goals table from one run on each database: the receiver under gunicorn and the
worker (`benchmarks.ingest`), then the segment engine on a large store (`benchmarks.segments`:
sweeps against DuckDB, end-to-end latency, preview). Each part writes its own section too."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import ingest, segments
from benchmarks import receiver as gunicorn_receiver
from benchmarks.cdnow import CDNOW_FILE
from benchmarks.databases import BACKENDS
from benchmarks.report import app_commit, benchmark_main, machine, update_document
from benchmarks.segments_latency import Latency
from plugin.segments.models import MAX_SEGMENTS

KEY = "benchmarks.goals"
DEFAULT_CUSTOMERS = 1_000_000


@dataclass
class GoalRun:
    backend: str
    ingest: ingest.IngestResult
    segments: segments.SizeResult


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.goals", description=__doc__)
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument(
        "--customers", type=int, default=DEFAULT_CUSTOMERS, help="segment store size"
    )
    parser.add_argument("--orders", type=int, default=ingest.DEFAULT_ORDERS, help="CDNOW orders")
    parser.add_argument(
        "--receiver-requests",
        type=int,
        default=gunicorn_receiver.DEFAULT_REQUESTS,
        help="requests per body size and endpoint under gunicorn",
    )
    parser.add_argument("--events", type=int, default=2000, help="real-time events timed")
    parser.add_argument("--out", type=Path, default=ingest.DEFAULT_OUT)
    args = parser.parse_args(argv)
    if min(args.customers, args.orders, args.receiver_requests, args.events) < 1:
        parser.error("--customers, --orders, --receiver-requests and --events must be >= 1")
    return args


def run(args: argparse.Namespace, backends: list[str]) -> list[GoalRun]:
    found = []
    for backend in backends:
        measured = ingest.IngestResult(
            ingest.run_backend(backend, args.orders, ingest.DEFAULT_CLIENTS, CDNOW_FILE),
            ingest.run_gunicorn_receiver(backend, args.receiver_requests),
        )
        store = segments.run_size(backend, args.customers, args.events)
        found.append(GoalRun(backend, measured, store))
    return found


def _both(runs: list[GoalRun], value: Callable[[GoalRun], str]) -> str:
    return " / ".join(value(r) for r in runs)


def render(runs: list[GoalRun], command: str) -> str:
    names = " / ".join("SQLite" if r.backend == "sqlite" else "PostgreSQL" for r in runs)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    databases = [r.ingest.backend.database for r in runs]
    rows = [
        "| what | measured (" + names + ") | goal |",
        "|---|---|---|",
    ]
    for index, size in enumerate(_body_sizes(runs)):
        rows.append(
            f"| ingest under gunicorn, {size:,}-byte bodies: share of the bare HMAC endpoint, "
            "p99 at 8 connections "
            f"| {_both(runs, lambda r, i=index: _share(r, i))} "
            "| ≥ 75% SQLite, ≥ 60% PostgreSQL, p99 < 25 ms |"
        )
    rows.append(
        "| events/s, inbox → profiles + real-time segments + outbox, 1 worker "
        f"| {_both(runs, lambda r: f'{r.ingest.backend.drains[0].rows_per_second:,.0f}')} "
        "| ≥ 5,000 SQLite, ≥ 2,000 PostgreSQL |"
    )
    two = [r for r in runs if len(r.ingest.backend.drains) > 1]
    if two:
        rows.append(
            "| events/s, 2 workers (PostgreSQL) "
            f"| {two[0].ingest.backend.drains[1].rows_per_second:,.0f} | scaling reported |"
        )
    size = f"{runs[0].segments.customers:,} customers"
    rows += [
        f"| steady sweep (incremental) / DuckDB 2 threads, {size} "
        f"| {_both(runs, lambda r: _ratio(_sweeps(r)[1].total, r))} | ≤ 3x |",
        f"| full rebuild (diffs only) / DuckDB 2 threads, {size} "
        f"| {_both(runs, lambda r: _ratio(_sweeps(r)[2].total, r))} | ≤ 10x |",
        f"| cold sweep, {size} "
        f"| {_both(runs, lambda r: f'{_sweeps(r)[0].total:,.1f} s')} | ≤ 60 s at 1M |",
        f"| latency p99, webhook accepted → memberships and outbox committed, half the "
        f"maximum rate, {size} "
        f"| {_both(runs, lambda r: f'{_latency(r).p99_ms:,.0f} ms')} | ≤ 1 s |",
        f"| preview, slowest of four, {size} "
        f"| {_both(runs, lambda r: f'{max(s for s, _ in r.segments.previews.values()):.2f} s')} "
        "| ≤ 1 s |",
        f"| segments per shop | {MAX_SEGMENTS:,} (tests: 500 on both databases) | ≥ 500 |",
    ]
    return "\n".join(
        [
            "## Throughput goals (issue 12): one run",
            "",
            f"{date}, app at `{app_commit()}`: `{command}`  ",
            f"Machine: {machine(databases)}.",
            "",
            *rows,
            "",
            "Each figure comes from the sections this run also wrote (receiver and worker:",
            '"Webhook ingest and worker"; sweeps, latency and preview: "Segment engine").',
            "",
        ]
    )


def _sweeps(r: GoalRun) -> tuple[segments.SweepTiming, ...]:
    cold, steady, full = r.segments.cold, r.segments.steady, r.segments.full
    assert cold and steady and full, "a segment run without its sweeps"
    return cold, steady, full


def _latency(r: GoalRun) -> Latency:
    assert r.segments.latency is not None, "a segment run without its latency"
    return r.segments.latency


def _body_sizes(runs: list[GoalRun]) -> list[int]:
    return [load.body_bytes for load in runs[0].ingest.gunicorn]


def _share(r: GoalRun, index: int) -> str:
    load = r.ingest.gunicorn[index]
    return f"{100 * load.share:.0f}%, p99 {load.receiver.percentile_ms(99):.1f} ms"


def _ratio(seconds: float, r: GoalRun) -> str:
    baseline = r.segments.baseline
    assert baseline is not None
    return f"{seconds / baseline.seconds[2]:.1f}x ({seconds:.2f} s)"


def write_report(runs: list[GoalRun], out: Path, command: str) -> str:
    ingest.write_report([r.ingest for r in runs], out, command)
    segments.write_report([r.segments for r in runs], out, command)
    section = render(runs, command)
    update_document(out, KEY, section)
    return section


def main(argv: Sequence[str] | None = None) -> int:
    for part in ("benchmarks.ingest", "benchmarks.segments"):
        logging.getLogger(part).setLevel(logging.INFO)  # progress of an hour-long run
    return benchmark_main(KEY, argv, parse_args, run, write_report)


if __name__ == "__main__":
    sys.exit(main())
