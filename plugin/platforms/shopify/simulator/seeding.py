"""A seeded shop history for tests and benchmarks: customers with consent, addresses and
tags, products, and orders of every kind the import must handle."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from plugin.platforms.shopify.simulator.customers import SimCreditAccount, SimCustomer
from plugin.platforms.shopify.simulator.history import (
    CATEGORIES,
    CITIES,
    RFM,
    SMS_STATES,
    TIERS,
    TYPES,
    VENDORS,
    SimLine,
    SimOrder,
    iso,
)
from plugin.platforms.shopify.simulator.state import SimulatorState


def seed_history(
    state: SimulatorState,
    shop: str,
    *,
    customers: int = 50,
    orders_per_customer: float = 3.0,
    products: int = 20,
    seed: int = 1,
    now: datetime | None = None,
    days: int = 720,
    first_id: int = 1000,
) -> None:
    """A shop with `customers` customers (a few without email), about
    `orders_per_customer` orders each over the last `days` days (some guest, test,
    cancelled, discounted, refunded and point-of-sale orders), and `products` products."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    product_ids = [str(first_id * 10 + i) for i in range(products)]
    for i, pid in enumerate(product_ids):
        state.add_product(
            shop,
            pid,
            title=f"Product {i}",
            product_type=TYPES[i % len(TYPES)],
            vendor=VENDORS[i % len(VENDORS)],
            tags=[f"t{i % 3}", "Catalogue"],
            updated_at=iso(now - timedelta(days=rng.randint(1, 400))),
            category=CATEGORIES[i % len(CATEGORIES)],
        )
    next_order = first_id * 100
    for n in range(customers):
        customer = _customer(state, shop, str(first_id + n), n, rng, now)
        count = min(int(rng.expovariate(1 / orders_per_customer)), 40) if n % 9 else 0
        spent = Decimal(0)
        for _ in range(count):
            order = _order(str(next_order), customer, product_ids, rng, now, days)
            state.add_order(shop, order)
            next_order += 1
            if not (order.test or order.cancelled):
                spent += Decimal(order.totals()[0])
        customer.number_of_orders, customer.amount_spent = (
            count,
            str(spent.quantize(Decimal("0.01"))),
        )
    for _ in range(max(1, customers // 10)):  # guests
        order = _order(str(next_order), None, product_ids, rng, now, days)
        state.add_order(shop, order)
        next_order += 1


def _customer(
    state: SimulatorState, shop: str, cid: str, n: int, rng: random.Random, now: datetime
) -> SimCustomer:
    email = None if n % 17 == 16 else f"Customer.{cid}@Example.com"
    created = now - timedelta(days=rng.randint(30, 900))
    customer = state.add_customer(
        shop,
        cid,
        email=email,
        tags=[t for t in ("VIP", "newsletter", "wholesale") if rng.random() < 0.3],
        email_marketing_state=rng.choice(("SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED")),
        first_name=f"First{n}",
        last_name=f"Last{n}",
    )
    customer.created_at = iso(created)
    customer.updated_at = iso(created + timedelta(days=rng.randint(0, 25)))
    customer.phone = f"+4850000{n:04d}" if n % 3 == 0 else None
    if customer.phone:  # no draw from rng: the rest of the shop stays as it was
        customer.sms_marketing_state = SMS_STATES[n // 3 % len(SMS_STATES)]
        customer.sms_opt_in_level = "SINGLE_OPT_IN"
        # some consents carry their own time, later than the profile's; some none
        later = created + timedelta(days=40 + n)
        customer.sms_consent_updated_at = iso(later) if n % 2 == 0 else None
    customer.address = CITIES[n % len(CITIES)] if n % 5 else None
    # a second address for some (no draw from rng: the rest of the shop stays as it was)
    customer.other_addresses = [CITIES[(n + 1) % len(CITIES)]] if n % 7 == 3 else []
    customer.locale = "pl" if n % 4 == 0 else "en"
    customer.email_opt_in_level = "SINGLE_OPT_IN" if email else None
    customer.email_consent_updated_at = customer.updated_at if email else None
    customer.metafields = seeded_metafields(n, created)
    customer.company_ids = {3: ["4001"], 7: ["4001", "4002"]}.get(n % 8, [])
    customer.store_credit = seeded_store_credit(n, cid, created, now)
    customer.rfm_group = RFM[n % len(RFM)]
    customer.spend_tier = TIERS[n % len(TIERS)]
    return customer


def seeded_metafields(n: int, created: datetime) -> list[tuple[str, str, str, str]]:
    """Custom fields of every kind a segment filters on, and one it does not (json); no
    draw from rng, so the rest of the shop stays as it was."""
    found = []
    if n % 4 == 1:
        birth = "1992-02-29" if n == 5 else f"19{70 + n % 30}-{1 + n % 12:02d}-{1 + n % 28:02d}"
        found.append(("facts", "birth_date", "date", birth))
    if n % 3 == 0:
        found.append(("custom", "points", "number_integer", str(n * 10)))
    if n % 5 == 2:
        found.append(("custom", "member_since", "date_time", iso(created)))
    if n % 2 == 0:
        found.append(("custom", "newsletter", "boolean", "true" if n % 4 == 0 else "false"))
    if n % 6 == 1:
        interests = json.dumps(["Coffee", "Tea", "Mugs"][: 1 + n // 6 % 3])
        found.append(("custom", "interests", "list.single_line_text_field", interests))
    if n % 7 == 0:
        found.append(("custom", "profile", "json", '{"likes": "tea"}'))
    return found


def seeded_store_credit(
    n: int, cid: str, created: datetime, now: datetime
) -> list[SimCreditAccount]:
    """A USD account for some customers (credits expiring soon, later, already, never)
    and a EUR one with no credit read for a few; no draw from rng."""
    accounts = []
    if n % 5 == 1:
        expires = now + timedelta(days=(n % 3) * 10 - 5)
        credits = [
            (f"{cid}1", iso(created + timedelta(days=10)), iso(expires), f"{n}.00"),
            (f"{cid}2", iso(now - timedelta(days=3)), None, "5.00"),
        ]
        accounts.append(SimCreditAccount(f"{cid}1", "USD", f"{n * 7}.50", credits))
    if n % 10 == 6:
        accounts.append(SimCreditAccount(f"{cid}2", "EUR", "12.00"))
    return accounts


def _order(
    oid: str,
    customer: SimCustomer | None,
    product_ids: list[str],
    rng: random.Random,
    now: datetime,
    days: int,
) -> SimOrder:
    placed = now - timedelta(days=rng.randint(0, days), seconds=rng.randint(0, 86399))
    lines = []
    for k in range(rng.choice((1, 1, 2, 3, 4))):
        pid = rng.choice(product_ids) if product_ids and rng.random() < 0.9 else None
        price = f"{rng.randint(300, 9000) / 100:.2f}"
        discount = f"{rng.randint(0, 200) / 100:.2f}" if rng.random() < 0.2 else "0.00"
        lines.append(
            SimLine(
                f"{oid}{k}",
                pid,
                f"Item {pid or 'custom'}",
                rng.choice(VENDORS),
                rng.randint(1, 3),
                price,
                discount,
            )
        )
    order = SimOrder(
        oid,
        customer.customer_id if customer else None,
        customer.email if customer else f"guest{oid}@example.com",
        placed,
        placed + timedelta(hours=rng.randint(0, 72)),
        lines,
        discount_codes=["WELCOME10"] if rng.random() < 0.15 else [],
        cancelled=rng.random() < 0.05,
        test=rng.random() < 0.02,
        pos=rng.random() < 0.1,
        locale=customer.locale if customer else "en",
    )
    if rng.random() < 0.05:  # refunded in part, the refund listed on the order
        order.refunded, order.refund_ids = "1.00", [f"9{oid}"]
    return order
