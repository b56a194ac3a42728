"""Every address of a customer from customers/* webhooks (replaced whole, under the profile's
version), an order's default address for a stub, the location filters over them, and the
real-time re-evaluation an address change causes — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer, CustomerAddress
from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.services import create_segment
from plugin.settings import Settings
from plugin.shops.models import Shop
from plugin.worker import process_batch
from tests.integration.test_segment_compiler_store import members
from tests.integration.test_segment_eval_support import customer_id, installed, stays
from tests.support.inbox import deliver
from tests.support.profiles import customer_payload, order_payload

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LA = {"country_code": "US", "province_code": "CA", "city": "Los Angeles"}
NYC = {"country_code": "US", "province_code": "NY", "city": "New York"}
KRK = {"country_code": "PL", "province_code": "MA", "city": "Kraków"}
SG = {"country_code": "SG", "province_code": None, "city": "Singapore"}


def places(session: Session, shop: Shop, platform_id: str) -> set[tuple[Any, ...]]:
    session.expire_all()
    rows = session.execute(
        select(CustomerAddress.country_code, CustomerAddress.region_key, CustomerAddress.city_key)
        .join(Customer, Customer.id == CustomerAddress.customer_id)
        .where(Customer.shop_id == shop.id, Customer.platform_id == platform_id)
    )
    return {tuple(r) for r in rows}


def profile(customer: str, at: datetime, default: dict[str, Any] | None, *others: dict[str, Any]):
    """A customers/update payload whose `addresses` list the default one first, as Shopify's."""
    listed = [default, *others] if default else list(others)
    return customer_payload(customer, updated_at=at, default_address=default, addresses=listed)


def test_customers_update_stores_every_address_and_replaces_them_whole(
    session: Session, shop: Shop, apply: Callable[..., Any]
) -> None:
    apply("customers/update", profile("11", T0, LA, NYC, KRK))
    assert places(session, shop, "11") == {
        ("US", "US-CA", "us-ca-losangeles"),
        ("US", "US-NY", "us-ny-newyork"),
        ("PL", "PL-MA", "pl-ma-krakow"),
    }
    assert members(session, shop, "customer_cities CONTAINS 'US-NY-NewYork'") == {"11"}
    assert members(session, shop, "customer_regions CONTAINS 'pl-ma'") == {"11"}

    apply("customers/update", profile("11", T0 + timedelta(hours=1), SG))  # moved away
    apply("customers/update", profile("11", T0 + timedelta(minutes=30), NYC))  # late: ignored
    assert places(session, shop, "11") == {("SG", None, "sg-singapore")}
    assert members(session, shop, "customer_cities CONTAINS 'SG-Singapore'") == {"11"}
    assert members(session, shop, "customer_cities CONTAINS 'US-NY-NewYork'") == set()
    assert members(session, shop, "customer_regions IS NULL") == {"11"}

    apply("customers/update", profile("11", T0 + timedelta(hours=2), None))
    assert places(session, shop, "11") == set()
    assert members(session, shop, "customer_countries IS NULL") == {"11"}


def test_city_values_match_shopifys_ascii_city_codes_and_the_spelling_with_accents(
    session: Session, shop: Shop, apply: Callable[..., Any]
) -> None:
    """Shopify writes a city code in ASCII camel case (`US-NY-NewYorkCity`); an address
    spelled `Kraków`, `Łódź` or `Winston-Salem` is found by its code and by its spelling."""
    lodz = {"country_code": "PL", "province_code": None, "city": "Łódź"}
    winston = {"country_code": "US", "province_code": "NC", "city": "Winston-Salem"}
    apply("customers/update", profile("14", T0, KRK, lodz, winston))
    assert places(session, shop, "14") == {
        ("PL", "PL-MA", "pl-ma-krakow"),
        ("PL", None, "pl-lodz"),
        ("US", "US-NC", "us-nc-winstonsalem"),
    }
    for value in ("PL-MA-Krakow", "PL-MA-Kraków", "pl-ma-KRAKÓW", "PL-Łódź", "PL-Lodz"):
        assert members(session, shop, f"customer_cities CONTAINS '{value}'") == {"14"}, value
    for value in ("US-NC-WinstonSalem", "US-NC-Winston-Salem", "US-NC-Winston Salem"):
        assert members(session, shop, f"customer_cities CONTAINS '{value}'") == {"14"}, value
    for value in ("PL-Krakow", "PL-MZ-Krakow", "PL-MA-Krak", "PL", "US-NC"):
        assert members(session, shop, f"customer_cities CONTAINS '{value}'") == set(), value


def order_of(order_id: str, default: dict[str, Any]) -> dict[str, Any]:
    """An order of customer 12, whose partial customer carries a default address."""
    payload = order_payload(order_id, customer="12", total="5.00", updated_at=T0)
    payload["customer"]["default_address"] = default
    return payload


def test_an_orders_customer_gets_its_default_address_only_while_it_has_none(
    session: Session, shop: Shop, apply: Callable[..., Any]
) -> None:
    apply("orders/create", order_of("501", KRK))
    assert places(session, shop, "12") == {("PL", "PL-MA", "pl-ma-krakow")}

    apply("customers/update", profile("12", T0, LA, NYC))
    apply("orders/create", order_of("502", SG))
    assert places(session, shop, "12") == {
        ("US", "US-CA", "us-ca-losangeles"),
        ("US", "US-NY", "us-ny-newyork"),
    }


def test_an_address_change_moves_the_customer_in_real_time(
    runtime: Runtime, settings: Settings
) -> None:
    domain = "places.myshopify.com"
    shop_id = installed(runtime, settings, domain, T0)
    with runtime.sessions.begin() as session:
        rule = "customer_cities CONTAINS 'US-CA-LosAngeles'"
        segment = create_segment(session, shop_id, "Angelenos", rule, now=T0).id
    sweep_shop(runtime, shop_id, T0 + timedelta(hours=1))

    def update(hours: int, *addresses: dict[str, Any]) -> None:
        when = T0 + timedelta(hours=hours)
        payload = profile("13", when, addresses[0], *addresses[1:])
        deliver(runtime, domain, payload, topic="customers/update", triggered_at=when)
        assert process_batch(runtime, now=when) == 1

    update(2, NYC, LA)  # Los Angeles is a second address, not the default
    update(3, NYC)
    with runtime.sessions() as session:
        thirteen = customer_id(session, shop_id, "13")
        # entered by the first delivery (reason `initial`: a customer first seen with no
        # recent activity is history), left by the second
        assert stays(session, segment, thirteen) == [
            (T0 + timedelta(hours=2), T0 + timedelta(hours=3), "initial", "realtime")
        ]
