"""The compliance topics over real HTTP, through the worker, the Shopify adapter and the
profile handlers: the store is built from webhooks, not from rows."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from plugin.inbox.models import DONE, InboxRow
from plugin.privacy.models import PrivacyExport
from plugin.profiles.models import Customer, Order
from plugin.shops.models import UNINSTALLED, Shop
from tests.integration.test_privacy_store import (
    OTTO,
    ZELDA,
    Person,
    counted_revenue,
    find_values,
    mentions,
    shop_rows,
    tables,
)
from tests.support.live import LiveApp
from tests.support.profiles import checkout_payload, customer_payload, order_payload

A, B = "alpha-e2e.myshopify.com", "beta-e2e.myshopify.com"
T = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def person_payload(p: Person, at: datetime) -> dict[str, Any]:
    payload = customer_payload(
        p.platform_id,
        updated_at=at,
        email=p.email,
        phone=p.phone,
        first_name=p.first_name,
        last_name=p.last_name,
    )
    address = copy.deepcopy(payload["default_address"])
    address.update(city=p.city, first_name=p.first_name, last_name=p.last_name, phone=p.phone)
    address.update(name=f"{p.first_name} {p.last_name}", customer_id=int(p.platform_id))
    payload["default_address"] = address
    return payload


def order_for(p: Person, order_id: str, total: str, at: datetime) -> dict[str, Any]:
    payload = order_payload(order_id, customer=p.platform_id, total=total, updated_at=at)
    payload["email"] = payload["customer"]["email"] = p.email
    payload["customer"].update(first_name=p.first_name, last_name=p.last_name)
    payload["checkout_token"] = f"tok-{order_id}"
    return payload


def checkout_for(p: Person, token: str, at: datetime) -> dict[str, Any]:
    payload = checkout_payload(token, customer=p.platform_id, total="42.00", updated_at=at)
    payload["email"] = payload["customer"]["email"] = p.email
    payload["phone"] = p.phone
    return payload


def fill_shop(live: LiveApp, domain: str, order_base: int) -> None:
    for i, person in enumerate((ZELDA, OTTO)):
        live.post_webhook("customers/create", domain, person_payload(person, T))
        order_id = str(order_base + i)
        live.post_webhook("orders/create", domain, order_for(person, order_id, "120.00", T))
        live.post_webhook("checkouts/create", domain, checkout_for(person, f"ck{order_id}", T))
    assert live.drain() == 6
    assert {r.status for r in live.inbox_rows(domain)} == {DONE}


def compliance(p: Person, **extra: Any) -> dict[str, Any]:
    customer = {"id": int(p.platform_id), "email": p.email, "phone": p.phone}
    return {"shop_id": 1, "shop_domain": "x", "customer": customer, **extra}


def two_shops(live: LiveApp) -> None:
    live.install_shop(A)
    live.install_shop(B)
    fill_shop(live, A, 5000)
    fill_shop(live, B, 6000)


def shop_by_domain(session: Any, domain: str) -> Shop:
    shop = session.scalar(select(Shop).where(Shop.domain == domain))
    assert shop is not None
    return shop


def redact_in_one_batch_with_a_late_order(live: LiveApp) -> int:
    """Redaction of ZELDA in shop A; her next order is queued behind it, in the same batch
    of the worker. Returns shop A's counted revenue before."""
    two_shops(live)
    with live.runtime.sessions() as session:
        revenue = counted_revenue(session, shop_by_domain(session, A))
    live.post_webhook("customers/redact", A, compliance(ZELDA, orders_to_redact=[5000]))
    live.post_webhook("orders/create", A, order_for(ZELDA, "5009", "30.00", T))
    assert live.drain() == 2
    return revenue


def test_a_redaction_through_the_worker_leaves_nothing_of_the_person(live_app) -> None:
    revenue = redact_in_one_batch_with_a_late_order(live_app)

    with live_app.runtime.sessions() as session:
        a, b = shop_by_domain(session, A), shop_by_domain(session, B)
        # incl. `subject_ids` of the redact delivery and of the order queued behind it
        assert find_values(session, a, ZELDA.needles) == []
        assert find_values(session, a, OTTO.needles), "the other customer was erased too"
        assert find_values(session, b, ZELDA.needles), "the other shop was erased too"
        assert counted_revenue(session, a) == revenue + 3000


