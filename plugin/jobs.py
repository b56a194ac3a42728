"""Scheduled profile maintenance: time-based abandonment and products no webhook brought.

Shop API calls happen between units of work, never inside one.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from plugin.errors import PlatformError
from plugin.events import ProductData, make_version
from plugin.profiles.metrics import refresh_abandonment
from plugin.profiles.products import unknown_product_ids, upsert_product
from plugin.runtime import Runtime
from plugin.shops.models import INSTALLED, Shop
from plugin.shops.tokens import access_token

log = logging.getLogger(__name__)

# Below every real version, so any later products/* webhook replaces what a lookup stored.
LOOKUP_VERSION_ID = "lookup"


def installed_shops(runtime: Runtime) -> list[tuple[int, str, str]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Shop.id, Shop.platform, Shop.domain).where(Shop.install_state == INSTALLED)
        )
        return [(r.id, r.platform, r.domain) for r in rows]


def refresh_abandoned_checkouts(runtime: Runtime, now: datetime) -> None:
    """Checkouts become abandoned by time alone; recompute the customers that crossed over."""
    for shop_id, _platform, domain in installed_shops(runtime):
        with runtime.sessions.begin() as session:
            count = refresh_abandonment(session, shop_id, now)
        if count:
            log.info("jobs.abandonment shop=%s recomputed=%d", domain, count)


def lookup_unknown_products(runtime: Runtime, now: datetime) -> None:
    """Fetch products seen on order lines but never sent by webhook (for product types)."""
    for shop_id, platform, domain in installed_shops(runtime):
        if platform != "shopify":
            continue
        try:
            looked_up = _lookup_for_shop(runtime, shop_id, domain)
        except PlatformError as exc:  # the next run tries again
            log.warning("jobs.product_lookup_failed shop=%s error=%s", domain, exc.detail)
            continue
        if looked_up:
            log.info("jobs.product_lookup shop=%s products=%d", domain, looked_up)


def _lookup_for_shop(runtime: Runtime, shop_id: int, domain: str) -> int:
    from plugin.platforms.shopify.catalog import fetch_products

    with runtime.sessions() as session:
        ids = unknown_product_ids(session, shop_id)
    if not ids:
        return 0
    found = fetch_products(runtime, domain, access_token(runtime, shop_id), ids)
    with runtime.sessions.begin() as session:
        for product_id in ids:
            data = found.get(product_id) or _missing(product_id)
            version = make_version(data.updated_at, None, LOOKUP_VERSION_ID)
            upsert_product(session, shop_id, data, version)
    return len(ids)


def _missing(product_id: str) -> ProductData:
    """A product the shop no longer has: stored empty so it is not looked up again."""
    return ProductData(product_id, None, None, None, (), None)


def sweep_segments(runtime: Runtime, now: datetime) -> None:
    """Refit the predictions of shops that are due (daily, or 10% more orders), re-evaluate
    the segments of every shop that is due (time passes without events), recount each shop
    against its plan's limit, then repair tag drift."""
    from plugin.billing.services import refresh_limits
    from plugin.predictions.services import refit_due_shops
    from plugin.segments.evaluator_sweep import sweep_due_shops
    from plugin.tagsync.imports import repair_swept_shops

    shop_ids = [shop_id for shop_id, _platform, _domain in installed_shops(runtime)]
    refitted = refit_due_shops(runtime, shop_ids, now)  # before the rules read the scores
    if refitted:
        log.info("jobs.prediction_refit shops=%d", refitted)
    swept = sweep_due_shops(runtime, shop_ids, now)
    refresh_limits(runtime, shop_ids, now)  # a recount, not one per event
    repair_swept_shops(runtime, shop_ids, now)  # managed tags removed or added by hand
    if swept:
        log.info("jobs.segment_sweep shops=%d", swept)


def segment_daily_kpis(runtime: Runtime, now: datetime) -> None:
    """Each shop's segment KPIs for its local yesterday, once that day has ended."""
    from plugin.segments.health import ensure_daily

    for shop_id, _platform, domain in installed_shops(runtime):
        with runtime.sessions.begin() as session:
            day = ensure_daily(session, shop_id, now)
        if day:
            log.info("jobs.segment_daily shop=%s day=%s", domain, day)
