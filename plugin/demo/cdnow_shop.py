"""The demo shop: the real CDNOW purchase history (23,570 customers, 69,659 orders), shifted so
it ends today, dressed as a Polish record shop (customers, consent, addresses, products)."""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from plugin.data import open_cdnow
from plugin.platforms.shopify.simulator.customers import SimCustomer
from plugin.platforms.shopify.simulator.history import SimLine, SimOrder, iso
from plugin.platforms.shopify.simulator.state import SimulatorState

SHOP = "demo-shop.myshopify.com"
TIMEZONE = "Europe/Warsaw"
# CDNOW's amounts are US dollars; the demo keeps them as they are rather than invent a rate.
CURRENCY = "USD"
CDNOW_LAST_DAY = date(1998, 6, 30)
CUSTOMER_ID_BASE = 7_200_000_000_000  # 13-digit ids like Shopify's, + the CDNOW customer id
ORDER_ID_BASE = 5_100_000_000_000  # + the CDNOW file's line number
PRODUCT_ID_BASE = 8_300_000_000_000
SEED = 1998

FIRST_NAMES = (
    "Anna", "Maria", "Katarzyna", "Małgorzata", "Agnieszka", "Barbara", "Ewa", "Zofia",
    "Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Michał", "Marcin", "Jakub",
    "Łukasz", "Grzegorz", "Jan", "Wojciech", "Hanna", "Julia", "Lena", "Maja",
)  # fmt: skip
LAST_NAMES = (
    "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
    "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur",
    "Kwiatkowski", "Krawczyk", "Piotrowski", "Grabowski", "Nowakowski", "Pawłowski",
)  # fmt: skip
OTHER_FIRST = ("Emma", "Lukas", "Sophie", "Jonas", "Olivia", "Noah", "Tereza", "Jiří")
OTHER_LAST = ("Müller", "Schmidt", "Fischer", "Smith", "Johnson", "Novák", "Svoboda")
# (country, province, city, weight): mostly Poland, as most of our merchants' customers are.
PLACES = (
    ("PL", "MZ", "Warszawa", 20), ("PL", "MA", "Kraków", 10), ("PL", "DS", "Wrocław", 8),
    ("PL", "WP", "Poznań", 7), ("PL", "PM", "Gdańsk", 6), ("PL", "LD", "Łódź", 6),
    ("PL", "SL", "Katowice", 5), ("PL", "LU", "Lublin", 4), ("DE", "BE", "Berlin", 5),
    ("DE", "BY", "München", 3), ("CZ", "10", "Praha", 3), ("GB", "ENG", "London", 2),
    ("US", "NY", "New York", 2),
)  # fmt: skip
GENRES = ("Rock", "Pop", "Jazz", "Classical", "Soundtrack", "Hip-hop", "Box set")
LABELS = ("Polskie Nagrania", "Sony Music", "Warner Music", "Universal", "Blue Note")
PRODUCTS = 48


@dataclass(frozen=True)
class Purchase:
    """One line of CDNOW_master.txt: a customer's purchase of `cds` CDs for `dollars`."""

    line: int
    customer: int
    day: date
    cds: int
    dollars: Decimal


def purchases() -> Iterator[Purchase]:
    """Every CDNOW transaction in file order (same-day repeats stay separate orders)."""
    with open_cdnow() as fh:
        next(fh)  # header
        for line, text in enumerate(fh, start=2):
            customer, day, cds, dollars = text.split()
            yield Purchase(
                line,
                int(customer),
                date(int(day[:4]), int(day[4:6]), int(day[6:])),
                int(cds),
                Decimal(dollars),
            )


