"""Benchmark of the predictions refit: fit + scoring of 25k, 100k and 1M synthetic customers
drawn from the model fitted on CDNOW, in memory and through the database.

`python -m benchmarks.predictions [--sizes 25000 100000 1000000] [--db-sizes 25000 100000]`
writes the `predictions` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from benchmarks.databases import BACKENDS, server_version, throwaway_database
from benchmarks.report import app_commit, load_average, machine, update_document
from plugin.predictions import bgnbd, gammagamma, scoring
from plugin.predictions.services import refit_shop
from plugin.profiles.models import Customer, Order
from plugin.shops.models import INSTALLED, Shop

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
# The fits on CDNOW_master.txt's calibration period (weeks; dollars).
CDNOW_MODEL = bgnbd.BgNbd(r=0.2516, alpha=4.7889, a=0.7234, b=2.1611)
CDNOW_SPEND = gammagamma.GammaGamma(p=6.2754, q=3.6245, v=14.9837)
HISTORY_DAYS = 730
TODAY = date(2026, 6, 1).toordinal() - date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Simulated:
    """Purchase days (day numbers) and values of simulated customers, sorted by customer."""

    customer: np.ndarray
    day: np.ndarray
    value: np.ndarray


def simulate(
    n: int,
    model: bgnbd.BgNbd = CDNOW_MODEL,
    spend: gammagamma.GammaGamma = CDNOW_SPEND,
    history_days: int = HISTORY_DAYS,
    today: int = TODAY,
    seed: int = 1,
) -> Simulated:
    """BG/NBD customers whose first purchase falls uniformly in the history: λ ~ Gamma(r,
    alpha) per week, p ~ Beta(a, b), a drop-out chance after each repeat purchase; each
    purchase's value ~ Gamma(p, nu) with nu ~ Gamma(q, v). Vectorised over customers."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(model.r, 1.0 / model.alpha, n) / 7.0  # per day
    drop = rng.beta(model.a, model.b, n)
    nu = rng.gamma(spend.q, 1.0 / spend.v, n)
    start = today - rng.integers(0, history_days, n)
    customers, days = [np.arange(n)], [start.astype(np.float64)]
    now, alive = start.astype(np.float64), np.ones(n, bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1.0 / np.maximum(rate[idx], 1e-12))
        bought = idx[now[idx] <= today]
        customers.append(bought)
        days.append(now[bought])
        alive[idx] = False
        alive[bought] = rng.random(len(bought)) >= drop[bought]
    customer, day = np.concatenate(customers), np.floor(np.concatenate(days)).astype(np.int64)
    order = np.lexsort((day, customer))
    customer, day = customer[order], day[order]
    value = rng.gamma(spend.p, 1.0 / nu[customer])
    return Simulated(customer, day, value)


