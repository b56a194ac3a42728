"""Helpers of the history import tests: run an import to the end, and a comparable store.

`store_of(session, shop_id)` gives every profile row of a shop keyed by platform ids, with
surrogate ids, row timestamps and the delivery half of versions left out, so two stores
built different ways (webhooks vs import, killed vs uninterrupted) compare with ==.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.backfill import runs
from plugin.backfill.importer import DONE, advance
from plugin.backfill.sources import source_for
from plugin.profiles.facts_models import (
    CustomerCompany,
    CustomerMetafield,
    StoreCredit,
    StoreCreditAccount,
)
from plugin.profiles.models import (
    Customer,
    CustomerAddress,
    CustomerTag,
    Order,
    OrderLine,
    Product,
    ProductTag,
    Purchase,
)
from plugin.runtime import Runtime
from plugin.shops.models import Shop

SKIP = {"id", "shop_id", "customer_id", "order_id", "product_id", "created_at", "updated_at"}
SKIP |= {"metrics_updated_at"}
SKIP |= {"rfm_scored_at"}  # when a sweep scored the customer: the two runs' own clocks
VERSIONS = {
    "version",
    "profile_version",
    "consent_version",
    "summary_version",
    "statistics_version",
    "sms_consent_version",
}


def import_history(runtime: Runtime, shop_id: int, timeout: float = 60) -> int:
    """Advance the shop's unfinished (or a new) run until it is done; the run id."""
    with runtime.sessions.begin() as session:
        run = runs.unfinished_run(session, shop_id) or runs.create_run(
            session, shop_id, "test", _now()
        )
        run_id = run.id
        shop = session.get(Shop, shop_id)
        assert shop is not None
    deadline = time.monotonic() + timeout
    while advance(runtime, run_id, source_for(runtime, shop)) != DONE:
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.05)
    return run_id


def _now() -> Any:
    from plugin.db import utcnow

    return utcnow()


def _row(obj: Any, drop: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    values = {}
    for column in obj.__table__.columns:
        if column.key in SKIP or column.key in drop:
            continue
        value = getattr(obj, column.key)
        if column.key in VERSIONS and isinstance(value, str):
            value = value.split("|", 1)[0]  # the instant, not which delivery or run
        values[column.key] = value
    return values


def store_of(session: Session, shop_id: int, *, drop: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    session.expire_all()
    customers = {
        c.id: c.platform_id
        for c in session.scalars(select(Customer).where(Customer.shop_id == shop_id))
    }
    orders = {
        o.id: o.platform_id for o in session.scalars(select(Order).where(Order.shop_id == shop_id))
    }
    products = {
        p.id: p.platform_id
        for p in session.scalars(select(Product).where(Product.shop_id == shop_id))
    }

    def rows(model: Any, key: Any) -> dict[Any, Any]:
        found = session.scalars(select(model).where(model.shop_id == shop_id))
        out: dict[Any, Any] = {}
        for obj in found:
            out.setdefault(key(obj), []).append(_row(obj, drop))
        return {k: sorted(v, key=repr) for k, v in out.items()}

    return {
        "customers": rows(Customer, lambda c: c.platform_id),
        "customer_tags": rows(CustomerTag, lambda t: (customers[t.customer_id], t.tag_cf)),
        "customer_addresses": rows(CustomerAddress, lambda a: customers[a.customer_id]),
        "customer_metafields": rows(CustomerMetafield, lambda m: customers[m.customer_id]),
        "customer_companies": rows(CustomerCompany, lambda b: customers[b.customer_id]),
        "store_credit_accounts": rows(StoreCreditAccount, lambda a: customers[a.customer_id]),
        "store_credits": rows(StoreCredit, lambda c: (customers[c.customer_id], c.account_id)),
        "products": rows(Product, lambda p: p.platform_id),
        "product_tags": rows(ProductTag, lambda t: (products[t.product_id], t.tag_cf)),
        "orders": rows(Order, lambda o: (o.platform_id, customers.get(o.customer_id))),
        "order_lines": rows(OrderLine, lambda x: (orders[x.order_id], x.platform_id)),
        "purchases": rows(
            Purchase,
            lambda p: (customers[p.customer_id], orders[p.order_id], p.product_platform_id),
        ),
    }
