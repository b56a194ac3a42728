"""The due-trigger scan (every minute): move due checkout journeys, find follow-ups, queue
the removal of trigger tags that ran out, look up unknown consent, then fire or defer
every due firing through the outbox.

Each step is its own unit of work, and the consent lookup runs between them (never call a
shop inside a transaction). Rows are claimed with SKIP LOCKED, so overlapping scans on
PostgreSQL leave each other's rows alone; firings are unique per cause, so a repeated scan
schedules nothing twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from plugin.errors import PlatformError
from plugin.jobs import installed_shops
from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from plugin.shops.models import Shop
from plugin.tagsync import trigger_tags
from plugin.triggers import follow_up, journeys
from plugin.triggers.catalogue import PENDING_STATES
from plugin.triggers.fire import GONE, fire_due
from plugin.triggers.firings import CHUNK
from plugin.triggers.models import TriggerFiring

BATCH = 200
MAX_BATCHES = 50  # per shop and run: a backlog is worked off over the next minutes

log = logging.getLogger(__name__)


def scan_due_triggers(runtime: Runtime, now: datetime) -> None:
    """The scheduler job: scan every installed shop."""
    for shop_id, platform, domain in installed_shops(runtime):
        fired = scan_shop(runtime, shop_id, now, platform=platform)
        if fired:
            log.info("triggers.scan shop=%s decided=%d", domain, fired)


def scan_shop(runtime: Runtime, shop_id: int, now: datetime, *, platform: str = "shopify") -> int:
    """One shop's scan; returns how many firings were decided (fired, skipped or deferred)."""
    _advance_journeys(runtime, shop_id, now)
    with runtime.sessions.begin() as session:
        shop = session.get(Shop, shop_id)
        if shop is not None:
            follow_up.discover(session, shop, now)
    with runtime.sessions.begin() as session:
        trigger_tags.queue_expired(session, shop_id, now)  # short-lived tags that ran out
    looked_up = _lookup_consent(runtime, shop_id, now) if platform == "shopify" else {}
    decided = 0
    for _ in range(MAX_BATCHES):
        with runtime.sessions.begin() as session:
            count = fire_due(session, shop_id, now, looked_up, BATCH)
        decided += count
        if count < BATCH:
            break
    return decided


def _advance_journeys(runtime: Runtime, shop_id: int, now: datetime) -> None:
    for _ in range(MAX_BATCHES):
        with runtime.sessions.begin() as session:
            due = journeys.due_journeys(session, shop_id, now, BATCH)
            for journey in due:
                journeys.advance(session, journey, now)
        if len(due) < BATCH:
            return


def _lookup_consent(runtime: Runtime, shop_id: int, now: datetime) -> dict[int, str]:
    """Ask the shop for the consent of due firings' customers whose consent we never learnt
    (e.g. customers from before install); store what it says. Customer id -> state, GONE
    for customers the shop no longer has, "" for those without an email address."""
    with runtime.sessions.begin() as session:
        unknown = _unknown_consent(session, shop_id, now)
        domain = session.get(Shop, shop_id).domain if unknown else ""  # type: ignore[union-attr]
    if not unknown:
        return {}
    from plugin.platforms.shopify.consent import fetch_consent
    from plugin.shops.tokens import access_token

    try:
        token = access_token(runtime, shop_id)
        states = fetch_consent(runtime, domain, token, sorted(unknown))
    except PlatformError as exc:  # firings defer; the next scan asks again
        log.warning("triggers.consent_lookup_failed shop=%s error=%s", domain, exc.detail)
        return {}
    with runtime.sessions.begin() as session:
        return _store_consent(session, unknown, states)


def _unknown_consent(session: Session, shop_id: int, now: datetime) -> dict[str, int]:
    """Platform id -> customer id of due firings' customers with unknown consent."""
    stmt = (
        select(Customer.platform_id, Customer.id)
        .join(TriggerFiring, TriggerFiring.customer_id == Customer.id)
        .where(
            TriggerFiring.shop_id == shop_id,
            TriggerFiring.state.in_(PENDING_STATES),
            TriggerFiring.due_at <= now,
            Customer.email_marketing_state.is_(None),
        )
        .distinct()
        .limit(BATCH * MAX_BATCHES)
    )
    return {row.platform_id: row.id for row in session.execute(stmt)}


def _store_consent(
    session: Session, unknown: Mapping[str, int], states: Mapping[str, str]
) -> dict[int, str]:
    looked_up = {cid: states.get(pid, GONE) for pid, cid in unknown.items()}
    by_state: dict[str, list[int]] = defaultdict(list)
    for customer_id, state in looked_up.items():
        if state not in (GONE, ""):
            by_state[state].append(customer_id)
    # One UPDATE per state (and chunk), not a load per customer. No consent version: any
    # later consent webhook replaces what the API said now.
    for state, ids in by_state.items():
        for start in range(0, len(ids), CHUNK):
            session.execute(
                update(Customer)
                .where(
                    Customer.id.in_(ids[start : start + CHUNK]),
                    Customer.email_marketing_state.is_(None),
                )
                .values(email_marketing_state=state)
            )
    return looked_up
