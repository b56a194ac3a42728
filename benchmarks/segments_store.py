"""A synthetic store for the segment benchmark, bulk-inserted with its metrics filled in."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

from benchmarks.errors import BenchmarkError
from plugin.profiles.metrics import recompute_metrics
from plugin.profiles.models import (
    Checkout,
    Customer,
    CustomerTag,
    Order,
    OrderLine,
    Product,
    Purchase,
)
from plugin.runtime import Runtime
from plugin.shops.services import install_shop
from plugin.shops.tokens import Credentials

DOMAIN = "segments-bench.myshopify.com"
# The frozen clock of the cold sweep (the shop's timezone is UTC).
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
HISTORY = timedelta(days=730)
WINDOW = timedelta(days=365)
ABANDONED_AFTER = timedelta(hours=10)  # the shop setting's default
BATCH = 20_000
PRODUCTS = 200
TYPES: tuple[tuple[str, int], ...] = (("Coffee", 30), ("Tea", 20), ("Mugs", 12), ("Grinders", 6))
TYPES += (("Filters", 10), ("Chocolate", 8), ("Gift cards", 6), ("Syrups", 8))
VENDORS = ("Acme Roasters", "Hill Tea Co", "Nordic Ware", "Bean Bros", "Café Żuraw")
COUNTRIES: tuple[tuple[str, int], ...] = (
    ("US", 40),
    ("GB", 12),
    ("DE", 10),
    ("PL", 8),
    ("FR", 8),
    ("CA", 7),
    ("", 5),
)
COUNTRIES += (("JP", 5), ("NP", 5))
TAGS = ("vip", "wholesale", "newsletter", "b2b", "instagram", "returning", "gift", "Żabka")
EMAIL_STATES = (("subscribed", 40), ("not_subscribed", 45), ("unsubscribed", 15))


@dataclass
class Store:
    shop_id: int
    customers: int
    orders: int = 0
    purchases: int = 0
    checkouts: int = 0
    tags: int = 0
    next_order_id: int = 1
    customer_ids: list[int] = field(default_factory=list)


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _at(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def create_shop(runtime: Runtime) -> int:
    """The shop through the app's own install (settings seeded, built-in segments created)."""
    with runtime.sessions.begin() as session:
        shop = install_shop(
            session,
            runtime.settings,
            "shopify",
            DOMAIN,
            Credentials("benchmark-token", scopes=("read_customers", "read_orders")),
            auth_method="oauth",
            now=NOW - HISTORY,
        )
        return int(shop.id)


def build_store(runtime: Runtime, customers: int, seed: int = 20261102) -> Store:
    """Products, customers (metrics as the app computes them), tags, orders, lines,
    purchases and open checkouts, in bulk batches."""
    shop_id = create_shop(runtime)
    rng = random.Random(seed)
    store = Store(shop_id, customers)
    engine = runtime.engine
    products = _products(rng, shop_id)
    _insert(engine, Product, products)
    for start in range(0, customers, BATCH):
        _batch(engine, rng, store, products, range(start + 1, min(start + BATCH, customers) + 1))
    _reset_sequences(engine)
    return store


def _products(rng: random.Random, shop_id: int) -> list[dict[str, Any]]:
    rows = []
    for n in range(PRODUCTS):
        kind, vendor = _pick(rng, TYPES), VENDORS[n % len(VENDORS)]
        rows.append(
            {
                "shop_id": shop_id,
                "platform_id": str(8_000_000_000 + n),
                "title": f"{kind} #{n}",
                "product_type": kind,
                "product_type_cf": kind.casefold(),
                "vendor": vendor,
                "vendor_cf": vendor.casefold(),
                "price_minor": rng.choice((450, 900, 1250, 1900, 2900, 4900, 12900)),
            }
        )
    return rows


def _order_count(rng: random.Random) -> int:
    """CDNOW-like: a third never buy, most buyers buy once, a long tail buys often."""
    if rng.random() < 0.33:
        return 0
    return min(int(rng.paretovariate(1.5)), 40)


