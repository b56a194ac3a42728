"""Delivering a bulk tag row: many customers' changes through Shopify bulk mutations.

The row plans every customer's adds and removes once, then runs one bulk operation per
side (adds, then removes), one at a time per shop. It never blocks: it starts an
operation, stores its id in the payload and comes back (`Later`) to poll. When an
operation completes, the lines that worked are recorded as known tags, each failed line
becomes an ordinary tag row of its customer (retried alone), and customers whose
membership moved meanwhile get one too.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from plugin.errors import PlatformError
from plugin.outbox.context import DeliveryContext, Later
from plugin.outbox.models import BULK_TAGS, PENDING, SENDING, OutboxItem
from plugin.platforms.shopify import bulk
from plugin.platforms.shopify.documents import BULK_TAGS_ADD, BULK_TAGS_REMOVE
from plugin.tagsync.desired import GID_PREFIX, plan_customers
from plugin.tagsync.known import TagState, push_version, record_states
from plugin.tagsync.listener import queue_tag_rows

POLL = timedelta(seconds=2)
INNER = {"add": BULK_TAGS_ADD, "remove": BULK_TAGS_REMOVE}


def deliver_bulk_tags(ctx: DeliveryContext, item: OutboxItem) -> dict[str, Any]:
    payload = copy.deepcopy(item.payload or {})
    if not payload.get("started"):
        if running_bulk_rows(ctx.session, ctx.shop.id, exclude=item.id):
            raise Later(POLL, "waits for the shop's other bulk operation")
        payload = _plan(ctx, item, payload)
    while (op := _next_op(payload)) is not None:
        if not op.get("bulk_id"):
            _start(ctx, item, payload, op)
            raise Later(POLL, f"bulk operation {op['bulk_id']} running")
        status = bulk.bulk_status(ctx.client, op["bulk_id"])  # type: ignore[arg-type]
        if not status.finished:
            raise Later(POLL, f"bulk operation {op['bulk_id']} {status.status.lower()}")
        if not status.completed:
            _restart(ctx, item, payload, op, status.status, status.error_code)
        ctx.before_call()
        results = bulk.read_results(ctx.runtime.http, status.url)
        _finish(ctx, item, payload, op, results)
    return _summary(ctx, item, payload)


def _plan(ctx: DeliveryContext, item: OutboxItem, payload: dict[str, Any]) -> dict[str, Any]:
    plans = plan_customers(ctx.session, ctx.shop.id, payload.get("customers") or (), ctx.now)
    ops = []
    for side in ("add", "remove"):
        lines = [
            [p.customer_id, p.platform_id, getattr(p, side)]
            for _id, p in sorted(plans.items())
            if getattr(p, side)
        ]
        if lines:
            ops.append({"side": side, "lines": lines, "bulk_id": None, "finished": False})
    payload.update(started=True, ops=ops, failed=[], operations=[])
    _save(item, payload)
    return payload


def _next_op(payload: dict[str, Any]) -> dict[str, Any] | None:
    return next((op for op in payload.get("ops") or () if not op.get("finished")), None)


def _start(
    ctx: DeliveryContext, item: OutboxItem, payload: dict[str, Any], op: dict[str, Any]
) -> None:
    ctx.note.update(side=op["side"], lines=len(op["lines"]))
    variables = [{"id": GID_PREFIX + pid, "tags": tags} for _cid, pid, tags in op["lines"]]
    try:
        path = bulk.upload_jsonl(ctx.client, ctx.runtime.http, variables)  # type: ignore[arg-type]
        op_id = bulk.run_bulk_mutation(
            ctx.client,  # type: ignore[arg-type]
            INNER[op["side"]],
            path,
            client_identifier=f"shopseg-outbox-{item.id}-{op['side']}",
        )
    except bulk.BulkInProgress as exc:
        raise Later(POLL, "the shop runs another bulk operation") from exc
    op["bulk_id"] = op_id
    payload["operations"] = [*payload.get("operations", []), op_id]
    _save(item, payload)


def _restart(
    ctx: DeliveryContext,
    item: OutboxItem,
    payload: dict[str, Any],
    op: dict[str, Any],
    status: str,
    error_code: str | None,
) -> None:
    """A failed operation starts over on the next attempt (after backoff)."""
    op["bulk_id"] = None
    _save(item, payload)
    ctx.session.commit()  # kept through the failed attempt's rollback
    raise PlatformError(f"bulk operation {status.lower()} ({error_code or 'no error code'})")


def _finish(
    ctx: DeliveryContext,
    item: OutboxItem,
    payload: dict[str, Any],
    op: dict[str, Any],
    results: Sequence[dict[str, Any]],
) -> None:
    """Record the lines that worked; queue a tag row for each that did not."""
    failed_lines = set(bulk.failed_line_numbers(list(results)))
    answered = {int(r["__lineNumber"]) for r in results if "__lineNumber" in r}
    present = op["side"] == "add"
    states: list[TagState] = []
    failed: list[int] = []
    for number, (customer_id, _pid, tags) in enumerate(op["lines"]):
        if number in failed_lines or number not in answered:
            failed.append(customer_id)
        else:
            states.extend((customer_id, tag, present) for tag in tags)
    record_states(ctx.session, ctx.shop.id, states, push_version(item.id, ctx.now))
    why = f"{item.why} (bulk line failed)"[:500]
    queue_tag_rows(ctx.session, ctx.shop.id, dict.fromkeys(failed, why), ctx.now)
    op.update(finished=True, done=len(states), failed=len(failed))
    payload["failed"] = sorted({*payload.get("failed", []), *failed})
    _save(item, payload)


def _summary(ctx: DeliveryContext, item: OutboxItem, payload: dict[str, Any]) -> dict[str, Any]:
    """The row's result; customers whose membership moved while it ran get a tag row."""
    customers = payload.get("customers") or []
    moved = [
        c
        for c, p in plan_customers(ctx.session, ctx.shop.id, customers, ctx.now).items()
        if not p.empty
    ]
    failed = set(payload.get("failed") or ())
    why = f"{item.why} (changed during bulk)"[:500]
    queue_tag_rows(ctx.session, ctx.shop.id, {c: why for c in moved if c not in failed}, ctx.now)
    ops = payload.get("ops") or []
    return {
        "customers": len(customers),
        "added": sum(op.get("done", 0) for op in ops if op["side"] == "add"),
        "removed": sum(op.get("done", 0) for op in ops if op["side"] == "remove"),
        "failed_lines": sum(op.get("failed", 0) for op in ops),
        "operations": payload.get("operations") or [],
    }


def _save(item: OutboxItem, payload: dict[str, Any]) -> None:
    item.payload = payload
    flag_modified(item, "payload")  # nested changes are invisible to the JSON column


def running_bulk_rows(
    session: Session, shop_id: int, exclude: int | None = None
) -> list[OutboxItem]:
    """The shop's bulk tag rows with an operation running at the shop."""
    rows = session.scalars(
        select(OutboxItem).where(
            OutboxItem.shop_id == shop_id,
            OutboxItem.kind == BULK_TAGS,
            OutboxItem.state.in_((PENDING, SENDING)),
        )
    )
    return [r for r in rows if r.id != exclude and _running(r.payload or {})]


def _running(payload: dict[str, Any]) -> bool:
    return any(op.get("bulk_id") and not op.get("finished") for op in payload.get("ops") or ())


def in_running_bulk(session: Session, shop_id: int, customer_id: int) -> bool:
    return any(
        customer_id in set((row.payload or {}).get("customers") or ())
        for row in running_bulk_rows(session, shop_id)
    )
