"""Every documented example payload applies cleanly; every type exemplar is refused whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.errors import ValidationError
from plugin.manifest import topics
from plugin.profiles.models import (
    Checkout,
    Customer,
    CustomerTag,
    Order,
    OrderLine,
    Product,
    Purchase,
    Refund,
    Tombstone,
)
from tests.support.profiles import EXAMPLES, EXEMPLARS, load_example, topic_file

PROFILE_TABLES = (Customer, CustomerTag, Order, OrderLine, Refund, Checkout, Product, Purchase)


def subscribed_topics() -> list[str]:
    return sorted(t for t in topics() if (EXAMPLES / topic_file(t)).exists())


# Type exemplars of the topics we subscribe to, each mapped to the topic it stands for.
EXEMPLAR_TOPICS = {
    "orders_1.json": "orders/create",
    "orders_2.json": "orders/updated",  # an order-edit shape where an order is expected
    "orders_3.json": "orders/updated",  # an order-risk shape where an order is expected
    "checkouts_1.json": "checkouts/create",
    "customers_1.json": "customers/update",
    "refunds_1.json": "refunds/create",
    "refunds_2.json": "refunds/create",
    "customers_email_marketing_consent_1.json": "customers_email_marketing_consent/update",
    "customers_marketing_consent_1.json": "customers_marketing_consent/update",
}
# carts/* are not subscribed: no builder.
UNSUBSCRIBED_EXEMPLARS = {"carts_1.json"}


def row_counts(session: Session) -> dict[str, int]:
    return {
        m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
        for m in (*PROFILE_TABLES, Tombstone)
    }


@pytest.mark.parametrize("topic", subscribed_topics())
def test_every_example_payload_of_a_subscribed_topic_applies(
    topic: str, apply: Callable[..., list[Any]], session: Session
) -> None:
    events = apply(topic, load_example(topic))
    if topic == "customers/merge":  # the example merge failed: nothing to move
        assert events == []
    else:
        assert len(events) == 1


def test_example_order_is_stored_with_exact_ids_and_current_total(
    apply: Callable[..., list[Any]], session: Session
) -> None:
    payload = load_example("orders/create")
    apply("orders/create", payload)
    order = session.scalar(select(Order))
    assert order is not None
    assert order.platform_id == payload["admin_graphql_api_id"].rsplit("/", 1)[1]
    assert order.total_minor == round(float(payload["current_total_price"]) * 100)
    assert order.test is True
    lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    assert len(lines) == len(payload["line_items"])


def test_every_exemplar_file_is_covered() -> None:
    names = {p.name for p in EXEMPLARS.glob("*.json")}
    assert names == set(EXEMPLAR_TOPICS) | UNSUBSCRIBED_EXEMPLARS


@pytest.mark.parametrize("name", sorted(EXEMPLAR_TOPICS))
def test_type_exemplar_fails_cleanly_and_writes_nothing(
    name: str, apply: Callable[..., list[Any]], session: Session
) -> None:
    topic = EXEMPLAR_TOPICS[name]
    payload = json.loads((EXEMPLARS / name).read_text())
    with pytest.raises(ValidationError) as caught:
        apply(topic, payload, api_version="2025-04")
    assert caught.value.detail.startswith(f"{topic}: invalid payload: ")
    session.rollback()
    assert set(row_counts(session).values()) == {0}


def test_example_refund_reaches_the_example_order(
    apply: Callable[..., list[Any]], session: Session
) -> None:
    apply("orders/create", load_example("orders/create"))
    apply("refunds/create", load_example("refunds/create"))
    session.expire_all()
    order = session.scalar(select(Order))
    refund = session.scalar(select(Refund))
    assert order is not None and refund is not None
    assert refund.order_platform_id == order.platform_id
    assert order.net_total_minor == order.total_minor - refund.amount_minor
