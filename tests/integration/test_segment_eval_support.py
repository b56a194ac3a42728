"""Helpers for the segment evaluation tests: installing a shop, delivering orders through
the worker, reading memberships, and a stand-in language while the real compiler is
missing (`segment_language` uses the real parser and compiler as soon as they exist)."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from plugin.segments import (
    evaluator_language,
    rfm_models,  # noqa: F401  (until plugin/models.py registers it)
)
from plugin.segments.context import CompileContext
from plugin.segments.errors import QueryError
from plugin.segments.models import Segment, SegmentEvent, SegmentMembership
from plugin.settings import Settings
from plugin.shops.models import Shop
from plugin.shops.services import install_shop
from plugin.shops.tokens import Credentials
from plugin.worker import process_batch
from tests.support.inbox import deliver
from tests.support.profiles import order_payload

REAL_LANGUAGE = importlib.util.find_spec("plugin.segments.compiler") is not None

# --- stand-in language: `field op value` atoms joined by one AND or OR ----------------------

ATOM = re.compile(r"^\s*(\w+)\s*(>=|<=|!=|=|<|>)\s*(.+?)\s*$")
KNOWN = {
    "number_of_orders",
    "amount_spent",
    "first_order_date",
    "last_order_date",
    "order_gap_ratio",
    "vip",
    "open_abandoned_checkout_at",
    "customer_account_status",
    "abandoned_checkout_date",
    "rfm_group",
}


@dataclass(frozen=True)
class StandInQuery:
    ast: str
    canonical: str
    notices: tuple[str, ...] = ()


def standin_parse(text: str) -> StandInQuery:
    for word in re.findall(r"\b([a-z_]+)\s*(?:>=|<=|!=|=|<|>)", text):
        if word not in KNOWN:
            column = text.index(word) + 1
            raise QueryError(f"unknown field {word!r}", 1, column)
    canonical = " ".join(text.split())
    return StandInQuery(canonical, canonical)


def _atom(text: str, ctx: CompileContext) -> ColumnElement[bool]:
    match = ATOM.match(text)
    if match is None:
        return false()
    name, op, raw = match.groups()
    if name == "number_of_orders":
        column: Any = Customer.orders_count
        value: Any = int(raw)
    elif name in ("first_order_date", "last_order_date") and raw.endswith("d"):
        column = Customer.first_order_at if name == "first_order_date" else Customer.last_order_at
        value = ctx.now - timedelta(days=int(raw[1:-1]))
    else:
        return false()
    ops = {">=": column >= value, "<=": column <= value, "=": column == value}
    ops.update({"<": column < value, ">": column > value, "!=": column != value})
    return column.is_not(None) & ops[op]


def standin_predicate(query: str, ctx: CompileContext) -> ColumnElement[bool]:
    if ctx.customer_ids is not None:
        assert ctx.customer_ids, "the real-time scope is never empty"
    for joiner in (" OR ", " AND "):
        if joiner in query:
            parts = [_atom(p, ctx) for p in query.split(joiner)]
            result = parts[0]
            for part in parts[1:]:
                result = (result | part) if joiner == " OR " else (result & part)
            return result
    return _atom(query, ctx)


@pytest.fixture
def segment_language(monkeypatch: pytest.MonkeyPatch) -> Iterator[bool]:
    """The real language when it exists, the stand-in otherwise; True when real."""
    evaluator_language.parsed_ast.cache_clear()
    if not REAL_LANGUAGE:
        monkeypatch.setattr(evaluator_language, "parse", standin_parse)
        monkeypatch.setattr(evaluator_language, "predicate", standin_predicate)
    yield REAL_LANGUAGE
    evaluator_language.parsed_ast.cache_clear()


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
