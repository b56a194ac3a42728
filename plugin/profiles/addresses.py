"""Every address of a customer, kept whole with the profile, keyed as Shopify's location
filters write places (`US-CA`, `US-CA-LosAngeles`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from plugin.db import Unindexed
from plugin.events import Address
from plugin.profiles.models import Customer, CustomerAddress

AddressRow = dict[str, Any]


def region_key(country: str | None, province: str | None) -> str | None:
    """`US-CA`: country and province code, as Shopify's customer_regions values."""
    if not country or not province:
        return None
    return f"{country.strip().upper()}-{province.strip().upper()}"


# Latin letters that Unicode does not decompose into a base letter and a mark.
_UNDECOMPOSED = str.maketrans(
    {"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ħ": "h", "Ħ": "H"}
    | {"\u0131": "i", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "TH"}
    | {"ð": "d", "Ð": "D"}
)


def city_code(name: str) -> str:
    """A city name as a code: letters and digits only, accents dropped, casefolded
    (`Kraków`, `KRAKOW` → `krakow`; `Łódź` → `lodz`; `Winston-Salem` → `winstonsalem`).
    Shopify writes a city code in ASCII camel case (`LosAngeles`, `NewYorkCity`) without
    saying how it derives one; folding both sides this far lets `PL-MA-Krakow`, `PL-MA-Kraków`
    and `pl-ma-krakow` all find an address in Kraków."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_UNDECOMPOSED))
    return "".join(c for c in decomposed if c.isalnum()).casefold()


def city_key(country: str | None, province: str | None, city: str | None) -> str | None:
    """`us-ca-losangeles`: Shopify's customer_cities value (country code, province code,
    city code), folded by `city_code`. A place without a province drops that part
    (`pl-warszawa`)."""
    name = city_code(city or "")
    if not country or not country.strip() or not name:
        return None
    region = region_key(country, province) or country.strip().upper()
    return f"{region}-{name}".casefold()


def city_keys(value: str) -> list[str]:
    """The stored keys a customer_cities value may name: `US-CA-LosAngeles` (country,
    province, city code) or a place without a province (`SG-Singapore`). A value of three
    or more parts may be either (`US-NC-Winston-Salem`), so both readings are offered."""
    country, *rest = [part.strip() for part in value.split("-")]
    keys = []
    if rest and city_code("".join(rest)):
        keys.append(f"{country}-{city_code(''.join(rest))}".casefold())
    if len(rest) >= 2 and rest[0] and city_code("".join(rest[1:])):
        keys.append(f"{country}-{rest[0]}-{city_code(''.join(rest[1:]))}".casefold())
    return keys if country else []


def address_row(shop_id: int, customer_id: int | None, address: Address) -> AddressRow:
    """The customer_addresses values of one address (`customer_id` None: filled later)."""
    country = address.country_code.strip().upper() if address.country_code else None
    province, city = address.province_code, address.city
    return {
        "shop_id": shop_id,
        "customer_id": customer_id,
        "country_code": country or None,
        "province_code": province or None,
        "city": city or None,
        "region_key": region_key(country, province),
        "city_key": city_key(country, province, city),
    }


def distinct_rows(rows: Iterable[AddressRow]) -> list[AddressRow]:
    """One row per place of a customer: the default address is also listed in `addresses`."""
    seen: dict[tuple[Any, ...], AddressRow] = {}
    for row in rows:
        key = (row["customer_id"], row["country_code"], row["province_code"], row["city"])
        if any(row[k] for k in ("country_code", "province_code", "city")):
            seen.setdefault(key, row)
    return list(seen.values())


def replace_addresses(session: Session, customer: Customer, addresses: Iterable[Address]) -> None:
    """The customer's full address list as a customers/* payload states it (two statements)."""
    session.execute(
        delete(CustomerAddress).where(
            CustomerAddress.shop_id == customer.shop_id,
            CustomerAddress.customer_id == customer.id,
        )
    )
    rows = distinct_rows(address_row(customer.shop_id, customer.id, a) for a in addresses)
    if rows:
        session.execute(insert(CustomerAddress), rows)


def add_first_addresses(session: Session, found: Sequence[tuple[Customer, Address]]) -> None:
    """Stubs' addresses from orders or checkouts, each only while the customer has none
    of its own (their first address here): one query for those that already hold one,
    one INSERT for the others."""
    first: dict[Any, AddressRow] = {}
    for row in distinct_rows(address_row(c.shop_id, c.id, a) for c, a in found):
        first.setdefault(row["customer_id"], row)  # a customer's first address only
    rows = list(first.values())
    if not rows:
        return
    session.flush()
    held = set(
        session.scalars(
            select(CustomerAddress.customer_id)
            .where(
                # Unindexed: each customer through the customer index, not the shop's
                # addresses through a (shop, country) index SQLite may prefer.
                Unindexed(CustomerAddress.shop_id) == rows[0]["shop_id"],
                CustomerAddress.customer_id.in_(sorted({r["customer_id"] for r in rows})),
            )
            .distinct()
        )
    )
    fresh = [row for row in rows if row["customer_id"] not in held]
    if fresh:
        session.execute(insert(CustomerAddress), fresh)
