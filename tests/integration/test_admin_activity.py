"""The Activity page and /api/activity: pushes with their result, paged; failures and dead
deliveries with a retry (the same services as `shopseg outbox retry` / `inbox retry-dead`)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.db import utcnow
from plugin.inbox.models import DEAD as INBOX_DEAD
from plugin.inbox.models import PENDING as INBOX_PENDING
from plugin.inbox.models import InboxRow
from plugin.outbox.models import DEAD, DONE, PENDING, TAGS, OutboxItem
from plugin.profiles.customers import find_customer
from plugin.triggers.models import TriggerFiring
from tests.support.admin import SeededShop, sign_in


@pytest.fixture
def csrf(admin_client: FlaskClient, admin_shop: SeededShop) -> str:
    return sign_in(admin_client, admin_shop.runtime, admin_shop.shop_id)


@pytest.fixture
def failures(admin_shop: SeededShop) -> tuple[int, int, int]:
    """Two dead tag pushes and a done one, a dead delivery and a skipped trigger; returns
    the ids of the dead pushes and of the dead delivery."""
    later = utcnow() + timedelta(hours=1)  # after everything the seeding pushed
    with admin_shop.runtime.sessions.begin() as session:
        customer = find_customer(session, admin_shop.shop_id, "1003")
        assert customer is not None
        rows = [
            OutboxItem(
                shop_id=admin_shop.shop_id, kind=TAGS, customer_id=customer.id, why=why,
                state=state, created_at=later + timedelta(minutes=n), last_error=error,
                result={"added": ["seg:vip"]} if state == DONE else None,
            )
            for n, (why, state, error) in enumerate(
                [("vip", DONE, None), ("loyal-fans", DEAD, "tag refused"),
                 ("regular", DEAD, "customer not found")]
            )
        ]  # fmt: skip
        delivery = InboxRow(
            platform="shopify", shop_domain=admin_shop.domain, shop_id=admin_shop.shop_id,
            topic="orders/create", webhook_id="w-dead", headers={}, status=INBOX_DEAD,
            attempts=8, last_error="payload is not an order",
        )  # fmt: skip
        firing = TriggerFiring(
            shop_id=admin_shop.shop_id, name="welcome", trigger_id="t1", dedupe_key="t1",
            customer_id=customer.id, state="skipped", due_at=later,
            detail="the customer has no email address",
        )  # fmt: skip
        session.add_all([*rows, delivery, firing])
        session.flush()
        return rows[1].id, rows[2].id, delivery.id


def states(shop: SeededShop) -> tuple[dict[int, str], dict[int, str]]:
    with shop.runtime.sessions() as session:
        pushes = dict(session.execute(select(OutboxItem.id, OutboxItem.state)).tuples().all())
        deliveries = dict(session.execute(select(InboxRow.id, InboxRow.status)).tuples().all())
    return pushes, deliveries


def test_the_page_shows_pushes_decisions_and_dead_deliveries(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str, failures: tuple[int, int, int]
) -> None:
    first, second, delivery = failures
    page = admin_client.get("/admin/activity").get_data(as_text=True)
    assert "customer 1003: +seg:vip" in page
    assert re.search(
        rf'<tr data-outbox="{second}" data-state="dead">.*?customer not found', page, re.S
    )
    assert f'<input type="hidden" name="id" value="{first}">' in page  # its retry button
    assert re.search(rf'<tr data-delivery="{delivery}">.*?payload is not an order', page, re.S)
    assert "the customer has no email address" in page
    assert 'href="/admin/activity"' in page  # in the navigation
    failed = admin_client.get("/admin/activity", query_string={"failed": "1"}).get_data(
        as_text=True
    )
    assert re.findall(r'data-state="(\w+)"', failed) == ["dead", "dead"]


def test_retry_one_failed_push_then_all(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str, failures: tuple[int, int, int]
) -> None:
    first, second, _ = failures
    one = admin_client.post("/admin/activity/outbox/retry", data={"csrf_token": csrf, "id": first})
    assert one.status_code == 303
    pushes, _ = states(admin_shop)
    assert (pushes[first], pushes[second]) == (PENDING, DEAD)
    admin_client.post("/admin/activity/outbox/retry", data={"csrf_token": csrf})
    assert states(admin_shop)[0][second] == PENDING
    bad = admin_client.post("/admin/activity/outbox/retry", data={"csrf_token": csrf, "id": "x"})
    assert bad.status_code == 400


def test_retry_a_dead_delivery(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str, failures: tuple[int, int, int]
) -> None:
    delivery = failures[2]
    response = admin_client.post(
        "/admin/activity/inbox/retry", data={"csrf_token": csrf, "id": delivery}
    )
    assert response.status_code == 303 and states(admin_shop)[1][delivery] == INBOX_PENDING


def test_the_api_pages_and_retries(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str, failures: tuple[int, int, int]
) -> None:
    first, second, delivery = failures
    data = admin_client.get("/api/activity", query_string={"per_page": 2}).get_json()
    assert [i["id"] for i in data["items"]] == [second, first]  # newest first
    assert data["total"] > 3 and data["pages"] == -(-data["total"] // 2)
    assert data["skipped"][0]["reason"] == "the customer has no email address"
    assert data["dead_deliveries"][0]["id"] == delivery and data["dead_total"] == 1
    failed = admin_client.get("/api/activity", query_string={"failed": "true"}).get_json()
    assert failed["total"] == 2
    headers = {"X-CSRF-Token": csrf}
    retried = admin_client.post(
        "/api/activity/outbox/retry", json={"ids": [second]}, headers=headers
    )
    assert retried.get_json() == {"retried": 1} and states(admin_shop)[0][first] == DEAD
    inbox = admin_client.post("/api/activity/inbox/retry", json={}, headers=headers)
    assert inbox.get_json() == {"retried": 1}
    bad = admin_client.post("/api/activity/outbox/retry", json={"ids": ["a"]}, headers=headers)
    assert bad.status_code == 400
