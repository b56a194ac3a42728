"""History import benchmark (`python -m benchmarks.backfill`): local JSONL → profile store.

Writes bulk-query-shaped JSONL files (customers; products; orders with line items as
child lines, shuffled as with `groupObjects: false`), then times the import of them into
a fresh migrated database: staging, merging, finishing (metrics, segment sweep). Shopify's
own run time and the download are excluded: the source reads the local files. Checks the
result (customers, orders, lines and the sum of counted order totals) and fails otherwise.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select

from benchmarks.databases import server_version, throwaway_database
from benchmarks.errors import BenchmarkError
from benchmarks.report import benchmark_main, load_average, machine, update_document
from plugin.backfill import importer
from plugin.backfill.importer import DONE, advance
from plugin.backfill.runs import create_run
from plugin.db import make_engine, utcnow
from plugin.migrate import upgrade_head
from plugin.platforms.port import ExportState, Page
from plugin.platforms.shopify.history_rows import rows_from_lines
from plugin.runtime import build_runtime
from plugin.settings import Settings
from plugin.shops.models import INSTALLED, Shop

KEY = "backfill"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass
class Files:
    paths: dict[str, Path]
    customers: int
    orders: int
    lines: int
    counted_total_minor: int


def write_files(directory: Path, customers: int, orders: int, seed: int = 7) -> Files:
    """Customers, 200 products and `orders` orders with 1-4 lines (2.5 on average)."""
    rng = random.Random(seed)
    paths = {r: directory / f"{r}.jsonl" for r in ("customers", "products", "orders")}
    with paths["customers"].open("wb") as out:
        for n in range(customers):
            out.write(orjson.dumps(_customer(n, rng)) + b"\n")
    with paths["products"].open("wb") as out:
        for n in range(200):
            node = {
                "id": f"gid://shopify/Product/{n + 1}",
                "title": f"P{n}",
                "productType": f"T{n % 9}",
                "vendor": f"V{n % 5}",
                "tags": ["a", f"t{n % 4}"],
                "updatedAt": "2026-01-01T00:00:00Z",
            }
            out.write(orjson.dumps(node) + b"\n")
    lines, total = _write_orders(paths["orders"], customers, orders, rng)
    return Files(paths, customers, orders, lines, total)


def _iso(moment: datetime) -> str:
    """A DateTime as Shopify writes it: UTC, whole seconds, `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _customer(n: int, rng: random.Random) -> dict[str, Any]:
    updated = NOW - timedelta(days=rng.randint(1, 900))
    return {
        "id": f"gid://shopify/Customer/{n + 1}",
        "firstName": f"F{n}",
        "lastName": f"L{n}",
        "state": "ENABLED",
        "locale": "en",
        "verifiedEmail": True,
        "createdAt": _iso(updated),
        "updatedAt": _iso(updated),
        "tags": ["vip"] if n % 7 == 0 else [],
        "defaultEmailAddress": {
            "emailAddress": f"c{n}@example.com",
            "marketingState": "SUBSCRIBED",
            "marketingOptInLevel": "SINGLE_OPT_IN",
            "marketingUpdatedAt": _iso(updated),
        },
        "defaultPhoneNumber": None,
        "defaultAddress": {"countryCodeV2": "PL", "provinceCode": "MZ", "city": "Warszawa"},
        "numberOfOrders": "0",
        "amountSpent": {"amount": "0.00", "currencyCode": "USD"},
        "statistics": {"predictedSpendTier": "LOW", "rfmGroup": "NEW"},
    }


def _write_orders(path: Path, customers: int, orders: int, rng: random.Random) -> tuple[int, int]:
    """Orders and their lines, in blocks of 10,000 shuffled lines (children may lead)."""
    lines = total = 0
    with path.open("wb") as out:
        for start in range(0, orders, 10_000):
            block: list[bytes] = []
            for n in range(start, min(start + 10_000, orders)):
                count = rng.choice((1, 2, 2, 3, 4, 3))
                order, items, counted = _order(n, customers, count, rng)
                block.append(orjson.dumps(order))
                block.extend(orjson.dumps(i) for i in items)
                lines, total = lines + count, total + counted
            rng.shuffle(block)
            out.write(b"\n".join(block) + b"\n")
    return lines, total


def _order(
    n: int, customers: int, count: int, rng: random.Random
) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    gid = f"gid://shopify/Order/{n + 1}"
    prices = [rng.randint(100, 9999) for _ in range(count)]
    total = sum(prices)
    placed = _iso(NOW - timedelta(minutes=rng.randint(0, 1_000_000)))
    money = lambda m: {"shopMoney": {"amount": f"{m / 100:.2f}", "currencyCode": "USD"}}  # noqa: E731
    test = n % 97 == 0
    order = {
        "id": gid,
        "name": f"#{n}",
        "email": None,
        "customerLocale": "en",
        "customer": {"id": f"gid://shopify/Customer/{rng.randint(1, customers)}"},
        "currentTotalPriceSet": money(total),
        "totalPriceSet": money(total),
        "totalDiscountsSet": money(0),
        "displayFinancialStatus": "PAID",
        "cancelledAt": None,
        "test": test,
        "sourceName": "web",
        "discountCodes": [],
        "refunds": [],
        "app": None,
        "retailLocation": None,
        "processedAt": placed,
        "createdAt": placed,
        "updatedAt": placed,
    }
    items = [
        {
            "id": f"gid://shopify/LineItem/{n * 4 + k + 1}",
            "title": "Item",
            "vendor": "V",
            "quantity": 1,
            "product": {"id": f"gid://shopify/Product/{rng.randint(1, 200)}"},
            "variant": None,
            "originalUnitPriceSet": money(p),
            "discountAllocations": [],
            "__parentId": gid,
        }
        for k, p in enumerate(prices)
    ]
    return order, items, 0 if test else total


class LocalFiles:
    """A HistorySource over local JSONL files: the export is 'ready' at once."""

    resources = ("customers", "products", "orders")

    def __init__(self, files: Files) -> None:
        self.files = files

    def full_history(self, scopes: str | None) -> bool:
        return True

    def start(self, resource: str) -> str:
        return resource

    def check(self, operation_id: str) -> ExportState:
        return ExportState("ready", url=str(self.files.paths[operation_id]))

    def lines(self, url: str, skip: int) -> Iterator[bytes]:
        with open(url, "rb") as source:
            for number, line in enumerate(source):
                if number >= skip:
                    yield line

    def page(self, resource: str, cursor: str | None) -> Page:
        raise NotImplementedError

    rows = staticmethod(rows_from_lines)  # a plain function: a second process can run it


@dataclass
class Result:
    backend: str
    database: str
    files: Files
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)
    cpu: float = 0.0  # CPU seconds of this process and its staging child (not the server's)


def run_backend(backend: str, files: Files) -> Result:
    with throwaway_database(backend) as url:
        engine = make_engine(url)
        upgrade_head(engine)
        runtime = build_runtime(Settings(database_url=url, secret_key="b" * 40))
        with runtime.sessions.begin() as session:
            shop = Shop(domain="bench.myshopify.com", install_state=INSTALLED, installed_at=NOW)
            session.add(shop)
            session.flush()
            run_id = create_run(session, shop.id, "benchmark", utcnow()).id
        load_before = load_average()
        with _instrument() as timings:
            cpu_before = _cpu()
            started = time.perf_counter()
            for _attempt in range(3):  # start the exports, see them ready, import
                if advance(runtime, run_id, LocalFiles(files)) == DONE:
                    break
            else:
                raise BenchmarkError("the import did not finish")
            seconds = time.perf_counter() - started
            cpu = _cpu() - cpu_before
        result = Result(
            backend,
            server_version(engine),
            files,
            seconds,
            dict(timings),
            (load_before, load_average()),
            cpu,
        )
        _check(runtime, files)
        runtime.close()
        engine.dispose()
        return result


def _cpu() -> float:
    """This process's CPU seconds and its reaped children's (the staging child's)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@contextmanager
def _instrument() -> Iterator[dict[str, float]]:
    """Time the import's stages by wrapping Step methods and finish steps for the run (no
    change to the app; the originals are put back)."""
    from plugin.backfill import finish

    timings: dict[str, float] = {}
    targets: list[tuple[Any, str, str]] = [
        (importer.Step, "_stage", "stage"),
        (importer.Step, "_merge", "merge"),
        *((finish, n, n) for n in ("link_owners", "recompute_all_metrics", "_evaluate_and_sync")),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _label in targets]
    for (owner, name, label), (_o, _n, original) in zip(targets, originals, strict=True):
        setattr(owner, name, _timed(original, label, timings))
    try:
        yield timings
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def _timed(original: Any, label: str, timings: dict[str, float]) -> Any:
    def timed(*args: Any) -> Any:
        t = time.perf_counter()
        try:
            return original(*args)
        finally:
            timings[label] = timings.get(label, 0.0) + time.perf_counter() - t

    return timed


def _check(runtime: Any, files: Files) -> None:
    from plugin.profiles.models import Customer, Order, OrderLine

    with runtime.sessions() as session:
        got = (
            session.scalar(select(func.count()).select_from(Customer)),
            session.scalar(select(func.count()).select_from(Order)),
            session.scalar(select(func.count()).select_from(OrderLine)),
            session.scalar(select(func.sum(Customer.total_spent_minor))),
        )
    expected = (files.customers, files.orders, files.lines, files.counted_total_minor)
    if got != expected:
        raise BenchmarkError(f"imported {got}, expected {expected}")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.backfill")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    return parser.parse_args(argv)


def run(args: argparse.Namespace, backends: list[str]) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="shopseg-backfill-") as directory:
        files = write_files(Path(directory), args.customers, args.orders)
        return [run_backend(b, files) for b in backends]


def write_report(results: list[Result], out: Path, command: str) -> str:
    sections = []
    for r in results:
        f = r.files
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in r.phases.items())
        rows = f.customers + f.orders + f.lines + 200
        section = (
            f"## History import: {r.backend}, {f.customers:,} customers / {f.orders:,} orders\n\n"
            f"`{command}` on {machine([r.database])}, load {r.load[0]:.1f}→{r.load[1]:.1f}.\n\n"
            f"| lines | total | CPU (import processes) | rate | stages |\n|---|---|---|---|---|\n"
            f"| {rows:,} ({f.lines:,} line items) | {r.seconds:.1f} s | {r.cpu:.1f} s "
            f"| {rows / r.seconds:,.0f} lines/s | {phases} |\n"
        )
        update_document(out, f"{KEY}-{r.backend}", section)
        sections.append(section)
    return "\n".join(sections)


def main(argv: Sequence[str] | None = None) -> int:
    return benchmark_main("benchmarks.backfill", argv, parse_args, run, write_report)


if __name__ == "__main__":
    raise SystemExit(main())