def _batch(
    engine: Engine,
    rng: random.Random,
    store: Store,
    products: list[dict[str, Any]],
    ids: range,
) -> None:
    shop_id = store.shop_id
    weights = [3 if p["product_type"] in ("Coffee", "Tea") else 1 for p in products]
    customers, tags, orders, lines, purchases, checkouts = [], [], [], [], [], []
    for cid in ids:
        created = _at(NOW - HISTORY * rng.random() ** 0.7)
        counted: list[tuple[datetime, int, bool]] = []
        for _ in range(_order_count(rng)):
            at = _at(created + (NOW - created) * rng.random())
            oid = store.next_order_id
            store.next_order_id += 1
            cancelled = rng.random() < 0.015
            discounted = rng.random() < 0.2
            total = 0
            for product in rng.choices(products, weights, k=rng.choice((1, 1, 1, 2, 2, 3))):
                qty = rng.choice((1, 1, 1, 2, 3))
                amount = product["price_minor"] * qty
                total += amount
                lines.append(
                    {
                        "shop_id": shop_id,
                        "order_id": oid,
                        "product_platform_id": product["platform_id"],
                        "title": product["title"],
                        "vendor": product["vendor"],
                        "quantity": qty,
                        "price_minor": product["price_minor"],
                        "discount_minor": 0,
                    }
                )
                if not cancelled:
                    purchases.append(
                        {
                            "shop_id": shop_id,
                            "customer_id": cid,
                            "order_id": oid,
                            "ordered_at": at,
                            "product_platform_id": product["platform_id"],
                            "product_type_cf": product["product_type_cf"],
                            "vendor_cf": product["vendor_cf"],
                            "quantity": qty,
                            "amount_minor": amount,
                        }
                    )
            orders.append(_order(shop_id, oid, cid, at, total, cancelled, discounted))
            if not cancelled:
                counted.append((at, total, discounted))
        open_checkouts = []
        if rng.random() < 0.08:
            activity = _at(NOW - timedelta(days=10) * rng.random())
            open_checkouts.append(activity)
            checkouts.append(
                {
                    "shop_id": shop_id,
                    "token": f"bench-checkout-{cid}",
                    "customer_id": cid,
                    "customer_platform_id": str(7_000_000_000 + cid),
                    "currency": "USD",
                    "total_minor": 2900,
                    "platform_created_at": activity - timedelta(minutes=5),
                    "platform_updated_at": activity,
                }
            )
        for tag in rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2, 3))):
            tags.append(
                {"shop_id": shop_id, "customer_id": cid, "tag": tag, "tag_cf": tag.casefold()}
            )
        customers.append(_customer(rng, shop_id, cid, created, counted, open_checkouts))
    store.customer_ids.extend(ids)
    store.orders += len(orders)
    store.purchases += len(purchases)
    store.checkouts += len(checkouts)
    store.tags += len(tags)
    _insert(engine, Customer, customers)
    _insert(engine, Order, orders)
    _insert(engine, OrderLine, lines)
    _insert(engine, Purchase, purchases)
    _insert(engine, Checkout, checkouts)
    _insert(engine, CustomerTag, tags)


def _order(
    shop_id: int, oid: int, cid: int, at: datetime, total: int, cancelled: bool, discounted: bool
) -> dict[str, Any]:
    return {
        "id": oid,
        "shop_id": shop_id,
        "platform_id": str(5_000_000_000 + oid),
        "customer_id": cid,
        "customer_platform_id": str(7_000_000_000 + cid),
        "name": f"#{oid}",
        "currency": "USD",
        "total_minor": total,
        "net_total_minor": total,
        "original_total_minor": total,
        "financial_status": "paid",
        "cancelled_at": at + timedelta(hours=2) if cancelled else None,
        "test": False,
        "source_name": "web",
        "has_discount": discounted,
        "ordered_at": at,
        "anonymized": False,
    }


def _customer(
    rng: random.Random,
    shop_id: int,
    cid: int,
    created: datetime,
    counted: list[tuple[datetime, int, bool]],
    checkouts: list[datetime],
) -> dict[str, Any]:
    """A customer row with every stored metric as `recompute_metrics` would set it at NOW."""
    count = len(counted)
    spent = sum(total for _, total, _ in counted)
    first = min((at for at, _, _ in counted), default=None)
    last = max((at for at, _, _ in counted), default=None)
    windowed = [(at, total) for at, total, _ in counted if at > NOW - WINDOW]
    cutoff = NOW - ABANDONED_AFTER
    abandoned = [at for at in checkouts if at <= cutoff]
    pending = [at for at in checkouts if at > cutoff]
    due = [min(at for at, _ in windowed) + WINDOW] if windowed else []
    if pending:
        due.append(min(pending) + ABANDONED_AFTER)
    country = _pick(rng, COUNTRIES)
    return {
        "id": cid,
        "shop_id": shop_id,
        "platform_id": str(7_000_000_000 + cid),
        "email": f"customer{cid}@example.com",
        "email_cf": f"customer{cid}@example.com",
        "locale": "en",
        "country_code": country or None,
        "state": "enabled" if rng.random() < 0.3 else "disabled",
        "verified_email": True,
        "email_marketing_state": _pick(rng, EMAIL_STATES),
        "platform_created_at": created,
        "platform_updated_at": created,
        "orders_count": count,
        "total_spent_minor": spent,
        "avg_order_value_minor": _round_div(spent, count) if count else None,
        "first_order_at": first,
        "last_order_at": last,
        "avg_days_between_orders": (
            (last - first).total_seconds() / 86400 / (count - 1)
            if count > 1 and first and last
            else None
        ),
        "discount_order_share": sum(d for _, _, d in counted) / count if count else None,
        "abandoned_checkouts_count": len(abandoned),
        "last_abandoned_at": max(abandoned, default=None),
        "spent_365d_minor": sum(total for _, total in windowed),
        "orders_365d": len(windowed),
        "time_metrics_due_at": min(due) if due else None,
        "metrics_updated_at": NOW,
        "created_at": created,
        "updated_at": created,
    }


