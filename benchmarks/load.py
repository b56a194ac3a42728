"""Load run (`python -m benchmarks.load`): gunicorn with the app's real configuration plus
`shopseg worker` processes on PostgreSQL, Locust posting signed CDNOW deliveries over
loopback at a fixed rate for a fixed time. Reports errors, latency, the inbox lag and each
process's memory (first minute against last) in docs/reliability.md."""

from __future__ import annotations

import argparse
import csv
import logging
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from benchmarks.chaos_fleet import Fleet, Member, free_port, shopseg
from benchmarks.databases import server_version, throwaway_database
from benchmarks.errors import BenchmarkError
from benchmarks.ingest import SHOP, app_runtime, install_shop
from benchmarks.report import app_commit, benchmark_main, machine, update_document
from plugin.db import utcnow
from plugin.inbox.models import PENDING, InboxRow

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"
SAMPLE_SECONDS = 2.0

log = logging.getLogger("benchmarks.load")


@dataclass
class Samples:
    """Inbox lag and resident memory per process, sampled while the load runs."""

    started: float = field(default_factory=time.monotonic)
    lag: list[tuple[float, float, int]] = field(default_factory=list)  # (t, seconds, rows)
    memory: dict[str, list[tuple[float, int]]] = field(default_factory=dict)  # name -> (t, kB)

    def memory_change(self, name: str, window: float, total: float) -> tuple[float, float]:
        """Median RSS (MB) in the first and in the last `window` seconds."""
        points = self.memory.get(name, [])
        first = [kb for t, kb in points if t <= window]
        last = [kb for t, kb in points if t >= total - window]
        if not first or not last:
            return 0.0, 0.0
        return statistics.median(first) / 1024, statistics.median(last) / 1024


@dataclass(frozen=True)
class LoadFigures:
    backend: str
    database: str
    rate: float
    seconds: int
    requests: int
    failures: int
    p50_ms: float
    p99_ms: float
    max_lag_seconds: float
    max_backlog: int
    memory: dict[str, tuple[float, float]]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="postgresql")
    parser.add_argument("--rate", type=float, default=160.0, help="requests per second")
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--users", type=int, default=8, help="Locust users (connections)")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--workers", type=int, default=2, help="`shopseg worker` processes")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def run(args: argparse.Namespace, backends: list[str]) -> list[LoadFigures]:
    return [run_backend(backend, args) for backend in backends]


def run_backend(backend: str, args: argparse.Namespace) -> LoadFigures:
    api_secret = secrets.token_urlsafe(32)
    with (
        throwaway_database(backend) as url,
        app_runtime(url, shopify_api_secret=api_secret) as runtime,
        tempfile.TemporaryDirectory() as work,
    ):
        install_shop(runtime)
        env = {
            **os.environ,
            "SHOPSEG_DATABASE_URL": url,
            "SHOPSEG_SECRET_KEY": runtime.settings.secret_key,
            "SHOPIFY_API_KEY": runtime.settings.shopify_api_key,
            "SHOPIFY_API_SECRET": api_secret,
            "SHOPSEG_LOG_LEVEL": "WARNING",
        }
        fleet = _fleet(env, Path(work), args)
        fleet.start()
        samples = Samples()
        stop = threading.Event()
        sampler = threading.Thread(target=_sample, args=(fleet, runtime.engine, samples, stop))
        sampler.start()
        try:
            stats = _locust(fleet.url, env, Path(work), args, api_secret)
        finally:
            stop.set()
            sampler.join()
            fleet.stop()
        return _figures(backend, server_version(runtime.engine), args, stats, samples)


def _fleet(env: dict[str, str], work: Path, args: argparse.Namespace) -> Fleet:
    port = free_port()
    gunicorn = [
        sys.executable, "-m", "gunicorn", "-w", str(args.web_workers),
        "-b", f"127.0.0.1:{port}", "plugin.wsgi:app",
    ]  # fmt: skip
    members = [Member("gunicorn", gunicorn, work / "gunicorn.log")]
    members += [
        Member(f"worker-{i}", shopseg("worker"), work / f"worker-{i}.log")
        for i in range(1, args.workers + 1)
    ]
    return Fleet(env, members, port)


