"""The shop's plan: recorded from the install's read and from subscription updates (newest
wins), its customers counted against the plan's limit, and the tags the pause held back
pushed by the drift repair as soon as the shop is within its limit again."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.billing.limits import OVER_LIMIT, PLAN, Overage, billable, overage
from plugin.manifest import PricingPlan, pricing
from plugin.profiles.models import Customer
from plugin.profiles.shop_settings import set_setting, setting_value
from plugin.runtime import Runtime
from plugin.shops.models import Shop, ShopSetting
from plugin.tagsync.drift import repair_drift

ACTIVE = "ACTIVE"
NONE = "NONE"  # no subscription at all: the free plan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subscription:
    """A subscription as the platform reports it (ids are opaque to this package)."""

    subscription_id: str | None
    name: str | None
    status: str
    updated_at: datetime | None
    test: bool = False

    @property
    def plan(self) -> PricingPlan:
        """The plan in force: the named plan while active, else the free plan."""
        return plan_named(self.name) if self.status == ACTIVE else free_plan()


NO_SUBSCRIPTION = Subscription(None, None, NONE, None)


@dataclass(frozen=True)
class PlanOverview:
    billable: bool
    subscription: Subscription
    plan: PricingPlan
    customers: int
    overage: Overage | None  # what the pause acts on (the flag, not this count)
    plans: tuple[PricingPlan, ...]


def free_plan() -> PricingPlan:
    return pricing().plans[0]


def plan_named(name: str | None) -> PricingPlan:
    """The listing's plan of this name (any case); an unknown name is the free plan."""
    wanted = (name or "").strip().casefold()
    return next((p for p in pricing().plans if p.name.casefold() == wanted), free_plan())


def stored_subscription(session: Session, shop_id: int) -> Subscription:
    row = session.get(ShopSetting, (shop_id, PLAN))
    value = setting_value(PLAN, row.value) if row is not None else None
    if not isinstance(value, dict):
        return NO_SUBSCRIPTION
    at = value.get("updated_at")
    return Subscription(
        value.get("subscription_id"),
        value.get("name"),
        str(value.get("status") or NONE),
        datetime.fromisoformat(at) if at else None,
        bool(value.get("test")),
    )


def _store(session: Session, shop_id: int, sub: Subscription) -> None:
    value: dict[str, Any] = asdict(sub)
    value["updated_at"] = sub.updated_at.isoformat() if sub.updated_at else None
    set_setting(session, shop_id, PLAN, value)


def record_subscription(session: Session, shop: Shop, sub: Subscription, now: datetime) -> bool:
    """Apply a subscription update; False when it is stale: older than the stored one, or
    the end of a subscription other than the active one (a plan switch cancels the old
    subscription, and that news may come after the new one's)."""
    current = stored_subscription(session, shop.id)
    if current.updated_at and sub.updated_at and sub.updated_at < current.updated_at:
        log.info("billing.subscription.stale shop_id=%s status=%s", shop.id, sub.status)
        return False
    ends_another = current.status == ACTIVE and sub.subscription_id != current.subscription_id
    if sub.status != ACTIVE and ends_another:
        log.info("billing.subscription.not_current shop_id=%s status=%s", shop.id, sub.status)
        return False
    _store(session, shop.id, sub)
    log.info("billing.plan shop_id=%s plan=%s status=%s", shop.id, sub.plan.name, sub.status)
    apply_limit(session, shop, now)
    return True


def record_installed(session: Session, shop: Shop, subs: list[Subscription], now: datetime) -> None:
    """What the install read (a current read replaces what was stored): the active
    subscription, the newest if several, or none (the free plan)."""
    active = [s for s in subs if s.status == ACTIVE]
    chosen = max(active, key=lambda s: s.updated_at or now) if active else NO_SUBSCRIPTION
    _store(session, shop.id, replace(chosen, updated_at=now))
    apply_limit(session, shop, now)


def customer_count(session: Session, shop_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Customer.shop_id == shop_id)) or 0)


def compute_overage(session: Session, shop: Shop) -> Overage | None:
    """The overage now: counted only for a billed shop on a plan with a limit."""
    if not billable(shop):
        return None
    plan = stored_subscription(session, shop.id).plan
    if plan.customer_limit is None:
        return None
    customers = customer_count(session, shop.id)
    if customers <= plan.customer_limit:
        return None
    return Overage(customers, plan.name, plan.customer_limit)


def apply_limit(session: Session, shop: Shop, now: datetime) -> int:
    """Recompute the shop's over-limit flag; when that lifts the pause, queue the tags held
    back (drift repair). Returns the customers queued."""
    before = overage(session, shop.id)
    after = compute_overage(session, shop)
    set_setting(session, shop.id, OVER_LIMIT, asdict(after) if after else None)
    session.flush()  # the tag queue below reads the flag
    if after is not None and before is None:
        log.warning("billing.over_limit shop_id=%s customers=%d", shop.id, after.customers)
    if before is None or after is not None:
        return 0
    queued = repair_drift(session, shop.id, now)
    log.info("billing.resumed shop_id=%s queued=%d", shop.id, queued)
    return queued


def refresh_limits(runtime: Runtime, shop_ids: list[int], now: datetime) -> None:
    """The sweep job's recount, one unit of work per shop; one failure stops no other."""
    for shop_id in shop_ids:
        try:
            with runtime.sessions.begin() as session:
                shop = session.get(Shop, shop_id)
                if shop is not None:
                    apply_limit(session, shop, now)
        except Exception:
            log.exception("billing.refresh_failed shop_id=%s", shop_id)


def plan_overview(session: Session, shop: Shop) -> PlanOverview:
    """Everything the Plan page and `shopseg status` show."""
    sub = stored_subscription(session, shop.id)
    return PlanOverview(
        billable(shop),
        sub,
        sub.plan,
        customer_count(session, shop.id),
        overage(session, shop.id),
        pricing().plans,
    )