def test_a_late_order_after_a_redaction_does_not_bring_the_person_back(live_app) -> None:
    two_shops(live_app)
    live_app.post_webhook("customers/redact", A, compliance(ZELDA))
    live_app.drain()

    later = T + timedelta(days=1)
    live_app.post_webhook("orders/updated", A, order_for(ZELDA, "5000", "110.00", later))
    live_app.post_webhook("orders/create", A, order_for(ZELDA, "5009", "30.00", later))
    live_app.post_webhook("customers/update", A, person_payload(ZELDA, later))
    live_app.drain()

    with live_app.runtime.sessions() as session:
        a = shop_by_domain(session, A)
        customers = session.scalars(select(Customer.platform_id).where(Customer.shop_id == a.id))
        assert ZELDA.platform_id not in set(customers)
        orders = session.scalars(
            select(Order).where(Order.shop_id == a.id, Order.platform_id.in_(["5000", "5009"]))
        ).all()
        assert sorted((o.platform_id, o.total_minor) for o in orders) == [
            ("5000", 11000),
            ("5009", 3000),
        ]
        assert all(o.anonymized and o.email is None for o in orders)
        assert all(o.customer_platform_id is None for o in orders)


def test_a_data_request_through_the_worker_keeps_an_export(live_app) -> None:
    two_shops(live_app)
    request = compliance(ZELDA, orders_requested=[5000], data_request={"id": 9999})

    live_app.post_webhook("customers/data_request", A, request)
    live_app.drain()

    with live_app.runtime.sessions() as session:
        (export,) = session.scalars(select(PrivacyExport).where(PrivacyExport.request_id == "9999"))
        data = export.data["data"]
        assert [o["platform_id"] for o in data["orders"]] == ["5000"]
        assert data["profile"]["city"] == ZELDA.city
        assert [c["token"] for c in data["checkouts"]] == ["ck5000"]
        assert not mentions(export.data, (*OTTO.needles, "6000", B))


def test_shop_redact_through_the_worker_empties_every_table(live_app) -> None:
    two_shops(live_app)
    with live_app.runtime.sessions.begin() as session:
        a = shop_by_domain(session, A)
        a.install_state, a.uninstalled_at = UNINSTALLED, a.installed_at + timedelta(hours=1)
    with live_app.runtime.sessions() as session:
        a = shop_by_domain(session, A)

    live_app.post_webhook("shop/redact", A, {"shop_id": 1, "shop_domain": A})
    live_app.drain()

    with live_app.runtime.sessions() as session:
        left = {t.name: shop_rows(session, t, a) for t in tables()}
        assert {name for name, rows in left.items() if rows} == {"webhook_inbox"}
        (current,) = left["webhook_inbox"]
        assert (current["topic"], current["status"], current["payload"]) == (
            "shop/redact",
            DONE,
            None,
        )
        b = shop_by_domain(session, B)
        assert find_values(session, b, ZELDA.needles)
    assert len(live_app.inbox_rows(B)) == 6


def test_shop_redact_of_a_reinstalled_shop_is_ignored(live_app) -> None:
    two_shops(live_app)
    with live_app.runtime.sessions.begin() as session:
        a = shop_by_domain(session, A)
        a.uninstalled_at = a.installed_at - timedelta(hours=1)  # installed again since

    live_app.post_webhook("shop/redact", A, {"shop_id": 1, "shop_domain": A})
    live_app.drain()

    rows = live_app.inbox_rows(A)
    assert len(rows) == 7 and rows[-1].status == DONE
    with live_app.runtime.sessions() as session:
        assert find_values(session, shop_by_domain(session, A), ZELDA.needles)
        assert session.scalar(select(InboxRow.payload).where(InboxRow.id == rows[-1].id))


def test_deliveries_queued_behind_a_shop_redact_do_not_bring_the_shop_back(live_app) -> None:
    two_shops(live_app)
    with live_app.runtime.sessions.begin() as session:
        a = shop_by_domain(session, A)
        a.install_state, a.uninstalled_at = UNINSTALLED, a.installed_at + timedelta(hours=1)
        shop_id = a.id

    live_app.post_webhook("shop/redact", A, {"shop_id": 1, "shop_domain": A})
    live_app.post_webhook("orders/create", A, order_for(ZELDA, "5009", "30.00", T))
    live_app.post_webhook("customers/update", A, person_payload(OTTO, T + timedelta(days=1)))
    live_app.drain()

    with live_app.runtime.sessions() as session:
        assert session.get(Shop, shop_id) is None
        held = {t.name for t in tables() if shop_rows(session, t, a)}
    rows = live_app.inbox_rows(A)
    assert held <= {"webhook_inbox"}
    assert [(r.topic, r.payload) for r in rows] == [("shop/redact", None)]