def _round_div(total: int, count: int) -> int:
    quotient, remainder = divmod(total, count)
    return quotient + (1 if 2 * remainder >= count else 0)


def _insert(engine: Engine, model: Any, rows: list[dict[str, Any]]) -> None:
    columns = {c.key for c in model.__table__.c}
    clean = [{k: v for k, v in row.items() if k in columns} for row in rows]
    if not clean:
        return
    with engine.begin() as conn:
        for start in range(0, len(clean), BATCH):
            conn.execute(insert(model.__table__), clean[start : start + BATCH])


def _reset_sequences(engine: Engine) -> None:
    """PostgreSQL: identity sequences past the explicit ids (the app inserts later)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in ("customers", "orders"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
            )


METRIC_COLUMNS = (
    "orders_count",
    "total_spent_minor",
    "avg_order_value_minor",
    "first_order_at",
    "last_order_at",
    "avg_days_between_orders",
    "discount_order_share",
    "abandoned_checkouts_count",
    "last_abandoned_at",
    "spent_365d_minor",
    "orders_365d",
    "time_metrics_due_at",
)


def check_against_recompute(runtime: Runtime, store: Store, sample: int = 300) -> int:
    """The generated metrics and purchases of a sample equal the app's own recompute;
    returns how many customers were checked (raises BenchmarkError otherwise)."""
    rng = random.Random(7)
    ids = sorted(rng.sample(store.customer_ids, min(sample, len(store.customer_ids))))
    columns = [getattr(Customer, c) for c in METRIC_COLUMNS]
    with runtime.sessions() as session:
        before = _snapshot(session, store.shop_id, ids, columns)
        recompute_metrics(session, store.shop_id, ids, NOW)
        session.flush()
        after = _snapshot(session, store.shop_id, ids, columns)
        session.rollback()
    if before != after:
        wrong = [cid for cid in before if before[cid] != after.get(cid)]
        cid = wrong[0] if wrong else ids[0]
        raise BenchmarkError(
            f"generated metrics differ from recompute_metrics for {len(wrong)} of {len(ids)}"
            f" customers, e.g. {cid}: {before.get(cid)} vs {after.get(cid)}"
        )
    return len(ids)


def _snapshot(session: Any, shop_id: int, ids: list[int], columns: list[Any]) -> dict[int, Any]:
    rows = session.execute(select(Customer.id, *columns).where(Customer.id.in_(ids)))
    out: dict[int, Any] = {}
    for row in rows:
        values = list(row[1:])
        ratio = values[5]
        values[5] = None if ratio is None else round(ratio, 9)
        out[row[0]] = tuple(values)
    purchases = select(
        Purchase.customer_id,
        func.count(),
        func.sum(Purchase.quantity),
        func.sum(Purchase.amount_minor),
    ).where(Purchase.shop_id == shop_id, Purchase.customer_id.in_(ids))
    for cid, n, qty, amount in session.execute(purchases.group_by(Purchase.customer_id)):
        out[cid] = (*out[cid], int(n), int(qty), int(amount))
    return out


def change_customers(runtime: Runtime, store: Store, share: float, at: datetime) -> list[int]:
    """A new order for `share` of the customers, applied through the app's recompute."""
    rng = random.Random(11)
    ids = sorted(rng.sample(store.customer_ids, max(1, round(share * store.customers))))
    with runtime.sessions.begin() as session:
        products = session.execute(
            select(Product.platform_id, Product.vendor).where(Product.shop_id == store.shop_id)
        ).all()
    for chunk in _chunks(ids, 1000):
        orders, lines = [], []
        for cid in chunk:
            oid = store.next_order_id
            store.next_order_id += 1
            pid, vendor = rng.choice(products)
            orders.append(_order(store.shop_id, oid, cid, _at(at), 4900, False, False))
            lines.append(
                {
                    "shop_id": store.shop_id,
                    "order_id": oid,
                    "product_platform_id": pid,
                    "vendor": vendor,
                    "quantity": 1,
                    "price_minor": 4900,
                    "discount_minor": 0,
                }
            )
        _insert(runtime.engine, Order, orders)
        _insert(runtime.engine, OrderLine, lines)
        with runtime.sessions.begin() as session:
            recompute_metrics(session, store.shop_id, chunk, at + timedelta(minutes=1))
    _reset_sequences(runtime.engine)
    return ids


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
