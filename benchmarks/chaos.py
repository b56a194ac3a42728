"""Chaos run (`python -m benchmarks.chaos`): CDNOW webhooks, each delivered 1-3 times in
shuffled order, into `serve` plus workers while a random process is killed with SIGKILL every
few seconds and the simulated Shopify answers with 5xx, 429, timeouts and THROTTLED. The end
state must equal a clean run's (one delivery each, in order, no kills, no faults); every
difference is printed and fails the run. Figures go to docs/reliability.md."""

from __future__ import annotations

import argparse
import logging
import os
import random
import secrets
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, delete, update

from benchmarks.cdnow import (
    PROJECT,
    SignedDelivery,
    Transaction,
    read_transactions,
    signed_deliveries,
)
from benchmarks.chaos_fleet import (
    Fleet,
    Killer,
    fleet_for,
    kill_live_fleets,
    post_until_stored,
    shopseg,
)
from benchmarks.chaos_state import (
    EndState,
    backlog,
    differences,
    duplicate_triggers,
    entry_reasons,
    read_end_state,
)
from benchmarks.databases import server_version, throwaway_database
from benchmarks.errors import BenchmarkError
from benchmarks.report import app_commit, benchmark_main, machine, update_document
from plugin.db import make_engine
from plugin.manifest import access_scopes
from plugin.platforms.shopify.simulator.server import SimulatorHandle, start_simulator
from plugin.profiles.models import Customer
from plugin.segments.rfm_models import RfmCutoffs

SHOP = "cdnow-chaos.myshopify.com"
API_KEY = "chaos-api-key"
API_SECRET = "shpss_chaos" + "0" * 32
PUSHED_SEGMENTS = ("Regular", "One-time buyers", "Inactive")
QUIET_TIMEOUT_SECONDS = 3600  # a 20,000-delivery backlog on a loaded machine
DEFAULT_OUT = PROJECT / "docs" / "reliability.md"

log = logging.getLogger("benchmarks.chaos")


@dataclass(frozen=True)
class RunFigures:
    posted: int
    outcomes: Counter[str]
    seconds: float
    kills: Counter[str]
    state: EndState


@dataclass(frozen=True)
class ChaosResult:
    backend: str
    database: str
    events: int
    clean: RunFigures
    chaos: RunFigures


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--deliveries", type=int, default=20000, help="CDNOW orders (events)")
    parser.add_argument("--kill-every", type=float, default=4.0, help="mean seconds between kills")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (PostgreSQL)")
    parser.add_argument("--threads", type=int, default=4, help="posting client threads")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def run(args: argparse.Namespace, backends: list[str]) -> list[ChaosResult]:
    transactions = read_transactions(args.deliveries)
    return [run_backend(backend, transactions, args) for backend in backends]


def run_backend(backend: str, txs: list[Transaction], args: argparse.Namespace) -> ChaosResult:
    secret = secrets.token_urlsafe(24)
    deliveries = signed_deliveries(txs, SHOP, secret)
    log.info("%s: clean run of %d deliveries", backend, len(deliveries))
    clean, database = one_run(backend, txs, deliveries, secret, args, chaos=False)
    plan = chaos_plan(deliveries, random.Random(args.seed))
    log.info(
        "%s: chaos run of %d deliveries (kills every ~%ss)", backend, len(plan), args.kill_every
    )
    chaotic, _ = one_run(backend, txs, plan, secret, args, chaos=True)
    found = differences(clean.state, chaotic.state)
    if found:
        found += entry_reasons(clean.state, chaotic.state)
        raise BenchmarkError(
            f"{backend}: the chaos run ended different from the clean run:\n  " + "\n  ".join(found)
        )
    log.info("%s: equal end states (%s)", backend, chaotic.state.summary)
    return ChaosResult(backend, database, len(deliveries), clean, chaotic)


