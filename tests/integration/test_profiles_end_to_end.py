"""Profiles over real HTTP: signed deliveries into the running app, the worker, the store."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from plugin.inbox.models import DEAD, DONE, IGNORED
from plugin.manifest import topics
from plugin.profiles.models import Checkout, Customer, CustomerTag, Order, OrderLine, Refund
from plugin.profiles.queries import customer_document
from plugin.shops.models import Shop
from tests.support.live import LiveApp
from tests.support.profiles import EXAMPLES, EXEMPLARS, load_example, order_payload, topic_file

SHOP = "e2e-shop.myshopify.com"
# These end the shop's story, so they go last; shop/redact (which erases the shop's inbox
# too) is left to the direct test in test_profiles_examples.py.
LAST = ("customers/redact", "app/uninstalled")
EXEMPLAR_TOPICS = {
    "orders_1.json": "orders/create",
    "checkouts_1.json": "checkouts/create",
    "customers_1.json": "customers/update",
    "refunds_2.json": "refunds/create",
}


def document(live: LiveApp, customer_id: str) -> dict[str, Any]:
    with live.runtime.sessions() as session:
        shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
        assert shop is not None
        doc = customer_document(session, shop, customer_id)
    assert doc is not None
    return doc


def test_out_of_order_and_late_deliveries_converge(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP)
    newer = order_payload("1", customer="7", total="80.00", updated_at="2026-03-02T00:00:00Z")
    older = order_payload("1", customer="7", total="100.00", updated_at="2026-03-01T00:00:00Z")
    doomed = order_payload("2", customer="7", total="500.00", updated_at="2026-03-01T00:00:00Z")
    sent = [
        ("orders/updated", newer, "2026-03-02T00:00:01Z"),
        ("orders/create", older, "2026-03-01T00:00:01Z"),
        ("orders/create", doomed, "2026-03-01T00:00:01Z"),
        ("orders/delete", {"id": 2}, "2026-03-03T00:00:00Z"),
        ("orders/updated", doomed, "2026-03-01T00:00:02Z"),  # a late retry after the delete
    ]
    for topic, payload, triggered in sent:
        response = live_app.post_webhook(topic, SHOP, payload, triggered_at=triggered)
        assert response.status_code == 200
    live_app.drain()
    assert {row.status for row in live_app.inbox_rows(SHOP)} == {DONE}
    doc = document(live_app, "7")
    assert [(o["id"], o["total"]) for o in doc["orders"]] == [("1", "80.00")]
    assert (doc["metrics"]["orders_count"], doc["metrics"]["total_spent"]) == (1, "80.00")


def test_every_example_applies_and_every_exemplar_is_parked_without_writes(
    live_app: LiveApp,
) -> None:
    live_app.install_shop(SHOP)
    for name, topic in EXEMPLAR_TOPICS.items():
        payload = json.loads((EXEMPLARS / name).read_text())
        assert live_app.post_webhook(topic, SHOP, payload, api_version="2025-04").ok
    live_app.drain()
    rows = live_app.inbox_rows(SHOP)
    assert [r.status for r in rows] == [DEAD] * len(EXEMPLAR_TOPICS)
    assert all("invalid payload" in (r.last_error or "") for r in rows)
    with live_app.runtime.sessions() as session:
        for model in (Customer, CustomerTag, Order, OrderLine, Refund, Checkout):
            assert session.scalar(select(func.count()).select_from(model)) == 0

    subscribed = [t for t in topics() if (EXAMPLES / topic_file(t)).exists() and t != "shop/redact"]
    ordered = [t for t in subscribed if t not in LAST] + [t for t in LAST if t in subscribed]
    for topic in ordered:
        assert live_app.post_webhook(topic, SHOP, load_example(topic), api_version="2026-04").ok
    live_app.drain()
    examples = live_app.inbox_rows(SHOP)[len(EXEMPLAR_TOPICS) :]
    statuses = {row.topic: (row.status, row.last_error) for row in examples}
    assert statuses.keys() == set(ordered)
    assert {s for s, _ in statuses.values()} <= {DONE, IGNORED}, statuses
