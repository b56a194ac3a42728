"""Synthetic trigger firings for the admin benchmark: the Triggers page counts them."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from benchmarks.segments_store import NOW, Store, _insert
from plugin.runtime import Runtime
from plugin.triggers.catalogue import TRIGGERS
from plugin.triggers.models import TriggerFiring

# Roughly what a shop's log holds after months: most decisions fire or are skipped.
STATES = (("fired", 40), ("skipped", 45), ("cancelled", 10), ("scheduled", 3), ("deferred", 2))
REASONS = (
    "no email marketing consent (unsubscribed)",
    "no email marketing consent (not_subscribed)",
    "the customer has no email address",
    "the trigger was switched off",
    "no enabled Flow workflow uses this trigger",
)
WINDOW_DAYS = 90


def add_firings(runtime: Runtime, store: Store, count: int, seed: int = 20261204) -> int:
    """`count` firings over the store's customers, bulk-inserted; returns the count."""
    rng = random.Random(seed)
    states, weights = [s for s, _ in STATES], [w for _, w in STATES]
    rows = [_firing(rng, store, n, rng.choices(states, weights)[0]) for n in range(count)]
    _insert(runtime.engine, TriggerFiring, rows)
    return len(rows)


def _firing(rng: random.Random, store: Store, n: int, state: str) -> dict[str, Any]:
    at = NOW - timedelta(minutes=rng.randrange(WINDOW_DAYS * 24 * 60))
    return {
        "shop_id": store.shop_id,
        "name": rng.choice(TRIGGERS),
        "trigger_id": f"bench-{n}",
        "dedupe_key": f"bench:{n}",
        "customer_id": rng.choice(store.customer_ids),
        "state": state,
        "due_at": at,
        "fired_at": at if state == "fired" else None,
        "why": "benchmark",
        "detail": rng.choice(REASONS) if state == "skipped" else None,
        "payload": {},
        "created_at": at,
        "updated_at": at,
    }