def chaos_plan(deliveries: list[SignedDelivery], rng: random.Random) -> list[SignedDelivery]:
    """Each delivery 1-3 times, a repeat either Shopify's retry (same webhook id) or the event
    sent again (new webhook id, same event id), all shuffled."""
    plan: list[SignedDelivery] = []
    for delivery in deliveries:
        plan.append(delivery)
        for copy in range(1, rng.randint(1, 3)):
            plan.append(delivery if rng.random() < 0.5 else _resent(delivery, copy))
    rng.shuffle(plan)
    return plan


def _resent(delivery: SignedDelivery, copy: int) -> SignedDelivery:
    webhook_id = f"{delivery.webhook_id}-again-{copy}"
    headers = {**delivery.headers, "X-Shopify-Webhook-Id": webhook_id}
    return replace(delivery, webhook_id=webhook_id, headers=headers)


def one_run(
    backend: str,
    txs: list[Transaction],
    deliveries: list[SignedDelivery],
    webhook_secret: str,
    args: argparse.Namespace,
    *,
    chaos: bool,
) -> tuple[RunFigures, str]:
    sim = start_simulator(API_KEY, API_SECRET, app_scopes=access_scopes())
    try:
        with throwaway_database(backend) as url, tempfile.TemporaryDirectory() as logs:
            engine = make_engine(url)
            try:
                fleet = fleet_for(backend, _env(url, sim), Path(logs), args.workers)
                fleet.env["SHOPSEG_APP_URL"] = fleet.url
                _install(fleet, sim, txs, webhook_secret)
                figures = _drive(fleet, engine, sim, deliveries, args, chaos=chaos)
                return figures, server_version(engine)
            finally:
                engine.dispose()
    finally:
        sim.stop()


def _env(database_url: str, sim: SimulatorHandle) -> dict[str, str]:
    return {
        **os.environ,
        "SHOPSEG_DATABASE_URL": database_url,
        "SHOPSEG_SECRET_KEY": secrets.token_urlsafe(48),
        "SHOPIFY_API_KEY": API_KEY,
        "SHOPIFY_API_SECRET": API_SECRET,
        "SHOPSEG_SHOPIFY_BASE_URL": sim.base_url,
        "SHOPSEG_WORKER_POLL_SECONDS": "0.2",
        # The customers come from the replayed orders only. An import at install would race
        # the replay: whether it stored a customer before their 1997 orders arrived decides
        # whether those orders move them as `realtime` (and fire reactivation) or `initial`.
        "SHOPSEG_HISTORY_IMPORT_ON_INSTALL": "0",
        "SHOPSEG_LOG_LEVEL": "WARNING",
    }


def _install(fleet: Fleet, sim: SimulatorHandle, txs: list[Transaction], secret: str) -> None:
    """Migrate, seed the simulated shop with the customers, add it as a custom-app shop."""
    sim.state.add_shop(SHOP)
    for customer_id in sorted({tx.customer_id for tx in txs}):
        sim.state.add_customer(SHOP, customer_id, email=f"c{customer_id}@example.com")
    token = sim.state.issue_custom_token(SHOP)
    _cli(fleet, "migrate")
    _cli(fleet, "shops", "add", SHOP, "--token", token, "--webhook-secret", secret)
    # Built-ins push no tag until chosen: these put every customer's memberships through
    # the outbox (one-customer rows, the bulk fold, the shop's faults).
    for segment in PUSHED_SEGMENTS:
        _cli(fleet, "segments", "push", SHOP, segment, "on")


