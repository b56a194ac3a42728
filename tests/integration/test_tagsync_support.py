"""Helpers for the tag sync and outbox tests: a shop installed in the simulator with two
segments of our own (built-ins switched off, so tags are exact), orders through the worker
and the outbox drained at a chosen time."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from plugin.db import utcnow
from plugin.outbox.delivery import deliver_due
from plugin.outbox.models import OutboxItem
from plugin.outbox.pacing import Pacer
from plugin.outbox.services import pending_count
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.models import Segment
from plugin.segments.services import create_segment, disable_segment
from plugin.shops.models import Shop
from plugin.worker import process_batch
from tests.support.inbox import deliver
from tests.support.profiles import order_payload
from tests.support.simulator import install_via_exchange

SHOP = "tags-shop.myshopify.com"
BUYERS = "seg:buyers"  # number_of_orders >= 1
BIG = "seg:big-spenders"  # amount_spent >= 100


def installed_shop(runtime: Runtime, simulator: SimulatorHandle, domain: str = SHOP) -> int:
    """Installed the managed way, built-ins off, with Buyers and Big spenders."""
    install_via_exchange(runtime, simulator, domain)
    now = utcnow()
    with runtime.sessions.begin() as session:
        shop = session.scalar(select(Shop).where(Shop.domain == domain))
        assert shop is not None
        for name in session.scalars(select(Segment.name).where(Segment.shop_id == shop.id)):
            disable_segment(session, shop.id, name, now=now)
        create_segment(session, shop.id, "Buyers", "number_of_orders >= 1", now=now)
        create_segment(session, shop.id, "Big spenders", "amount_spent >= 100", now=now)
        shop_id = shop.id
    sweep_shop(runtime, shop_id, now)  # settles the new rules: real time evaluates them now
    return shop_id


def place_order(
    runtime: Runtime,
    customer: str,
    order_id: str,
    total: str,
    at: datetime | None = None,
    domain: str = SHOP,
) -> None:
    """orders/create through the inbox and the worker (real-time segment evaluation)."""
    at = at or utcnow()
    payload = order_payload(order_id, customer=customer, total=total, updated_at=at)
    deliver(runtime, domain, payload, topic="orders/create", triggered_at=at)
    assert process_batch(runtime, now=at) == 1


def tags_webhook(
    runtime: Runtime,
    customer: str,
    tags: list[str],
    *,
    added: bool,
    at: datetime | None = None,
    domain: str = SHOP,
) -> None:
    """customer.tags_added/removed as the shop sends it, through the worker."""
    at = at or utcnow()
    payload = {
        "customerId": f"gid://shopify/Customer/{customer}",
        "tags": tags,
        "occurredAt": at.isoformat().replace("+00:00", "Z"),
    }
    topic = "customer.tags_added" if added else "customer.tags_removed"
    deliver(runtime, domain, payload, topic=topic, triggered_at=at)
    assert process_batch(runtime, now=at) == 1


def drain_outbox(
    runtime: Runtime,
    *,
    now: datetime | None = None,
    pacer: Pacer | None = None,
    rounds: int = 500,
    step: timedelta = timedelta(0),
) -> datetime:
    """Deliver until nothing is due; with a `step`, until no row is owed at all, moving the
    clock by `step` whenever nothing is due (backoff, polling). Returns the final clock."""
    clock = now or utcnow()
    pacer = pacer or Pacer()
    for _ in range(rounds):
        if deliver_due(runtime, now=clock, pacer=pacer):
            continue
        with runtime.sessions() as session:
            if not step or not pending_count(session):
                return clock
        clock += step
    raise AssertionError(f"the outbox did not drain in {rounds} rounds")


def outbox_rows(runtime: Runtime, **where: Any) -> list[OutboxItem]:
    with runtime.sessions() as session:
        return list(session.scalars(select(OutboxItem).filter_by(**where).order_by(OutboxItem.id)))


def graphql_calls(simulator: SimulatorHandle, name: str, shop: str = SHOP) -> int:
    return sum(
        1
        for r in simulator.state.requests_of("graphql", shop)
        if name in str(r.body.get("query", ""))
    )


def drain_in_real_time(runtime: Runtime, pacer: Pacer | None = None, seconds: float = 60.0) -> None:
    """Deliver with the real clock: bulk operations run in the simulator's own time."""
    pacer, deadline = pacer or Pacer(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        if deliver_due(runtime, now=utcnow() + timedelta(seconds=2), pacer=pacer):
            continue
        if not any(r.state in ("pending", "sending") for r in outbox_rows(runtime)):
            return
        time.sleep(0.1)
    raise AssertionError("the outbox did not drain")