def _locust(
    url: str, env: dict[str, str], work: Path, args: argparse.Namespace, secret: str
) -> dict[str, str]:
    orders = int(args.rate * args.seconds) + 100
    locust_env = {
        **env,
        "LOAD_SHOP": SHOP,
        "LOAD_RATE": str(args.rate),
        "LOAD_USERS": str(args.users),
        "LOAD_ORDERS": str(min(orders, 69000)),
        "LOAD_SECRET": secret,
    }
    command = [
        sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")),
        "--headless", "--host", url, "-u", str(args.users), "-r", str(args.users),
        "-t", f"{args.seconds}s", "--csv", str(work / "locust"), "--only-summary",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    project = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        command, env=locust_env, cwd=project, capture_output=True, text=True,
        timeout=args.seconds + 300,
    )  # fmt: skip
    stats_file = work / "locust_stats.csv"
    if not stats_file.exists():
        raise BenchmarkError(f"locust wrote no statistics: {done.stderr.strip()[-800:]}")
    with stats_file.open() as fh:
        rows = {row["Name"]: row for row in csv.DictReader(fh)}
    return rows["Aggregated"]


def _sample(fleet: Fleet, engine: Engine, samples: Samples, stop: threading.Event) -> None:
    while not stop.wait(SAMPLE_SECONDS):
        t = time.monotonic() - samples.started
        with engine.connect() as conn:
            oldest, rows = conn.execute(
                select(func.min(InboxRow.received_at), func.count()).where(
                    InboxRow.status == PENDING
                )
            ).one()
        lag = (utcnow() - oldest).total_seconds() if oldest else 0.0
        samples.lag.append((t, lag, int(rows)))
        for member in fleet.members:
            if member.process and member.process.poll() is None:
                kb = _tree_rss_kb(member.process.pid)
                samples.memory.setdefault(member.name, []).append((t, kb))


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (gunicorn's workers), from /proc."""
    total = _rss_kb(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            total += _tree_rss_kb(int(child))
    return total


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _figures(
    backend: str, database: str, args: argparse.Namespace, stats: dict[str, str], s: Samples
) -> LoadFigures:
    window = 60.0 if args.seconds >= 180 else args.seconds / 3
    return LoadFigures(
        backend,
        database,
        args.rate,
        args.seconds,
        int(stats["Request Count"]),
        int(stats["Failure Count"]),
        float(stats["50%"]),
        float(stats["99%"]),
        max((lag for _, lag, _ in s.lag), default=0.0),
        max((rows for _, _, rows in s.lag), default=0),
        {name: s.memory_change(name, window, args.seconds) for name in sorted(s.memory)},
    )


def write_report(results: list[LoadFigures], out: Path, command: str) -> str:
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        "### Load: gunicorn and workers under a steady webhook rate",
        "",
        f"`{command}` — {date}, app {app_commit()}, {machine([r.database for r in results])}.",
        "",
        "| backend | rate asked | duration | requests | errors | p50 / p99 | max inbox lag "
        "| max backlog | memory, first → last minute (MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        memory = "; ".join(
            f"{name} {first:.0f} → {last:.0f} ({_change(first, last)})"
            for name, (first, last) in r.memory.items()
        )
        lines.append(
            f"| {r.backend} | {r.rate:.0f}/s | {r.seconds} s | {r.requests} "
            f"({r.requests / r.seconds:.0f}/s) | {r.failures} | {r.p50_ms:.0f} / {r.p99_ms:.0f} ms "
            f"| {r.max_lag_seconds:.0f} s | {r.max_backlog} rows | {memory} |"
        )
    section = "\n".join(lines) + "\n"
    update_document(out, "load", section)
    return section


def _change(first: float, last: float) -> str:
    return f"{(last - first) / first * 100:+.0f}%" if first else "n/a"


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 1 when a request failed (the figures are written all the same)."""
    results: list[LoadFigures] = []

    def run_and_keep(args: argparse.Namespace, backends: list[str]) -> list[LoadFigures]:
        results.extend(run(args, backends))
        return results

    code = benchmark_main("benchmarks.load", argv, parse_args, run_and_keep, write_report)
    if code == 0 and any(r.failures for r in results):
        print("benchmark FAILED: requests failed under load", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
