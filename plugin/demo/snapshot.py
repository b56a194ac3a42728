"""Keeping the demo shop across runs: the simulator's shop data (customers with their tags,
orders, products, the app's plan) saved to a file and loaded back, so a second
`shopseg demo` continues."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from plugin.platforms.shopify.simulator.state import SimulatorState

VERSION = 1


def save(state: SimulatorState, path: Path, extra: dict[str, Any]) -> None:
    """Write atomically (a kill mid-write leaves the previous snapshot)."""
    with state.lock:
        data = pickle.dumps(
            {
                "version": VERSION,
                "shops": state.shops,
                "products": state.products,
                "orders": state.orders,
                "customers": state.customers.by_shop,
                "app_subscriptions": state.app_subscriptions,
                "extra": extra,
            },
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def load(state: SimulatorState, path: Path) -> dict[str, Any] | None:
    """Restore a snapshot this demo wrote; its `extra`, or None when there is none (or it is
    from another version of the demo, which then starts over)."""
    if not path.exists():
        return None
    # Only ever a file this command wrote into its own data directory.
    data = pickle.loads(path.read_bytes())
    if data.get("version") != VERSION:
        return None
    with state.lock:
        state.shops.update(data["shops"])
        state.products.update(data["products"])
        state.orders.update(data["orders"])
        state.customers.by_shop.update(data["customers"])
        state.app_subscriptions.update(data.get("app_subscriptions") or {})
    return dict(data["extra"])
