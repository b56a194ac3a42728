"""Learning current tags from the API: a bulk query of every customer's tags (after install,
or `shopseg tags resync`), recorded for the customers we have, then drift repair.

One `tags_import` outbox row per shop at a time. Like a bulk tag row it never blocks: it
starts the operation, keeps its id in the payload and comes back to poll. The snapshot is
versioned at the moment the operation started, so a webhook or push newer than that wins.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from plugin.errors import PlatformError
from plugin.events import make_version
from plugin.outbox.context import DeliveryContext, Later
from plugin.outbox.models import TAGS_IMPORT, OutboxItem
from plugin.outbox.services import enqueue
from plugin.platforms.shopify import bulk
from plugin.platforms.shopify.documents import BULK_CUSTOMERS_TAGS
from plugin.profiles.customer_tags import tag_key
from plugin.profiles.models import Customer, CustomerTag
from plugin.runtime import Runtime
from plugin.shops.models import Shop
from plugin.tagsync.desired import CHUNK, GID_PREFIX
from plugin.tagsync.drift import repair_drift, repair_if_swept
from plugin.tagsync.known import TagState, record_states

POLL = timedelta(seconds=2)
IMPORT_KEY = "tags_import"
IMPORT_SOURCE = "import:"

log = logging.getLogger(__name__)


def queue_import(session: Session, shop_id: int, why: str, now: datetime) -> OutboxItem:
    """The shop's tag import (joining one not started yet)."""
    return enqueue(
        session, shop_id, TAGS_IMPORT, payload={}, why=why, now=now, coalesce_key=IMPORT_KEY
    )


def queue_import_if_due(session: Session, shop_id: int, now: datetime) -> bool:
    """Queue the shop's tag import unless one was queued since it was (re)installed."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        return False
    stmt = select(OutboxItem.id).where(
        OutboxItem.shop_id == shop_id, OutboxItem.kind == TAGS_IMPORT
    )
    if shop.installed_at is not None:
        stmt = stmt.where(OutboxItem.created_at >= shop.installed_at)
    if session.scalar(stmt.limit(1)) is not None:
        return False
    queue_import(session, shop_id, "install", now)
    return True


def deliver_tags_import(ctx: DeliveryContext, item: OutboxItem) -> dict[str, Any]:
    payload = copy.deepcopy(item.payload or {})
    if not payload.get("bulk_id"):
        _start(ctx, item, payload)
        raise Later(POLL, f"bulk query {payload['bulk_id']} running")
    status = bulk.bulk_status(ctx.client, payload["bulk_id"])  # type: ignore[arg-type]
    if not status.finished:
        raise Later(POLL, f"bulk query {status.id} {status.status.lower()}")
    if not status.completed:
        _save(item, {})
        ctx.session.commit()  # starts over on the next attempt, kept through the rollback
        code = status.error_code or "no error code"
        raise PlatformError(f"bulk query {status.status.lower()} ({code})")
    ctx.before_call()
    lines = bulk.read_results(ctx.runtime.http, status.url)
    version = make_version(
        datetime.fromisoformat(payload["started_at"]), None, f"{IMPORT_SOURCE}{item.id}"
    )
    customers, tags = record_snapshot(ctx.session, ctx.shop.id, _tag_lists(lines), version)
    drifted = repair_drift(ctx.session, ctx.shop.id, ctx.now)
    return {"operation": status.id, "customers": customers, "tags": tags, "drift": drifted}


def _start(ctx: DeliveryContext, item: OutboxItem, payload: dict[str, Any]) -> None:
    started_at = ctx.now.isoformat()
    try:
        op_id = bulk.run_bulk_query(ctx.client, BULK_CUSTOMERS_TAGS)  # type: ignore[arg-type]
    except bulk.BulkInProgress as exc:
        raise Later(POLL, "the shop runs another bulk query") from exc
    payload.update(bulk_id=op_id, started_at=started_at)
    _save(item, payload)


def _save(item: OutboxItem, payload: dict[str, Any]) -> None:
    item.payload = payload
    flag_modified(item, "payload")


def _tag_lists(lines: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """Platform customer id -> its tags, from the result lines (one per customer)."""
    found: dict[str, list[str]] = {}
    for line in lines:
        gid = str(line.get("id") or "")
        if gid.startswith(GID_PREFIX):
            found[gid.removeprefix(GID_PREFIX)] = [str(t) for t in line.get("tags") or ()]
    return found


def record_snapshot(
    session: Session, shop_id: int, tag_lists: dict[str, list[str]], version: str
) -> tuple[int, int]:
    """Each stored customer's full tag list as of `version`: listed tags present, other
    present tags absent, each over an older version of that tag only. Returns (customers,
    present tags)."""
    customers = tags = 0
    platform_ids = sorted(tag_lists)
    for start in range(0, len(platform_ids), CHUNK):
        ids = _customer_ids(session, shop_id, platform_ids[start : start + CHUNK])
        known = _known_cfs(session, shop_id, list(ids.values()))
        states: list[TagState] = []
        for platform_id, customer_id in ids.items():
            listed = {tag_key(t): t for t in tag_lists[platform_id] if t.strip()}
            states += [(customer_id, t, True) for t in listed.values()]
            states += [
                (customer_id, t, False)
                for cf, t in known.get(customer_id, {}).items()
                if cf not in listed
            ]
            customers, tags = customers + 1, tags + len(listed)
        record_states(session, shop_id, states, version)
    return customers, tags


def _customer_ids(session: Session, shop_id: int, platform_ids: Sequence[str]) -> dict[str, int]:
    rows = session.execute(
        select(Customer.platform_id, Customer.id).where(
            Customer.shop_id == shop_id, Customer.platform_id.in_(platform_ids)
        )
    )
    return {r.platform_id: r.id for r in rows}


def _known_cfs(session: Session, shop_id: int, ids: list[int]) -> dict[int, dict[str, str]]:
    rows = session.execute(
        select(CustomerTag.customer_id, CustomerTag.tag_cf, CustomerTag.tag).where(
            CustomerTag.shop_id == shop_id,
            CustomerTag.customer_id.in_(ids),
            CustomerTag.present.is_(True),
        )
    )
    known: dict[int, dict[str, str]] = {}
    for r in rows:
        known.setdefault(r.customer_id, {})[r.tag_cf] = r.tag
    return known


def repair_swept_shops(runtime: Runtime, shop_ids: list[int], now: datetime) -> int:
    """Drift repair for each shop swept since its last repair; returns customers queued.
    A shop (re)installed since its last tag import gets one queued first (it reads the
    shop's current tags, then repairs drift itself). One shop's failure does not stop the
    others."""
    queued = 0
    for shop_id in shop_ids:
        try:
            with runtime.sessions.begin() as session:
                queue_import_if_due(session, shop_id, now)
            queued += repair_if_swept(runtime, shop_id, now)
        except Exception:
            log.exception("tagsync.drift_failed shop_id=%s", shop_id)
    return queued
