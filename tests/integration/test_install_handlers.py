"""Shop events from webhooks: shop/update, app/uninstalled and app/scopes_update."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from plugin import crypto
from plugin.errors import ReauthRequired
from plugin.events import AppUninstalled, Delivery, ScopesUpdated, ShopUpdated
from plugin.handlers import Context, dispatch
from plugin.runtime import Runtime, build_runtime
from plugin.settings import Settings
from plugin.shops.models import INSTALLED, UNINSTALLED, Shop
from plugin.shops.tokens import access_token

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def make_shop(session: Session, settings: Settings) -> Shop:
    key = settings.secret_key
    shop = Shop(
        domain="events-shop.myshopify.com",
        install_state=INSTALLED,
        auth_method="managed",
        access_token_enc=crypto.encrypt(key, "shpat_live"),
        access_token_expires_at=NOW + timedelta(hours=1),
        refresh_token_enc=crypto.encrypt(key, "shprt_live"),
        refresh_token_expires_at=NOW + timedelta(days=90),
        webhook_secret_enc=crypto.encrypt(key, "hook-secret"),
        installed_at=NOW - timedelta(days=1),
    )
    session.add(shop)
    session.flush()
    return shop


def delivery(topic: str, triggered_at: datetime | None = NOW) -> Delivery:
    return Delivery(1, topic, "wh-1", "ev-1", triggered_at)


def test_shop_update_keeps_timezone_and_currency(session: Session, settings: Settings) -> None:
    shop = make_shop(session, settings)
    ctx = Context(settings, NOW)
    dispatch(session, shop, ShopUpdated("v1", "Europe/Madrid", "EUR"), delivery("shop/update"), ctx)
    assert (shop.timezone, shop.currency) == ("Europe/Madrid", "EUR")
    # A payload without them changes nothing.
    dispatch(session, shop, ShopUpdated("v2", None, None), delivery("shop/update"), ctx)
    assert (shop.timezone, shop.currency) == ("Europe/Madrid", "EUR")


def test_uninstall_drops_the_tokens_and_stops_outbound_calls(
    session: Session, settings: Settings, runtime_for: Runtime
) -> None:
    shop = make_shop(session, settings)
    dispatch(
        session, shop, AppUninstalled("v1"), delivery("app/uninstalled"), Context(settings, NOW)
    )
    session.commit()
    assert shop.install_state == UNINSTALLED and shop.uninstalled_at == NOW
    assert shop.access_token_enc is None and shop.refresh_token_enc is None
    assert shop.access_token_expires_at is None
    with pytest.raises(ReauthRequired):
        access_token(runtime_for, shop.id)


def test_uninstall_from_before_the_latest_install_is_ignored(
    session: Session, settings: Settings
) -> None:
    shop = make_shop(session, settings)
    stale = delivery("app/uninstalled", triggered_at=NOW - timedelta(days=2))
    dispatch(session, shop, AppUninstalled("v0"), stale, Context(settings, NOW))
    assert shop.install_state == INSTALLED and shop.access_token_enc is not None


def test_scopes_update_is_recorded(session: Session, settings: Settings) -> None:
    shop = make_shop(session, settings)
    event = ScopesUpdated("v1", ("read_orders", "write_customers"))
    dispatch(session, shop, event, delivery("app/scopes_update"), Context(settings, NOW))
    assert shop.scopes == "read_orders,write_customers"


@pytest.fixture
def runtime_for(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    yield runtime
    runtime.close()
