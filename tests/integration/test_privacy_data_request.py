"""`customers/data_request`: an export of everything held on the person, and nothing else."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from plugin.handlers import Context, dispatch
from plugin.privacy.models import PrivacyExport
from plugin.profiles.models import Order
from plugin.settings import Settings
from tests.integration.test_privacy_store import (
    OTTO,
    T0,
    ZELDA,
    Person,
    ShopData,
    add_delivery,
    build_store,
    compliance_payload,
    data_request_event,
    mentions,
)


def request_export(
    session: Session, settings: Settings, data: ShopData, person: Person, order_ids=()
) -> PrivacyExport:
    delivery = add_delivery(
        session, data, "customers/data_request", compliance_payload(person, order_ids)
    )
    event = data_request_event(person, order_ids)
    dispatch(session, data.shop, event, delivery, Context(settings, T0))
    session.commit()
    return session.scalars(
        select(PrivacyExport)
        .where(PrivacyExport.shop_id == data.shop.id, PrivacyExport.request_id == "9999")
        .order_by(PrivacyExport.id.desc())
    ).first()


def walk(node: Any, key: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [pair for k, v in node.items() for pair in walk(v, k)]
    if isinstance(node, list):
        return [pair for item in node for pair in walk(item, key)]
    return [(key, node)]


def test_the_export_holds_the_persons_orders_with_lines_and_refunds(session, settings) -> None:
    a, _ = build_store(session)
    old_order = a.orders["zelda_old_email"].platform_id

    export = request_export(session, settings, a, ZELDA, (old_order,))

    orders = {o["platform_id"]: o for o in export.data["data"]["orders"]}
    expected = {o.platform_id for k, o in a.orders.items() if k.startswith("zelda")}
    assert set(orders) == expected
    first = orders[a.orders["zelda"].platform_id]
    assert first["total_minor"] == a.orders["zelda"].total_minor
    assert [r["platform_id"] for r in first["refunds"]] == ["A-r1"]
    assert [line["order_id"] for line in first["lines"]] == [str(a.orders["zelda"].id)]


def test_the_export_holds_profile_tags_checkouts_purchases_deliveries(session, settings) -> None:
    a, _ = build_store(session)

    data = request_export(session, settings, a, ZELDA).data["data"]

    assert data["profile"]["email"] == ZELDA.email
    assert data["profile"]["email_marketing_state"] == "subscribed"
    assert data["profile"]["total_spent_minor"] == 1000
    assert sorted(t["tag"] for t in data["tags"]) == ["newsletter", "vip"]
    assert sorted(c["token"] for c in data["checkouts"]) == ["A-ck-zelda", "A-ck-zelda-guest-phone"]
    assert {p["order_id"] for p in data["purchases"]} == {
        str(a.orders[k].id) for k in ("zelda", "zelda_cancelled")
    }
    zelda_rows = {"zelda_order_done", "zelda_update_pending", "zelda_checkout_dead"}
    expected = {a.inbox[k].webhook_id for k in zelda_rows | {"merge_reduced"}}
    delivered = {d["webhook_id"] for d in data["deliveries"]}
    assert expected <= delivered
    assert not {a.inbox[k].webhook_id for k in ("otto_pending", "otto_done")} & delivered
    assert not any("payload" in d for d in data["deliveries"])


def test_the_export_holds_nothing_of_another_customer_or_shop(session, settings) -> None:
    a, b = build_store(session)

    export = request_export(session, settings, a, ZELDA)

    text = json.dumps(export.data)
    assert not mentions(text, OTTO.needles)
    others = [o.platform_id for k, o in a.orders.items() if k.startswith("otto")]
    others += [o.platform_id for o in b.orders.values()]
    assert not mentions(text, tuple(others))
    assert not mentions(text, (b.domain, "B-"))


def test_ids_are_strings_and_times_iso_8601(session, settings) -> None:
    a, _ = build_store(session)

    export = request_export(session, settings, a, ZELDA)

    pairs = walk(export.data)
    ids = [v for k, v in pairs if (k == "id" or k.endswith("_id")) and v is not None]
    times = [v for k, v in pairs if k.endswith("_at") and v is not None]
    assert ids and all(isinstance(v, str) for v in ids)
    assert times and all(datetime.fromisoformat(v).utcoffset() is not None for v in times)


def test_a_repeated_request_replaces_its_export(session, settings) -> None:
    a, b = build_store(session)
    count = select(func.count()).select_from(PrivacyExport)

    first = request_export(session, settings, a, ZELDA)
    total = session.scalar(count)
    session.execute(update(Order).where(Order.id == a.orders["zelda"].id).values(total_minor=1))
    second = request_export(session, settings, a, ZELDA)

    assert session.scalar(count) == total
    assert second.id == first.id
    totals = {o["platform_id"]: o["total_minor"] for o in second.data["data"]["orders"]}
    assert totals[a.orders["zelda"].platform_id] == 1
    assert session.get(PrivacyExport, b.exports["zelda"].id) is not None
    assert session.get(PrivacyExport, a.exports["zelda"].id) is not None


def test_the_export_is_kept_for_the_merchant_under_the_request(session, settings) -> None:
    a, _ = build_store(session)

    export = request_export(session, settings, a, ZELDA)

    assert (export.shop_id, export.customer_platform_id) == (a.shop.id, ZELDA.platform_id)
    assert export.data["request_id"] == "9999"
    assert export.data["customer_id"] == ZELDA.platform_id
    assert export.data["shop"] == a.domain


def test_a_request_for_an_unknown_customer_gives_an_empty_export(session, settings) -> None:
    a, _ = build_store(session)
    nobody = Person("7308880000001", "no.body@example.com", "+4791111111", "N", "B", "C", "-")

    data = request_export(session, settings, a, nobody).data["data"]

    assert data["profile"] is None
    assert data["orders"] == data["checkouts"] == data["tags"] == data["purchases"] == []
