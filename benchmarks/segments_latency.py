"""End-to-end latency on a large store: a webhook accepted by the receiver until its
memberships and outbox rows are committed by the worker, at half the worker's maximum rate."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from benchmarks.cdnow import SignedDelivery, Transaction, order_payload, sign_delivery
from benchmarks.errors import BenchmarkError
from benchmarks.segments_store import DOMAIN, Store
from plugin.app import create_app
from plugin.inbox.models import DONE, InboxRow
from plugin.runtime import Runtime
from plugin.worker import process_batch

WEBHOOK_PATH = "/webhooks/shopify"
BURST = 1000  # deliveries drained back to back to find the maximum rate
LINE_BASE = 90_000_000  # order ids far from the store's and from CDNOW's


@dataclass
class Latency:
    max_rate: float  # events/s of a drain of `burst` stored deliveries
    rate: float  # the paced rate, half of it
    events: int
    burst: int
    p50_ms: float
    p99_ms: float


def deliveries(store: Store, secret: str, at: datetime, count: int, first: int) -> list[Any]:
    """orders/create deliveries for existing customers of the store, placed at `at`."""
    rng = random.Random(first)
    found = []
    for n in range(first, first + count):
        cid = rng.randrange(1, store.customers + 1)
        tx = Transaction(LINE_BASE + n, "1", at.date(), 1, Decimal("49.00"))
        payload = order_payload(tx)
        platform_id = 7_000_000_000 + cid  # segments_store's customer ids
        customer = payload["customer"]
        customer["id"] = platform_id
        customer["admin_graphql_api_id"] = f"gid://shopify/Customer/{platform_id}"
        payload["email"] = payload["contact_email"] = customer["email"] = (
            f"customer{cid}@example.com"
        )
        for key in ("processed_at", "created_at", "updated_at"):
            payload[key] = at.isoformat()
        found.append(sign_delivery(payload, tx, DOMAIN, secret))
    return found


def end_to_end(
    runtime: Runtime, store: Store, now: datetime, seconds: float, burst: int = BURST
) -> Latency:
    """Post `burst` deliveries and drain them (the maximum rate), then post for `seconds` at
    half that rate while a worker thread drains; per delivery, the time from the
    receiver's 200 to the commit of the batch that applied it."""
    client = create_app(runtime).test_client()
    secret = runtime.settings.shopify_api_secret
    for delivery in deliveries(store, secret, now, burst, 0):
        _post(client, delivery)
    started = time.perf_counter()
    while process_batch(runtime, now=now):
        pass
    max_rate = burst / (time.perf_counter() - started)
    rate = max_rate / 2
    paced = deliveries(store, secret, now, max(1, int(rate * seconds)), burst)
    accepted: dict[str, float] = {}
    applied: dict[str, float] = {}
    stop = threading.Event()
    ids = [d.webhook_id for d in paced]
    worker = threading.Thread(target=_drain, args=(runtime, now, ids, applied, stop))
    worker.start()
    try:
        begin = time.perf_counter()
        for n, delivery in enumerate(paced):
            delay = begin + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            _post(client, delivery)
            accepted[delivery.webhook_id] = time.perf_counter()
        deadline = time.perf_counter() + 60 + seconds
        while len(applied) < len(paced) and time.perf_counter() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join()
    if len(applied) < len(paced):
        raise BenchmarkError(f"{len(paced) - len(applied)} paced deliveries were not applied")
    # A batch can commit a row a moment before its request's answer is read here: 0 then.
    waits = sorted(max(0.0, applied[w] - accepted[w]) * 1000 for w in accepted)
    p50, p99 = nearest_rank(waits, 50), nearest_rank(waits, 99)
    return Latency(max_rate, rate, len(waits), burst, p50, p99)


def _post(client: Any, delivery: SignedDelivery) -> None:
    response = client.post(WEBHOOK_PATH, data=delivery.body, headers=delivery.headers)
    if response.status_code != 200:
        raise BenchmarkError(f"the receiver answered {response.status_code}")


def _drain(
    runtime: Runtime,
    now: datetime,
    ids: list[str],
    applied: dict[str, float],
    stop: threading.Event,
) -> None:
    """Process batches as they come; after each, the deliveries it applied (one query)."""
    while not stop.is_set():
        if not process_batch(runtime, now=now):
            time.sleep(0.005)
            continue
        committed = time.perf_counter()
        waiting = [w for w in ids if w not in applied]
        with runtime.sessions() as session:
            done = session.scalars(
                select(InboxRow.webhook_id).where(
                    InboxRow.webhook_id.in_(waiting), InboxRow.status == DONE
                )
            )
            for webhook_id in done:
                applied[webhook_id] = committed


def nearest_rank(values: list[float], p: float) -> float:
    """The p-th percentile of sorted `values` by rank (0 for none)."""
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else 0.0