def _cli(fleet: Fleet, *args: str) -> None:
    done = subprocess.run(shopseg(*args), env=fleet.env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchmarkError(f"shopseg {args[0]} failed: {done.stderr.strip()[-500:]}")


def _drive(
    fleet: Fleet,
    engine: Engine,
    sim: SimulatorHandle,
    deliveries: list[SignedDelivery],
    args: argparse.Namespace,
    *,
    chaos: bool,
) -> RunFigures:
    fleet.start()
    try:
        if chaos:
            _faults_on(sim)
        started = time.monotonic()
        with Killer(fleet, args.kill_every if chaos else 0, args.seed):
            outcomes = post_until_stored(fleet.url + "/webhooks/shopify", deliveries, args.threads)
            _wait_quiet(engine, inbox_only=True)
        # A killed loop's claimed outbox rows come back when their lease runs out (10 min).
        _wait_quiet(engine)
        seconds = time.monotonic() - started
        _faults_off(sim)
        _settle_time_based_state(fleet, engine)
        _wait_quiet(engine)
    finally:
        fleet.stop()
    if any(not key.startswith(("2", "retried")) for key in outcomes):
        raise BenchmarkError(f"deliveries refused: {dict(outcomes)}")
    state = read_end_state(engine, sim.state, SHOP)
    return RunFigures(len(deliveries), outcomes, seconds, fleet.kills(), state)


def _settle_time_based_state(fleet: Fleet, engine: Engine) -> None:
    """What depends on when the sweeps ran, made the same in both runs before the end state
    is read: RFM cut-offs and stored scores (recomputed when the ranked customers doubled
    since the last sweep, and held by hysteresis from then on) are cleared so the last sweep
    scores everyone afresh; the predictions (refit once 10% more orders arrived) are refit
    on the whole history; then one sweep evaluates every segment under one clock."""
    with engine.begin() as conn:
        conn.execute(delete(RfmCutoffs))
        conn.execute(
            update(Customer).values(rfm_r=None, rfm_f=None, rfm_m=None, rfm_scored_at=None)
        )
    _cli(fleet, "predictions", "refit", SHOP)
    _cli(fleet, "segments", "evaluate", SHOP)


def _faults_on(sim: SimulatorHandle) -> None:
    switches = sim.state.switches
    switches.seed = 11
    switches.error_rate = 0.05
    switches.rate_limit_rate = 0.02
    switches.throttle_graphql = 50
    # Longer than the app's 30 s read timeout: the call ran, but the app never hears so.
    switches.timeout_rate = 0.003
    switches.timeout_after_execute = True
    switches.timeout_delay = 31.0
    sim.state.reset_faults()


def _faults_off(sim: SimulatorHandle) -> None:
    switches = sim.state.switches
    switches.error_rate = switches.rate_limit_rate = switches.timeout_rate = 0.0
    switches.throttle_graphql = 0


def _wait_quiet(engine: Engine, *, inbox_only: bool = False) -> None:
    """Until no inbox row waits and (unless `inbox_only`) no outbox row is owed."""
    deadline = time.monotonic() + QUIET_TIMEOUT_SECONDS
    last_report = 0.0
    while True:
        inbox, outbox = backlog(engine)
        if inbox == 0 and (inbox_only or outbox == 0):
            return
        now = time.monotonic()
        if now > deadline:
            raise BenchmarkError(f"still {inbox} inbox and {outbox} outbox rows after the run")
        if now - last_report > 30:
            log.info("waiting: %d inbox rows, %d outbox rows", inbox, outbox)
            last_report = now
        time.sleep(1)


def write_report(results: list[ChaosResult], out: Path, command: str) -> str:
    section = render(results, command)
    update_document(out, "chaos", section)
    return section


def render(results: list[ChaosResult], command: str) -> str:
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        "### Chaos: kill -9 and a failing shop during a replay",
        "",
        f"`{command}` — {date}, app {app_commit()}, {machine([r.database for r in results])}.",
        "",
        "| backend | events | deliveries posted | posts retried | kills | wall time | "
        "end state | differences | triggers sent twice |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for label, run in (("clean", r.clean), ("chaos", r.chaos)):
            retried = sum(n for k, n in run.outcomes.items() if k.startswith("retried"))
            kills = ", ".join(f"{k} {n}" for k, n in sorted(run.kills.items()) if n) or "none"
            lines.append(
                f"| {r.backend} ({label}) | {r.events} | {run.posted} | {retried} | {kills} | "
                f"{run.seconds:.0f} s | {run.state.summary} | "
                f"{'—' if label == 'clean' else 0} | {duplicate_triggers(run.state)} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, kill_live_fleets)
    return benchmark_main("benchmarks.chaos", argv, parse_args, run, write_report)


if __name__ == "__main__":
    raise SystemExit(main())
