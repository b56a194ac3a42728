"""Worker test fixtures: `runtime`, and `recorder` (scripted adapter, counting dispatcher)."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.db import utcnow
from plugin.errors import ValidationError
from plugin.events import CustomerTagsChanged, Delivery, Event, make_version
from plugin.handlers import Context
from plugin.inbox.services import IncomingDelivery, record_delivery
from plugin.runtime import Runtime, build_runtime
from plugin.settings import Settings
from plugin.shops.models import Shop, ShopSetting


class ScriptedAdapter:
    """`{"marker", "customer"}` → one CustomerTagsChanged; `"invalid": true` → ValidationError;
    no marker → no events."""

    name = "shopify"

    def events_from_delivery(
        self, delivery: Delivery, api_version: str | None, payload: dict[str, Any]
    ) -> list[Event]:
        if payload.get("invalid"):
            raise ValidationError("field `id`: not a valid integer")
        if "marker" not in payload:
            return []
        version = make_version(None, delivery.triggered_at, delivery.webhook_id)
        customer = str(payload.get("customer", "c1"))
        return [CustomerTagsChanged(version, customer_id=customer, added=(payload["marker"],))]


class Recorder:
    """Counts applications per marker in `shop_settings` inside the worker's savepoint, so a
    rolled-back attempt leaves no count and a double application shows as 2.
    `failures[marker] = n` makes the first n applications of that marker raise."""

    def __init__(self) -> None:
        self.failures: Counter[str] = Counter()
        self.overlaps = 0  # times two threads were inside one customer's update at once
        self._active: set[str] = set()
        self._lock = threading.Lock()

    def __call__(
        self, session: Session, shop: Shop, event: Event, delivery: Delivery, ctx: Context
    ) -> None:
        assert isinstance(event, CustomerTagsChanged)
        with self._lock:
            self.overlaps += event.customer_id in self._active
            self._active.add(event.customer_id)
        try:
            self._count(session, shop, event)
        finally:
            with self._lock:
                self._active.discard(event.customer_id)

    def _count(self, session: Session, shop: Shop, event: CustomerTagsChanged) -> None:
        marker = event.added[0]
        key = f"applied:{marker}"
        setting = session.get(ShopSetting, (shop.id, key))
        if setting is None:
            session.add(ShopSetting(shop_id=shop.id, key=key, value={"count": 1}))
        else:
            setting.value = {"count": setting.value["count"] + 1}
        session.flush()
        with self._lock:
            if self.failures[marker] > 0:
                self.failures[marker] -= 1
                raise RuntimeError(f"injected failure for {marker}")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A runtime (engine, sessions) on the backend under test, without a web server."""
    rt = build_runtime(settings)
    yield rt
    rt.close()


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Route the worker through the scripted adapter and the recorder."""
    rec = Recorder()
    monkeypatch.setattr("plugin.worker.adapter_for", lambda platform: ScriptedAdapter())
    monkeypatch.setattr("plugin.worker.dispatch", rec)
    return rec


def applied_counts(session: Session) -> dict[str, int]:
    rows = session.scalars(select(ShopSetting).where(ShopSetting.key.like("applied:%")))
    return {row.key.removeprefix("applied:"): row.value["count"] for row in rows}


def add_shop(runtime: Runtime, domain: str, state: str = "installed") -> int:
    with runtime.sessions.begin() as session:
        shop = Shop(domain=domain, install_state=state)
        session.add(shop)
        session.flush()
        return shop.id


def deliver(
    runtime: Runtime,
    shop: str,
    payload: dict[str, Any] | str,
    *,
    topic: str = "customer.tags_added",
    webhook_id: str | None = None,
    event_id: str | None = None,
    triggered_at: datetime | None = None,
) -> None:
    """Store a delivery as the receiver would (after verification)."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    incoming = IncomingDelivery(
        platform="shopify",
        shop_domain=shop,
        topic=topic,
        webhook_id=webhook_id or str(uuid.uuid4()),
        event_id=event_id,
        api_version="2026-04",
        triggered_at=triggered_at or utcnow(),
        headers={},
        body=body,
    )
    with runtime.sessions() as session:
        record_delivery(session, incoming)
