"""The outbox as an activity log: each row's change in words and as JSON, pages of rows,
and dead rows re-queued — what `shopseg activity`, `shopseg outbox retry` and the admin's
Activity page share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.outbox.models import BULK_TAGS, TAGS, OutboxItem

MAX_PER_PAGE = 200


def what(row: OutboxItem, customer: str | None = None) -> str:
    """The change in words: `+seg:vip -seg:new`, `bulk: 10000 customers …`, a trigger.
    `customer` is the shop's id of the row's customer."""
    result: dict[str, Any] = row.result or {}
    shown = customer or (f"(removed, #{row.customer_id})" if row.customer_id else None)
    if row.kind == TAGS:
        done = result.get("attempted") or result
        if "skipped" in done:
            return f"nothing ({done['skipped']})"
        changes = [f"+{t}" for t in done.get("added") or ()]
        changes += [f"-{t}" for t in done.get("removed") or ()]
        return f"customer {done.get('customer') or shown or '-'}: " + (
            " ".join(changes) or "tags already right"
        )
    if row.kind == BULK_TAGS:
        customers = len((row.payload or {}).get("customers") or ())
        if "added" in result:
            return (
                f"bulk, {customers} customers: {result['added']} tags added, "
                f"{result['removed']} removed, {result.get('failed_lines', 0)} lines retried alone"
            )
        return f"bulk, {customers} customers"
    payload = row.payload or {}
    name = payload.get("trigger") or payload.get("handle") or ""
    return f"{row.kind} {name}{f' customer {shown}' if shown else ''}".strip()


def tag_changes(row: OutboxItem) -> tuple[list[str], list[str]]:
    """(added, removed) tags of a one-customer tag push, as far as it got."""
    result: dict[str, Any] = row.result or {}
    done = result.get("attempted") or result
    return [str(t) for t in done.get("added") or ()], [str(t) for t in done.get("removed") or ()]


def activity_json(row: OutboxItem, customer: str | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "customer": customer,
        "what": what(row, customer),
        "why": row.why,
        "state": row.state,
        "attempts": row.attempts,
        "created_at": row.created_at.isoformat(),
        "done_at": row.done_at.isoformat() if row.done_at else None,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
        "last_error": row.last_error,
        "result": row.result,
    }


@dataclass(frozen=True)
class ActivityPage:
    rows: list[OutboxItem]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def activity_page(
    session: Session,
    shop_id: int,
    *,
    states: Sequence[str] | None = None,
    page: int = 1,
    per_page: int = 50,
) -> ActivityPage:
    """One page of the shop's outbox rows, newest first (LIMIT/OFFSET plus one count)."""
    per_page, page = min(max(per_page, 1), MAX_PER_PAGE), max(page, 1)
    criteria = [OutboxItem.shop_id == shop_id]
    if states:
        criteria.append(OutboxItem.state.in_(states))
    total = session.scalar(select(func.count()).select_from(OutboxItem).where(*criteria)) or 0
    rows = session.scalars(
        select(OutboxItem)
        .where(*criteria)
        .order_by(OutboxItem.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return ActivityPage(list(rows), int(total), page, per_page)
