"""Real Shopify payloads over HTTP, through the real adapter and handlers, into profiles."""

from __future__ import annotations

from sqlalchemy import select

from plugin.inbox.models import AWAITING_INSTALL, DONE, DUPLICATE
from plugin.inbox.services import release_awaiting_install
from plugin.profiles.models import Customer
from tests.support.live import LiveApp
from tests.support.profiles import load_example

SHOP = "demo-shop.myshopify.com"
BOB = "706405506930370084"  # the example customer's exact id (from its GID)


def customers(live_app: LiveApp) -> list[Customer]:
    with live_app.runtime.sessions() as session:
        return list(session.scalars(select(Customer)))


def test_customer_create_example_becomes_a_profile(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP)
    payload = load_example("customers/create")
    response = live_app.post_webhook(
        "customers/create", SHOP, payload, event_id="ev-1", api_version="2026-04"
    )
    assert response.status_code == 200
    assert live_app.drain() == 1
    [row] = live_app.inbox_rows()
    assert (row.status, row.last_error, row.subject_ids) == (DONE, None, BOB)
    [customer] = customers(live_app)
    assert (customer.platform_id, customer.email) == (BOB, "bob@biller.com")

    # The same event again through another subscription: recognised, not applied twice.
    live_app.post_webhook("customers/create", SHOP, payload, event_id="ev-1")
    live_app.drain()
    assert [r.status for r in live_app.inbox_rows()] == [DONE, DUPLICATE]


def test_order_example_processes_without_error(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP)
    live_app.post_webhook("orders/create", SHOP, load_example("orders/create"))
    live_app.drain()
    [row] = live_app.inbox_rows()
    assert (row.status, row.last_error) == (DONE, None)


def test_delivery_before_install_is_processed_once_the_shop_installs(live_app: LiveApp) -> None:
    live_app.post_webhook("customers/create", SHOP, load_example("customers/create"))
    live_app.drain()
    assert [r.status for r in live_app.inbox_rows()] == [AWAITING_INSTALL]
    assert customers(live_app) == []

    live_app.install_shop(SHOP)
    with live_app.runtime.sessions.begin() as session:
        release_awaiting_install(session, "shopify", SHOP)
    live_app.drain()
    assert [r.status for r in live_app.inbox_rows()] == [DONE]
    assert [c.platform_id for c in customers(live_app)] == [BOB]
