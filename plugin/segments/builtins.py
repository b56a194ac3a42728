"""The playbook's segments, shipped as query text and created for every shop at install,
and the Category fans segments the sweep keeps for the shop's top product types.

They are ordinary segments once created: the merchant can edit their rules or switch
them off, and a reinstall keeps those edits (only missing built-ins are added).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from plugin.errors import ValidationError
from plugin.profiles.models import Product, Purchase
from plugin.segments.models import BUILTIN, INITIAL, Segment
from plugin.shops.models import ShopSetting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Builtin:
    key: str
    name: str
    query: str
    description: str


RFM_GROUPS = (
    ("champions", "Champions", "CHAMPIONS"),
    ("loyal", "Loyal", "LOYAL"),
    ("active", "Active", "ACTIVE"),
    ("needs_attention", "Needs attention", "NEEDS_ATTENTION"),
    ("promising", "Promising", "PROMISING"),
    ("new", "New", "NEW"),
    ("at_risk", "At risk", "AT_RISK"),
    ("previously_loyal", "Previously loyal", "PREVIOUSLY_LOYAL"),
    ("almost_lost", "Almost lost", "ALMOST_LOST"),
    ("dormant", "Dormant", "DORMANT"),
    ("prospects", "Prospects", "PROSPECTS"),
)

BUILTINS: tuple[Builtin, ...] = (
    Builtin(
        "new_customers",
        "New customers",
        "first_order_date >= -30d",
        "First order within the last 30 days: welcome them, offer a second order.",
    ),
    Builtin("regular", "Regular", "number_of_orders >= 3", "Three or more orders."),
    Builtin("vip", "VIP", "vip = true", "Spend over 365 days in the shop's top decile."),
    Builtin(
        "abandoned_cart",
        "Abandoned cart",
        "open_abandoned_checkout_at >= -3d",
        "An abandoned checkout from the last 3 days that no order has closed.",
    ),
    Builtin(
        "inactive",
        "Inactive",
        "last_order_date < -90d OR order_gap_ratio > 2",
        "No order for 90 days, or silent for twice their own usual interval.",
    ),
    Builtin(
        "one_time_buyers",
        "One-time buyers",
        "number_of_orders = 1 AND first_order_date < -30d",
        "Exactly one order, placed more than 30 days ago.",
    ),
    Builtin(
        "engaged_non_buyers",
        "Engaged non-buyers",
        "number_of_orders = 0 AND (customer_account_status = 'ENABLED'"
        " OR abandoned_checkout_date IS NOT NULL)",
        "Created an account or started a checkout, never ordered.",
    ),
    Builtin(
        "at_risk_of_churn",
        "At risk of churn",
        "churn_risk >= 0.66 AND number_of_orders >= 2",
        "Repeat customers at least 66% likely not to order in the next 90 days.",
    ),
    Builtin(
        "next_purchase_due",
        "Next purchase due",
        "expected_next_order_at BETWEEN today AND +7d",
        "Their next order is expected within the next 7 days.",
    ),
    Builtin(
        "high_predicted_value",
        "High predicted value",
        "predicted_clv_percentile > 90",
        "The top 10% by predicted spend over the next 12 months.",
    ),
    *(
        Builtin(f"rfm_{key}", f"RFM: {name}", f"rfm_segment = '{value}'", f"RFM group {name}.")
        for key, name, value in RFM_GROUPS
    ),
)


def ensure_builtin_segments(session: Session, shop_id: int, now: datetime) -> list[Segment]:
    """Create the built-ins this shop lacks (idempotent); their first evaluation gives its
    changes reason `initial`. Returns the segments created."""
    from plugin.segments.services import add_segment

    have = set(
        session.scalars(
            select(Segment.builtin_key).where(
                Segment.shop_id == shop_id, Segment.builtin_key.is_not(None)
            )
        )
    )
    created = []
    for builtin in BUILTINS:
        if builtin.key in have:
            continue
        segment = add_segment(
            session,
            shop_id,
            builtin.name,
            builtin.query,
            now=now,
            kind=BUILTIN,
            builtin_key=builtin.key,
            pending_reason=INITIAL,
        )
        created.append(segment)
    return created


# --- Category fans: one segment per top product type, refreshed monthly ---------------------

CATEGORY_FANS = "category_fans:"
CATEGORY_COUNT = 5
CATEGORY_WINDOW = timedelta(days=365)
CATEGORY_REFRESH = timedelta(days=30)
CATEGORY_REFRESHED_AT = "category_fans_refreshed_at"


def category_query(product_type: str) -> str:
    quoted = product_type.replace("\\", "\\\\").replace("'", "\\'")
    return f"products_purchased MATCHES (product_type = '{quoted}', date >= -365d)"


def top_product_types(session: Session, shop_id: int, now: datetime) -> list[tuple[str, str]]:
    """(casefolded, display) of the product types with the most buyers over 365 days."""
    buyers = func.count(distinct(Purchase.customer_id))
    stmt = (
        select(Purchase.product_type_cf, buyers)
        .where(
            Purchase.shop_id == shop_id,
            Purchase.ordered_at >= now - CATEGORY_WINDOW,
            Purchase.product_type_cf.is_not(None),
            Purchase.product_type_cf != "",
        )
        .group_by(Purchase.product_type_cf)
        .order_by(buyers.desc(), Purchase.product_type_cf)
        .limit(CATEGORY_COUNT)
    )
    found = [str(cf) for cf, _count in session.execute(stmt)]
    return [(cf, _display(session, shop_id, cf)) for cf in found]


def _display(session: Session, shop_id: int, cf: str) -> str:
    name = session.scalar(
        select(func.min(Product.product_type)).where(
            Product.shop_id == shop_id, Product.product_type_cf == cf
        )
    )
    return str(name or cf)


def _category_key(cf: str) -> str:
    # builtin_key holds 64 characters: long types keep a digest instead of their text
    key = CATEGORY_FANS + cf
    return key if len(key) <= 64 else CATEGORY_FANS + hashlib.sha256(cf.encode()).hexdigest()


def refresh_category_fans(session: Session, shop_id: int, now: datetime) -> None:
    """Create a segment for each top-5 type that has none; disable those of types that
    dropped out (a disabled one stays off until the merchant enables it again)."""
    from plugin.profiles.shop_settings import set_setting
    from plugin.segments.services import add_segment, disable_segment

    top = {_category_key(cf): display for cf, display in top_product_types(session, shop_id, now)}
    existing = {
        s.builtin_key: s
        for s in session.scalars(
            select(Segment).where(
                Segment.shop_id == shop_id, Segment.builtin_key.startswith(CATEGORY_FANS)
            )
        )
    }
    for key, segment in existing.items():
        if key not in top and segment.enabled:
            disable_segment(session, shop_id, segment.slug, now=now)
    for key, display in top.items():
        if key not in existing:
            _add_category(session, shop_id, key, display, now, add_segment)
    set_setting(session, shop_id, CATEGORY_REFRESHED_AT, now.isoformat())


def _add_category(
    session: Session, shop_id: int, key: str, display: str, now: datetime, add: Any
) -> None:
    try:
        with session.begin_nested():
            add(
                session,
                shop_id,
                f"Category fans: {display}",
                category_query(display),
                now=now,
                kind=BUILTIN,
                builtin_key=key,
            )
    except ValidationError as exc:  # a merchant's segment has the name, or no bit is left
        log.warning("segments.category_fans_skipped shop_id=%s reason=%s", shop_id, exc.detail)


def category_fans_due(session: Session, shop_id: int, now: datetime) -> bool:
    row = session.get(ShopSetting, (shop_id, CATEGORY_REFRESHED_AT))
    value = row.value.get("value") if row is not None and isinstance(row.value, dict) else None
    return value is None or datetime.fromisoformat(str(value)) <= now - CATEGORY_REFRESH
