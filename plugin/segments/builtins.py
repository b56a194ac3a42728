"""The playbook's segments, shipped as query text and created for every shop at install.

They are ordinary segments once created: the merchant can edit their rules or switch
them off, and a reinstall keeps those edits (only missing built-ins are added).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.segments.models import BUILTIN, INITIAL, Segment


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
    *(
        Builtin(f"rfm_{key}", f"RFM: {name}", f"rfm_group = '{value}'", f"RFM group {name}.")
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
