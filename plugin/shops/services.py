"""Shop install state and per-shop settings (database only, no HTTP)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import crypto
from plugin.backfill.runs import queue_first_import
from plugin.db import insert_for
from plugin.inbox.services import release_awaiting_install
from plugin.segments.builtins import ensure_builtin_segments
from plugin.settings import Settings
from plugin.shops.models import INSTALLED, UNINSTALLED, Shop, ShopSetting
from plugin.shops.tokens import Credentials

SETTING_DEFAULTS: dict[str, Any] = {
    "abandoned_after_hours": 10,
    "link_guest_orders_by_email": False,
}


def get_shop(session: Session, platform: str, domain: str) -> Shop | None:
    return session.scalar(select(Shop).where(Shop.platform == platform, Shop.domain == domain))


def list_shops(session: Session) -> list[Shop]:
    return list(session.scalars(select(Shop).order_by(Shop.platform, Shop.domain)))


def install_shop(
    session: Session,
    settings: Settings,
    platform: str,
    domain: str,
    credentials: Credentials,
    *,
    auth_method: str,
    now: datetime,
) -> Shop:
    """Create or reinstall the shop with fresh encrypted credentials and seed its settings.

    A re-authorisation (scope change, re-install, a second admin load) keeps `installed_at`
    and queues nothing new: the first install alone queues the history import.
    """
    shop = _upsert_shop_row(session, platform, domain)
    key = settings.secret_key
    shop.install_state = INSTALLED
    shop.auth_method = auth_method
    shop.scopes = ",".join(credentials.scopes)
    shop.access_token_enc = crypto.encrypt(key, credentials.access_token)
    shop.access_token_expires_at = credentials.access_expires_at
    shop.refresh_token_enc = _encrypt_or_none(key, credentials.refresh_token)
    shop.refresh_token_expires_at = credentials.refresh_expires_at
    # Only a custom app signs with its own secret; any other install uses the app's.
    shop.webhook_secret_enc = _encrypt_or_none(key, credentials.webhook_secret)
    shop.refresh_lock_until = None
    shop.reauth_reason = None
    if shop.installed_at is None:
        shop.installed_at = now
    shop.authorized_at = now
    shop.uninstalled_at = None
    session.flush()
    seed_settings(session, shop.id)
    ensure_builtin_segments(session, shop.id, now)
    if settings.history_import_on_install:
        queue_first_import(session, shop.id, now)
    return shop


def _upsert_shop_row(session: Session, platform: str, domain: str) -> Shop:
    # Two first admin loads may race: the insert is a no-op for the loser, then both update.
    stmt = insert_for(session, Shop.__table__).values(
        platform=platform, domain=domain, install_state="pending"
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["platform", "domain"]))
    shop = get_shop(session, platform, domain)
    if shop is None:  # cannot happen after the insert above; keeps the type exact
        raise LookupError(f"shop row for {domain} vanished")
    return shop


def _encrypt_or_none(key: str, value: str | None) -> str | None:
    return None if value is None else crypto.encrypt(key, value)


def seed_settings(session: Session, shop_id: int) -> None:
    """Default per-shop settings; settings the merchant already has are kept."""
    for key, value in SETTING_DEFAULTS.items():
        stmt = insert_for(session, ShopSetting.__table__).values(
            shop_id=shop_id, key=key, value={"value": value}
        )
        session.execute(stmt.on_conflict_do_nothing(index_elements=["shop_id", "key"]))


def record_shop_info(
    session: Session, shop_id: int, *, timezone: str | None, currency: str | None
) -> None:
    """Keep the shop's timezone and currency (from install or `shop/update`)."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        return
    if timezone:
        shop.timezone = timezone
    if currency:
        shop.currency = currency


def record_scopes(session: Session, shop: Shop, scopes: tuple[str, ...]) -> None:
    shop.scopes = ",".join(scopes)


def mark_uninstalled(session: Session, shop: Shop, now: datetime) -> None:
    """The app was removed: forget the tokens so nothing can call the shop any more."""
    shop.install_state = UNINSTALLED
    shop.access_token_enc = None
    shop.access_token_expires_at = None
    shop.refresh_token_enc = None
    shop.refresh_token_expires_at = None
    shop.refresh_lock_until = None
    shop.uninstalled_at = now


def has_usable_token(shop: Shop | None, now: datetime) -> bool:
    """Installed with a token that works now or can be refreshed."""
    if shop is None or shop.install_state != INSTALLED or not shop.access_token_enc:
        return False
    expiry = shop.access_token_expires_at
    refreshable = shop.refresh_token_enc is not None and (
        shop.refresh_token_expires_at is None or shop.refresh_token_expires_at > now
    )
    return expiry is None or expiry > now or refreshable


def release_pending_deliveries(session: Session, platform: str, domain: str) -> int:
    """Hand webhooks that arrived before the install over to the worker."""
    return release_awaiting_install(session, platform, domain)
