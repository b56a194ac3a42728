"""Delivering one customer's tag row: desired against known at delivery time, then one call
(both changes at once, or only the add or the remove), then the new state recorded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from plugin.outbox.context import Deliverer, DeliveryContext, Later
from plugin.outbox.models import BULK_TAGS, TAGS, TAGS_IMPORT, OutboxItem
from plugin.platforms.shopify.documents import (
    CUSTOMER_TAGS_ADD,
    CUSTOMER_TAGS_REMOVE,
    CUSTOMER_TAGS_SYNC,
    Document,
)
from plugin.tagsync.bulk import deliver_bulk_tags, in_running_bulk
from plugin.tagsync.desired import CustomerPlan, plan_customers
from plugin.tagsync.imports import deliver_tags_import
from plugin.tagsync.known import push_version, record_states

# A customer whose tags a running bulk operation is changing waits for it to finish, so the
# two cannot undo each other's work.
BULK_WAIT = timedelta(seconds=5)


def deliver_tags(ctx: DeliveryContext, item: OutboxItem) -> dict[str, Any]:
    """Bring one customer's managed tags to the desired set; returns what changed."""
    shop_id, customer_id = ctx.shop.id, item.customer_id or 0
    tried = _unfinished_call(item)
    uncertain = {customer_id: tried} if tried else None
    plans = plan_customers(ctx.session, shop_id, [customer_id], ctx.now, uncertain=uncertain)
    plan = plans.get(customer_id)
    if plan is None:
        return {"skipped": "the customer is no longer stored"}
    if in_running_bulk(ctx.session, shop_id, plan.customer_id):
        raise Later(BULK_WAIT, "waits for the shop's running bulk tag operation")
    result = {"customer": plan.platform_id, "added": plan.add, "removed": plan.remove}
    if plan.empty:
        return result
    ctx.note.update(result)
    # Committed before the call (`execute` ends the transaction first): if this attempt
    # dies or times out after the shop applied it, the next one states these tags again
    # instead of trusting what the app knew before.
    item.result = {"attempting": result}
    document, variables = tag_call(plan)
    ctx.client.execute(document, variables)
    states = [(plan.customer_id, t, True) for t in plan.add]
    states += [(plan.customer_id, t, False) for t in plan.remove]
    record_states(ctx.session, shop_id, states, push_version(item.id, ctx.now))
    return result


def _unfinished_call(item: OutboxItem) -> dict[str, Any] | None:
    """The tags an earlier attempt of this row sent without learning the outcome."""
    result = item.result or {}
    tried = result.get("attempting") or result.get("attempted")
    return tried if isinstance(tried, dict) else None


def tag_call(plan: CustomerPlan) -> tuple[Document, dict[str, Any]]:
    """The one document a plan needs, with its variables."""
    if plan.add and plan.remove:
        return CUSTOMER_TAGS_SYNC, {"id": plan.gid, "add": plan.add, "remove": plan.remove}
    if plan.add:
        return CUSTOMER_TAGS_ADD, {"id": plan.gid, "tags": plan.add}
    return CUSTOMER_TAGS_REMOVE, {"id": plan.gid, "tags": plan.remove}


DELIVERERS: dict[str, Deliverer] = {
    TAGS: deliver_tags,
    BULK_TAGS: deliver_bulk_tags,
    TAGS_IMPORT: deliver_tags_import,
}