def as_histories(sim: Simulated) -> scoring.Histories:
    """The simulated purchases as `scoring.Histories` (one purchase per day and order)."""
    keys, inverse = np.unique(np.column_stack([sim.customer, sim.day]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    value = np.bincount(inverse, weights=sim.value)
    customer, day = keys[:, 0], keys[:, 1]
    n = int(customer.max()) + 1
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, customer, day)
    last = np.zeros(n, np.int64)
    np.maximum.at(last, customer, day)
    repeat = day > first[customer]
    count = np.bincount(customer, minlength=n)
    return scoring.Histories(
        customer_id=np.arange(n),
        orders=count,
        days=count,
        first=first,
        last=last,
        value=np.bincount(customer, weights=value, minlength=n),
        repeat_value=np.bincount(customer[repeat], weights=value[repeat], minlength=n),
        later_days=np.zeros(n, np.int64),
    )


def time_in_memory(n: int) -> tuple[float, float, int]:
    """(fit + scoring seconds, orders, purchase days) for n simulated customers."""
    h = as_histories(simulate(n))
    started = time.perf_counter()
    scores, fit = scoring.score(h, TODAY)
    elapsed = time.perf_counter() - started
    assert fit.kind == "model" and scores.scored.all(), fit.reason
    return elapsed, int(h.days.sum()), len(np.unique(np.column_stack([h.days, h.first])))


def load_shop(session: Session, sim: Simulated) -> int:
    """The simulated purchases as one shop's customers and orders (noon UTC)."""
    shop = Shop(domain="predictions.myshopify.com", install_state=INSTALLED)
    session.add(shop)
    session.flush()
    n = int(sim.customer.max()) + 1
    for lo in range(0, n, 50_000):
        rows = [{"shop_id": shop.id, "platform_id": str(c)} for c in range(lo, min(n, lo + 50_000))]
        session.execute(insert(Customer.__table__), rows)
    ids = dict(session.execute(select(Customer.platform_id, Customer.id)).all())
    epoch = datetime(1970, 1, 1, 12, tzinfo=UTC)
    orders = [
        {
            "shop_id": shop.id,
            "platform_id": str(k),
            "customer_id": ids[str(c)],
            "total_minor": round(v * 100),
            "net_total_minor": round(v * 100),
            "ordered_at": epoch + timedelta(days=d),
        }
        for k, (c, d, v) in enumerate(
            zip(sim.customer.tolist(), sim.day.tolist(), sim.value.tolist(), strict=True)
        )
    ]
    for lo in range(0, len(orders), 50_000):
        session.execute(insert(Order.__table__), orders[lo : lo + 50_000])
    session.commit()
    return shop.id


def time_database(backend: str, n: int) -> tuple[float, str]:
    """Seconds of one `refit_shop` (read, fit, score, holdout, write, commit) on `backend`."""
    from plugin.db import Base, make_engine, make_session_factory

    with throwaway_database(backend) as url:
        engine = make_engine(url)
        try:
            Base.metadata.create_all(engine)
            sessions = make_session_factory(engine)
            with sessions() as session:
                shop_id = load_shop(session, simulate(n))
            now = datetime(1970, 1, 1, 12, tzinfo=UTC) + timedelta(days=TODAY)
            started = time.perf_counter()
            with sessions.begin() as session:
                fit = refit_shop(session, shop_id, now)
                kind = fit.kind
            elapsed = time.perf_counter() - started
            version = server_version(engine)
        finally:
            engine.dispose()
    assert kind == "model"
    return elapsed, version


def report(
    memory: list[tuple[int, float, int]],
    database: list[tuple[str, int, float]],
    versions: list[str],
) -> str:
    lines = [
        "### Predictions: fit + scoring (`python -m benchmarks.predictions`)",
        "",
        "Synthetic customers drawn from the BG/NBD and Gamma-Gamma fits on CDNOW (first",
        f"purchases spread over {HISTORY_DAYS} days). *In memory*: `scoring.score` (BG/NBD",
        "fit, Gamma-Gamma fit, every score and percentile). *Database*: one `refit_shop`",
        "(the one set-based read, fit, scoring, the 90-day holdout refit, the bulk write of",
        "every prediction row, commit).",
        "",
        "| customers | purchase days | in memory |",
        "|---|---|---|",
        *(f"| {n:,} | {days:,} | {sec:.2f} s |" for n, sec, days in memory),
        "",
        "| database | customers | refit_shop |",
        "|---|---|---|",
        *(f"| {backend} | {n:,} | {sec:.2f} s |" for backend, n, sec in database),
        "",
        f"Machine: {machine(versions)}; load average {load_average():.1f}; app {app_commit()}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[25_000, 100_000, 1_000_000])
    parser.add_argument("--db-sizes", type=int, nargs="*", default=[25_000, 100_000])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    memory = []
    for n in args.sizes:
        sec, days, _distinct = time_in_memory(n)
        memory.append((n, sec, days))
        print(f"in memory {n:,}: {sec:.2f} s ({days:,} purchase days)", flush=True)
    database, versions = [], []
    for backend in BACKENDS:
        for n in args.db_sizes:
            sec, version = time_database(backend, n)
            database.append((backend, n, sec))
            print(f"{backend} {n:,}: {sec:.2f} s", flush=True)
        versions.append(version)
    update_document(args.out, "predictions", report(memory, database, versions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
