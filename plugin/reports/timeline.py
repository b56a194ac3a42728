"""One customer's timeline: orders, checkouts, their email consent, segment entries and
exits, tag pushes and trigger firings, merged by one UNION ALL query, newest first, paged.

Consent keeps no history: the timeline shows its latest change (state and when). Bulk tag
pushes name their customers only inside the payload, so they show on the Activity page,
not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, String, case, cast, func, literal, null, select
from sqlalchemy.orm import Session

from plugin.outbox.activity import tag_changes
from plugin.outbox.models import TAGS, OutboxItem
from plugin.profiles.models import Checkout, Customer, Order
from plugin.segments.models import Segment, SegmentEvent
from plugin.triggers.models import TriggerFiring

PER_PAGE = 25
MAX_PER_PAGE = 100
KINDS = ("order", "checkout", "consent", "segment", "tags", "trigger")


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # one of KINDS
    at: datetime
    ref_id: int  # the row's id in its own table
    label: str | None  # order name, segment name, trigger name, why of a tag push
    amount_minor: int | None
    state: str | None
    detail: str | None
    added: list[str] = field(default_factory=list)  # tags: what the push added / removed
    removed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _text(value: Any) -> Any:
    return cast(value, String) if value is not None else cast(null(), String)


def _row(
    kind: str, at: Any, ref_id: Any, label: Any, amount: Any, state: Any, detail: Any
) -> tuple[Any, ...]:
    """The union's columns, typed alike in every part (PostgreSQL needs matching types)."""
    return (
        literal(kind, String).label("kind"),
        at.label("at"),
        cast(ref_id, BigInteger).label("ref_id"),
        _text(label).label("label"),
        (cast(amount, BigInteger) if amount is not None else cast(null(), BigInteger)).label(
            "amount_minor"
        ),
        _text(state).label("state"),
        _text(detail).label("detail"),
    )


def _orders(shop_id: int, customer_id: int) -> Select[Any]:
    at = func.coalesce(Order.ordered_at, Order.platform_updated_at)
    state = case(
        (Order.cancelled_at.is_not(None), "cancelled"),
        (Order.test.is_(True), "test"),
        else_=Order.financial_status,
    )
    return select(*_row("order", at, Order.id, Order.name, Order.total_minor, state, None)).where(
        Order.shop_id == shop_id, Order.customer_id == customer_id, at.is_not(None)
    )


def _checkouts(shop_id: int, customer_id: int) -> Select[Any]:
    at = func.coalesce(Checkout.platform_created_at, Checkout.platform_updated_at)
    state = case((Checkout.completed_at.is_not(None), "completed"), else_="not_completed")
    return select(
        *_row("checkout", at, Checkout.id, None, Checkout.total_minor, state, None)
    ).where(Checkout.shop_id == shop_id, Checkout.customer_id == customer_id, at.is_not(None))


def _consent(shop_id: int, customer_id: int) -> Select[Any]:
    columns = _row(
        "consent",
        Customer.email_consent_updated_at,
        Customer.id,
        None,
        None,
        Customer.email_marketing_state,
        Customer.email_marketing_opt_in_level,
    )
    return select(*columns).where(
        Customer.shop_id == shop_id,
        Customer.id == customer_id,
        Customer.email_consent_updated_at.is_not(None),
    )


def _segment_events(shop_id: int, customer_id: int) -> Select[Any]:
    columns = _row(
        "segment",
        SegmentEvent.occurred_at,
        SegmentEvent.id,
        Segment.name,
        None,
        SegmentEvent.kind,
        SegmentEvent.reason,
    )
    return (
        select(*columns)
        .join(Segment, Segment.id == SegmentEvent.segment_id)
        .where(SegmentEvent.shop_id == shop_id, SegmentEvent.customer_id == customer_id)
    )


def _tag_pushes(shop_id: int, customer_id: int) -> Select[Any]:
    at = func.coalesce(OutboxItem.done_at, OutboxItem.created_at)
    columns = _row(
        "tags", at, OutboxItem.id, OutboxItem.why, None, OutboxItem.state, OutboxItem.last_error
    )
    return select(*columns).where(
        OutboxItem.shop_id == shop_id,
        OutboxItem.customer_id == customer_id,
        OutboxItem.kind == TAGS,
    )


def _firings(shop_id: int, customer_id: int) -> Select[Any]:
    at = func.coalesce(TriggerFiring.fired_at, TriggerFiring.updated_at)
    detail = func.coalesce(TriggerFiring.detail, TriggerFiring.why)
    columns = _row(
        "trigger", at, TriggerFiring.id, TriggerFiring.name, None, TriggerFiring.state, detail
    )
    return select(*columns).where(
        TriggerFiring.shop_id == shop_id, TriggerFiring.customer_id == customer_id
    )


PARTS = (_orders, _checkouts, _consent, _segment_events, _tag_pushes, _firings)


def customer_timeline(
    session: Session, shop_id: int, customer_id: int, *, page: int = 1, per_page: int = PER_PAGE
) -> TimelinePage:
    """One page of the customer's (surrogate id) timeline, newest first: one count and
    one page query over the union, plus one query for the page's tag pushes."""
    per_page, page = min(max(per_page, 1), MAX_PER_PAGE), max(page, 1)
    union = (
        PARTS[0](shop_id, customer_id)
        .union_all(*(part(shop_id, customer_id) for part in PARTS[1:]))
        .subquery("timeline")
    )
    total = session.scalar(select(func.count()).select_from(union)) or 0
    rows = session.execute(
        select(union)
        .order_by(union.c.at.desc(), union.c.kind, union.c.ref_id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    pushes = _pushes(session, shop_id, [r.ref_id for r in rows if r.kind == "tags"])
    entries = [
        TimelineEntry(*row, *tag_changes(pushes[row.ref_id]))
        if row.kind == "tags" and row.ref_id in pushes
        else TimelineEntry(*row)
        for row in rows
    ]
    return TimelinePage(entries, int(total), page, per_page)


def _pushes(session: Session, shop_id: int, ids: list[int]) -> dict[int, OutboxItem]:
    if not ids:
        return {}
    stmt = select(OutboxItem).where(OutboxItem.shop_id == shop_id, OutboxItem.id.in_(ids))
    return {row.id: row for row in session.scalars(stmt)}
