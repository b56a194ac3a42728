"""The per-shop settings the profile store reads, with their defaults when a row is missing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from plugin.shops.models import ShopSetting

ABANDONED_AFTER_HOURS = "abandoned_after_hours"
LINK_GUEST_ORDERS_BY_EMAIL = "link_guest_orders_by_email"
DEFAULTS: dict[str, Any] = {ABANDONED_AFTER_HOURS: 10, LINK_GUEST_ORDERS_BY_EMAIL: False}


def shop_setting(session: Session, shop_id: int, key: str) -> Any:
    """A setting's value; rows hold either `{"value": x}` or the bare JSON value."""
    row = session.get(ShopSetting, (shop_id, key))
    return setting_value(key, None if row is None else row.value, stored=row is not None)


def setting_value(key: str, stored_value: Any, *, stored: bool = True) -> Any:
    """A stored row's value (or the default when there is no row) for a query that read the
    `shop_settings.value` column itself."""
    if not stored:
        return DEFAULTS[key]
    if isinstance(stored_value, dict) and "value" in stored_value:
        return stored_value["value"]
    return stored_value


def abandoned_after_hours(session: Session, shop_id: int) -> float:
    return float(shop_setting(session, shop_id, ABANDONED_AFTER_HOURS))


def link_guests_by_email(session: Session, shop_id: int) -> bool:
    return bool(shop_setting(session, shop_id, LINK_GUEST_ORDERS_BY_EMAIL))


def set_setting(session: Session, shop_id: int, key: str, value: Any) -> None:
    """Store a per-shop setting as `{"value": …}` (read with `shop_setting`)."""
    row = session.get(ShopSetting, (shop_id, key))
    if row is None:
        session.add(ShopSetting(shop_id=shop_id, key=key, value={"value": value}))
    else:
        row.value = {"value": value}