def build_shop(
    state: SimulatorState,
    now: datetime | None = None,
    shop: str = SHOP,
    customers: int | None = None,
) -> int:
    """Fill `shop` at the simulator with the CDNOW history ending today; returns orders added.

    `customers` keeps only CDNOW's first that many customers (a quicker demo, the tests).
    Deterministic for a given day: the same names, consent, products and order times.
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    zone = ZoneInfo(TIMEZONE)
    shift = now.astimezone(zone).date() - CDNOW_LAST_DAY
    rng = random.Random(SEED)
    state.add_shop(shop, timezone=TIMEZONE, currency=CURRENCY)
    product_ids = _add_products(state, shop, now, rng)
    by_customer: dict[int, list[Purchase]] = defaultdict(list)
    for purchase in purchases():
        if customers is None or purchase.customer <= customers:
            by_customer[purchase.customer].append(purchase)
    orders = 0
    for number, history in sorted(by_customer.items()):
        first = datetime.combine(history[0].day + shift, time(12), zone)
        customer = _customer(state, shop, number, first, now, rng)
        spent = Decimal(0)
        for purchase in history:
            placed = datetime.combine(purchase.day + shift, _time_of_day(rng), zone)
            placed = min(placed, now - timedelta(minutes=rng.randint(1, 90)))
            state.add_order(shop, _order(purchase, customer, placed, product_ids, rng))
            spent += purchase.dollars
            orders += 1
        customer.number_of_orders = len(history)
        customer.amount_spent = str(spent.quantize(Decimal("0.01")))
    return orders


def _add_products(state: SimulatorState, shop: str, now: datetime, rng: random.Random) -> list[str]:
    ids = []
    for n in range(PRODUCTS):
        pid = str(PRODUCT_ID_BASE + n)
        genre = GENRES[n % len(GENRES)]
        state.add_product(
            shop,
            pid,
            title=f"{genre} CD no. {n + 1}",
            product_type=genre,
            vendor=LABELS[n % len(LABELS)],
            tags=["CD", genre.lower()] + (["bestseller"] if n % 6 == 0 else []),
            updated_at=iso(now - timedelta(days=rng.randint(1, 400))),
        )
        ids.append(pid)
    return ids


def _time_of_day(rng: random.Random) -> time:
    return time(rng.randint(8, 22), rng.randint(0, 59), rng.randint(0, 59))


def person(rng: random.Random) -> tuple[str, str, tuple[str, str, str], str]:
    """A made-up customer: first and last name, (country, province, city), locale."""
    country, province, city, _ = rng.choices(PLACES, weights=[p[3] for p in PLACES])[0]
    if country == "PL":
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if first.endswith("a") and last.endswith("ki"):
            last = last[:-1] + "a"  # Kowalski → Kowalska
    else:
        first, last = rng.choice(OTHER_FIRST), rng.choice(OTHER_LAST)
    return first, last, (country, province, city), "pl" if country == "PL" else "en"


def email_of(first: str, last: str, number: int) -> str:
    plain = unicodedata.normalize("NFKD", f"{first}.{last}".replace("ł", "l").replace("Ł", "L"))
    ascii_name = plain.encode("ascii", "ignore").decode().lower()
    return f"{ascii_name}.{number}@example.com"


def _customer(
    state: SimulatorState,
    shop: str,
    number: int,
    first_order: datetime,
    now: datetime,
    rng: random.Random,
) -> SimCustomer:
    first, last, place, locale = person(rng)
    consent = rng.choices(("SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED"), (55, 35, 10))[0]
    customer = state.add_customer(
        shop,
        CUSTOMER_ID_BASE + number,
        email=email_of(first, last, number),
        email_marketing_state=consent,
        first_name=first,
        last_name=last,
    )
    created = first_order - timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 23))
    customer.created_at = iso(created)
    customer.updated_at = iso(min(first_order + timedelta(days=rng.randint(0, 300)), now))
    customer.address = place
    customer.locale = locale
    customer.phone = f"+48{rng.randint(500_000_000, 799_999_999)}" if rng.random() < 0.4 else None
    customer.email_opt_in_level = "SINGLE_OPT_IN"
    customer.email_consent_updated_at = customer.created_at
    customer.currency = CURRENCY
    return customer


def _order(
    purchase: Purchase,
    customer: SimCustomer,
    placed: datetime,
    product_ids: list[str],
    rng: random.Random,
) -> SimOrder:
    oid = str(ORDER_ID_BASE + purchase.line)
    lines = [
        SimLine(f"{oid}{k}", pid, f"CD {pid[-2:]}", None, quantity, price)
        for k, (pid, quantity, price) in enumerate(
            split_purchase(purchase.cds, purchase.dollars, product_ids, rng)
        )
    ]
    return SimOrder(
        oid,
        customer.customer_id,
        customer.email,
        placed.astimezone(UTC),
        placed.astimezone(UTC) + timedelta(minutes=rng.randint(0, 180)),
        lines,
        currency=CURRENCY,
        locale=customer.locale,
    )


def split_purchase(
    cds: int, dollars: Decimal, product_ids: list[str], rng: random.Random
) -> list[tuple[str, int, str]]:
    """(product, quantity, unit price) lines whose total is exactly `dollars` for `cds` CDs.

    Up to three products; the last line is a single CD priced with the remainder, so the
    cents add up without rounding.
    """
    cds = max(cds, 1)
    products = rng.sample(product_ids, min(cds, rng.choice((1, 1, 2, 3))))
    if len(products) == 1:
        unit = (dollars / cds).quantize(Decimal("0.01"))
        if unit * cds == dollars:
            return [(products[0], cds, str(unit))]
        products.append(rng.choice(product_ids))
    head = cds - 1
    unit = (dollars / cds).quantize(Decimal("0.01"))
    lines = []
    counts = _spread(head, len(products) - 1, rng)
    for pid, quantity in zip(products[:-1], counts, strict=True):
        lines.append((pid, quantity, str(unit)))
    rest = dollars - unit * head
    lines.append((products[-1], 1, str(rest)))
    return [line for line in lines if line[1] > 0]


def _spread(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` split into `parts` non-negative counts (the first gets at least one)."""
    cuts = sorted(rng.randint(0, total) for _ in range(parts - 1))
    counts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    return counts
