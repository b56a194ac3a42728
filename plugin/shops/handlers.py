"""Event handlers of the shops package: shop details, uninstall and scope changes."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from plugin.events import AppUninstalled, Delivery, Event, ScopesUpdated, ShopUpdated
from plugin.handling import Context, Handler
from plugin.shops import services
from plugin.shops.models import Shop

log = logging.getLogger(__name__)


def apply_shop_updated(
    session: Session, shop: Shop, event: Event, delivery: Delivery, ctx: Context
) -> None:
    assert isinstance(event, ShopUpdated)
    services.record_shop_info(session, shop.id, timezone=event.timezone, currency=event.currency)


def apply_app_uninstalled(
    session: Session, shop: Shop, event: Event, delivery: Delivery, ctx: Context
) -> None:
    """Drop the tokens: from now on nothing calls the shop. Data stays until shop/redact."""
    # A retried uninstall from before the latest (re)install must not undo that install.
    if _predates_install(shop, delivery):
        log.info("shops.uninstall.stale shop=%s", shop.domain)
        return
    services.mark_uninstalled(session, shop, ctx.now)


def apply_scopes_updated(
    session: Session, shop: Shop, event: Event, delivery: Delivery, ctx: Context
) -> None:
    assert isinstance(event, ScopesUpdated)
    services.record_scopes(session, shop, event.scopes)


def _predates_install(shop: Shop, delivery: Delivery) -> bool:
    granted = shop.authorized_at or shop.installed_at  # the latest (re)install
    return bool(delivery.triggered_at and granted and delivery.triggered_at < granted)


HANDLERS: dict[type[Event], Handler] = {
    ShopUpdated: apply_shop_updated,
    AppUninstalled: apply_app_uninstalled,
    ScopesUpdated: apply_scopes_updated,
}
