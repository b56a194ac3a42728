"""Admin tab test helpers: shops seeded with named customers, and signed-in clients.

    def test_x(admin_shop, admin_client) -> None:
        csrf = sign_in(admin_client, admin_shop.runtime, admin_shop.shop_id)
        admin_client.post("/admin/segments", data={"csrf_token": csrf, ...})

- `seed_shop(runtime, domain, people, now=NOW)`: an installed shop whose customers (id,
  first name, last name, number of orders of 10.00 each) arrive as webhook payloads
  through the adapter and handlers, then one sweep (the built-ins and any segments
  given as `segments={name: query}` get their members). Returns a `SeededShop`.
- `sign_in(client, runtime, shop_id)`: spends a fresh admin link on `client`; returns
  the session's CSRF token.
- Fixtures: `admin_app` (the app on the `runtime` fixture), `admin_client` and
  `admin_shop` (shop "alpha" with 30 customers and a custom segment "Loyal fans").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin.app import create_app
from plugin.db import utcnow
from plugin.runtime import Runtime
from plugin.segments.builtins import ensure_builtin_segments
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.services import create_segment
from plugin.shops.admin_links import issue_admin_link
from plugin.shops.models import Shop
from tests.support.profiles import apply_payload, customer_payload, make_shop, order_payload

NOW = utcnow().replace(microsecond=0)
Person = tuple[str, str, str, int]  # customer id, first name, last name, orders
LOYAL_QUERY = "number_of_orders >= 2"


@dataclass(frozen=True)
class SeededShop:
    runtime: Runtime
    shop_id: int
    domain: str


def people(count: int, start: int = 1) -> list[Person]:
    """Customers c<start>…: order counts cycle 0, 1, 2, 3."""
    return [(str(1000 + n), f"First{n}", f"Last{n}", n % 4) for n in range(start, start + count)]


def _apply_person(runtime: Runtime, shop: Shop, person: Person, now: datetime) -> None:
    customer_id, first, last, orders = person
    with runtime.sessions() as session:
        created = now - timedelta(days=60)
        payload = customer_payload(
            customer_id,
            updated_at=created,
            email=f"{first.lower()}@example.com",
            first_name=first,
            last_name=last,
        )
        apply_payload(
            session, shop, "customers/create", payload, settings=runtime.settings, now=created
        )
        for n in range(orders):
            when = now - timedelta(days=n + 1)
            order = order_payload(
                f"{customer_id}{n:03d}", customer=customer_id, total="10.00", updated_at=when
            )
            apply_payload(
                session, shop, "orders/create", order, settings=runtime.settings, now=when
            )


def seed_shop(
    runtime: Runtime,
    domain: str,
    customers: list[Person],
    *,
    segments: dict[str, str] | None = None,
    now: datetime = NOW,
) -> SeededShop:
    with runtime.sessions() as session:
        shop = make_shop(session, domain)
        session.expunge(shop)
    for person in customers:
        _apply_person(runtime, shop, person, now)
    with runtime.sessions.begin() as session:
        ensure_builtin_segments(session, shop.id, now)
        for name, query in (segments or {}).items():
            create_segment(session, shop.id, name, query, now=now)
    sweep_shop(runtime, shop.id, now)
    return SeededShop(runtime, shop.id, domain)


def sign_in(client: FlaskClient, runtime: Runtime, shop_id: int) -> str:
    with runtime.sessions.begin() as session:
        token = issue_admin_link(session, shop_id, runtime.settings.secret_key, utcnow())
    response = client.get("/admin/login", query_string={"token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert urlsplit(response.headers["Location"]).path == "/admin"
    with client.session_transaction() as session:
        return str(session["admin_csrf"])


@pytest.fixture
def admin_app(runtime: Runtime) -> Flask:
    return create_app(runtime)


@pytest.fixture
def admin_client(admin_app: Flask) -> Iterator[FlaskClient]:
    with admin_app.test_client() as client:
        yield client


@pytest.fixture
def admin_shop(runtime: Runtime) -> SeededShop:
    return seed_shop(
        runtime, "alpha.myshopify.com", people(30), segments={"Loyal fans": LOYAL_QUERY}
    )


__all__ = ["NOW", "UTC", "SeededShop", "people", "seed_shop", "sign_in"]
