"""The cheap question every tag push and trigger batch asks: is this shop over its plan's
limit? One primary-key read of a flag that plan changes and the sweep job keep current."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from plugin.profiles.shop_settings import setting_value
from plugin.shops.models import Shop, ShopSetting

PLAN = "billing.plan"  # {name, status, subscription_id, test, updated_at}
OVER_LIMIT = "billing.over_limit"  # null, or {customers, plan, limit} while over
# Installs through the app's listing (authorization code or managed token exchange) are
# billed by the platform; a merchant's custom app or a standalone install cannot be.
BILLABLE_AUTH = frozenset({"oauth", "managed"})


@dataclass(frozen=True)
class Overage:
    customers: int
    plan: str
    limit: int

    @property
    def detail(self) -> str:
        return (
            f"paused by the plan: {self.customers:,} customers, the {self.plan} plan allows "
            f"{self.limit:,} (choose a larger plan to resume)"
        )


def billable(shop: Shop) -> bool:
    """Whether the platform bills this install (and so whether a plan limits it)."""
    return shop.auth_method in BILLABLE_AUTH


def overage(session: Session, shop_id: int) -> Overage | None:
    """The shop's overage as last computed; None while within its plan (or not billed)."""
    row = session.get(ShopSetting, (shop_id, OVER_LIMIT))
    value = setting_value(OVER_LIMIT, row.value) if row is not None else None
    if not isinstance(value, dict):
        return None
    return Overage(int(value["customers"]), str(value["plan"]), int(value["limit"]))
