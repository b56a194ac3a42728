"""A customer's metafields from customers/* webhooks (each namespace the payload carries
replaced whole under the profile's version, the others kept), typed as the segment
language reads them — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.profiles.facts_models import CustomerMetafield
from plugin.shops.models import Shop
from tests.integration.test_segment_compiler_store import members
from tests.support.profiles import customer_payload

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def field(namespace: str, key: str, type_: str, value: Any) -> dict[str, Any]:
    return {"namespace": namespace, "key": key, "type": type_, "value": value}


def stored(session: Session, shop: Shop) -> set[tuple[Any, ...]]:
    session.expire_all()
    rows = session.scalars(select(CustomerMetafield).where(CustomerMetafield.shop_id == shop.id))
    return {
        (m.namespace, m.key, m.position, m.type, m.value, m.number_value, m.date_value)
        for m in rows
    }


def test_customers_update_replaces_the_namespaces_it_carries_under_the_profile_version(
    session: Session, shop: Shop, apply: Callable[..., Any]
) -> None:
    first = [
        field("facts", "birth_date", "date", "1990-05-03"),
        field("custom", "points", "number_integer", 120),
        field("custom", "sizes", "list.number_decimal", "[38, 38.5]"),
        field("custom", "raw", "json", '{"a": 1}'),  # no filter reads it: not kept
        field("custom", "bad", "number_integer", "12x"),  # not of its type: not kept
    ]
    apply("customers/update", customer_payload("21", updated_at=T0, metafields=first))
    assert stored(session, shop) == {
        ("facts", "birth_date", 0, "date", "1990-05-03", None, date(1990, 5, 3)),
        ("custom", "points", 0, "number", "120", 120.0, None),
        ("custom", "sizes", 0, "number", "38", 38.0, None),
        ("custom", "sizes", 1, "number", "38.5", 38.5, None),
    }
    assert members(session, shop, "metafields.custom.sizes CONTAINS 38.5") == {"21"}

    later = T0 + timedelta(hours=1)
    only_custom = [field("custom", "points", "number_integer", 5)]
    apply("customers/update", customer_payload("21", updated_at=later, metafields=only_custom))
    apply(  # late: an older profile version changes nothing
        "customers/update",
        customer_payload("21", updated_at=T0 + timedelta(minutes=30), metafields=[]),
    )
    apply("customers/update", customer_payload("21", updated_at=later + timedelta(hours=1)))
    assert stored(session, shop) == {
        ("facts", "birth_date", 0, "date", "1990-05-03", None, date(1990, 5, 3)),
        ("custom", "points", 0, "number", "5", 5.0, None),
    }
    assert members(session, shop, "metafields.custom.points < 10") == {"21"}
    assert members(session, shop, "metafields.custom.sizes IS NULL") == {"21"}


def test_an_order_never_writes_metafields(
    session: Session, shop: Shop, apply: Callable[..., Any]
) -> None:
    from tests.support.profiles import order_payload

    payload = order_payload("601", customer="22", total="5.00", updated_at=T0)
    payload["customer"]["metafields"] = [field("facts", "birth_date", "date", "1990-05-03")]
    apply("orders/create", payload)
    assert stored(session, shop) == set()
