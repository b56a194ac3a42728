"""Helpers for the segment evaluation tests: installing a shop, delivering orders through
the worker, reading memberships and their events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from plugin.segments.models import Segment, SegmentEvent, SegmentMembership
from plugin.settings import Settings
from plugin.shops.models import Shop
from plugin.shops.services import install_shop
from plugin.shops.tokens import Credentials
from plugin.worker import process_batch
from tests.support.inbox import deliver
from tests.support.profiles import order_payload

# --- shops, deliveries, memberships ---------------------------------------------------------


def installed(runtime: Runtime, settings: Settings, domain: str, now: datetime) -> int:
    """A shop installed the way OAuth/custom installs do (built-ins created)."""
    with runtime.sessions.begin() as session:
        shop = install_shop(
            session, settings, "shopify", domain, Credentials("tok"), auth_method="custom", now=now
        )
        return shop.id


def order_through_worker(
    runtime: Runtime, domain: str, order_id: str, customer: str, at: datetime, total: str = "50.00"
) -> None:
    """orders/create for `customer` placed at `at`, processed by the worker at `at`."""
    payload = order_payload(order_id, customer=customer, total=total, updated_at=at)
    deliver(runtime, domain, payload, topic="orders/create", triggered_at=at)
    assert process_batch(runtime, now=at) == 1


def segment_id(session: Session, shop_id: int, key: str) -> int:
    found = session.scalar(
        select(Segment.id).where(Segment.shop_id == shop_id, Segment.builtin_key == key)
    )
    assert found is not None, key
    return found


def customer_id(session: Session, shop_id: int, platform_id: str) -> int:
    found = session.scalar(
        select(Customer.id).where(Customer.shop_id == shop_id, Customer.platform_id == platform_id)
    )
    assert found is not None, platform_id
    return found


def stays(session: Session, segment: int, customer: int) -> list[tuple[Any, ...]]:
    """(entered_at, exited_at, entered_reason, exited_reason) of a customer in a segment."""
    rows = session.execute(
        select(
            SegmentMembership.entered_at,
            SegmentMembership.exited_at,
            SegmentMembership.entered_reason,
            SegmentMembership.exited_reason,
        )
        .where(SegmentMembership.segment_id == segment, SegmentMembership.customer_id == customer)
        .order_by(SegmentMembership.id)
    )
    return [tuple(row) for row in rows]


def events(session: Session, shop_id: int, segment: int | None = None) -> list[tuple[Any, ...]]:
    """(segment, customer, kind, reason, occurred_at) in write order."""
    stmt = select(
        SegmentEvent.segment_id,
        SegmentEvent.customer_id,
        SegmentEvent.kind,
        SegmentEvent.reason,
        SegmentEvent.occurred_at,
    ).where(SegmentEvent.shop_id == shop_id)
    if segment is not None:
        stmt = stmt.where(SegmentEvent.segment_id == segment)
    return [tuple(row) for row in session.execute(stmt.order_by(SegmentEvent.id))]


def shop_id_of(session: Session, domain: str) -> int:
    found = session.scalar(select(Shop.id).where(Shop.domain == domain))
    assert found is not None
    return found
