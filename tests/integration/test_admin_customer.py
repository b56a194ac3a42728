"""The customer page and its API: metrics, RFM, segment stays with reasons, and the
timeline merged from orders, checkouts, consent, segment changes, tag pushes and trigger
firings, newest first and paged in the database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from plugin.db import utcnow
from plugin.outbox.models import DEAD, DONE, TAGS, OutboxItem
from plugin.profiles.customers import find_customer
from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from plugin.triggers.models import TriggerFiring
from tests.support.admin import SeededShop, sign_in

CUSTOMER = "1003"  # First3 Last3: three orders of 10.00


@pytest.fixture
def csrf(admin_client: FlaskClient, admin_shop: SeededShop) -> str:
    return sign_in(admin_client, admin_shop.runtime, admin_shop.shop_id)


def add_activity(runtime: Runtime, shop_id: int, platform_id: str) -> None:
    """A tag push, a failed tag push, a skipped trigger and a consent change, after
    everything the seeding did (its sweep pushed tags and entered segments)."""
    later = utcnow() + timedelta(days=1)
    with runtime.sessions.begin() as session:
        customer = find_customer(session, shop_id, platform_id)
        assert customer is not None
        session.add_all(
            [
                OutboxItem(
                    shop_id=shop_id, kind=TAGS, customer_id=customer.id, why="loyal-fans",
                    state=DONE, created_at=later - timedelta(minutes=30),
                    done_at=later - timedelta(minutes=29),
                    result={"added": ["seg:loyal-fans"], "removed": ["seg:new"]},
                ),
                OutboxItem(
                    shop_id=shop_id, kind=TAGS, customer_id=customer.id, why="vip",
                    state=DEAD, created_at=later - timedelta(minutes=10),
                    last_error="tag limit reached",
                ),
                TriggerFiring(
                    shop_id=shop_id, name="welcome", trigger_id="t-1", dedupe_key="welcome:1",
                    customer_id=customer.id, state="skipped", due_at=later,
                    updated_at=later - timedelta(minutes=5), why="new customer",
                    detail="no email marketing consent (unsubscribed)",
                ),
            ]
        )  # fmt: skip
        session.execute(
            update(Customer)
            .where(Customer.id == customer.id)
            .values(
                email_marketing_state="UNSUBSCRIBED",
                email_consent_updated_at=later - timedelta(hours=1),
            )
        )


def test_the_customer_page_shows_metrics_rfm_and_segments_with_why(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    response = admin_client.get(f"/admin/customers/{CUSTOMER}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<h1 id="customer-name">First3 Last3</h1>' in page
    assert "$30.00" in page  # three orders of 10.00
    loyal = re.search(r'<tr data-segment="loyal-fans" class="current">(.*?)</tr>', page, re.S)
    assert loyal is not None
    assert "number_of_orders &gt;= 2" in loyal.group(1)  # the rule is the why
    assert "rule was created or changed" in loyal.group(1)  # the recorded reason
    rfm = re.search(r'<div class="card" id="rfm">(.*?)</div>', page, re.S)
    # Everyone's last order was yesterday (a tie: R 1); three orders rank high in F and M.
    assert rfm is not None and "R 1 · F 4 · M 4" in rfm.group(1) and "At risk" in rfm.group(1)
    assert re.search(r'<tr data-segment="rfm-at-risk" class="current">', page)  # agrees
    # Shopify's own group and spend tier beside ours: none imported for this shop yet
    shopify = re.search(r'<div class="card" id="shopify-rfm">(.*?)</div>', page, re.S)
    assert shopify is not None and shopify.group(1).count("Not imported") == 2
    assert admin_client.get("/admin/customers/424242").status_code == 404


def test_the_timeline_merges_every_source_newest_first(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    add_activity(admin_shop.runtime, admin_shop.shop_id, CUSTOMER)
    page = admin_client.get(f"/admin/customers/{CUSTOMER}").get_data(as_text=True)
    kinds = re.findall(r'<li data-kind="(\w+)">', page)
    assert kinds[:4] == ["trigger", "tags", "tags", "consent"]  # 5, 10, 29 min, 1 h ago
    assert set(kinds) == {"trigger", "tags", "consent", "segment", "order"}
    assert kinds.count("order") == 3
    assert "+seg:loyal-fans" in page and "-seg:new" in page
    assert "tag limit reached" in page and "no email marketing consent" in page


def test_the_timeline_api_pages_in_the_database(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    add_activity(admin_shop.runtime, admin_shop.shop_id, CUSTOMER)
    url = f"/api/customers/{CUSTOMER}/timeline"
    first = admin_client.get(url, query_string={"per_page": 3}).get_json()
    everything = admin_client.get(url, query_string={"per_page": 100}).get_json()
    pushes = [e for e in everything["items"] if e["kind"] == "tags"]
    assert [p["state"] for p in pushes] == ["dead", "done", "pending"]  # + the sweep's
    assert pushes[1]["added"] == ["seg:loyal-fans"] and pushes[1]["removed"] == ["seg:new"]
    assert first["total"] == everything["total"] == len(everything["items"])
    assert first["pages"] == -(-first["total"] // 3)
    times = [e["at"] for e in everything["items"]]
    assert times == sorted(times, reverse=True)
    last = admin_client.get(url, query_string={"per_page": 3, "page": first["pages"]}).get_json()
    assert last["items"] == everything["items"][(first["pages"] - 1) * 3 :]
    assert admin_client.get(url, query_string={"per_page": 500}).status_code == 400
    assert admin_client.get("/api/customers/424242/timeline").status_code == 404


def test_the_timeline_partial_loads_the_next_page(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    add_activity(admin_shop.runtime, admin_shop.shop_id, CUSTOMER)
    whole = admin_client.get(f"/admin/customers/{CUSTOMER}/timeline").get_data(as_text=True)
    assert "<html" not in whole and len(re.findall("<li data-kind", whole)) > 5
    beyond = admin_client.get(f"/admin/customers/{CUSTOMER}/timeline", query_string={"page": 9})
    assert "Nothing happened yet." in beyond.get_data(as_text=True)


def test_the_customer_api_carries_rfm(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    data = admin_client.get(f"/api/customers/{CUSTOMER}").get_json()
    assert data["rfm"] == {
        "r": 1,
        "f": 4,
        "m": 4,
        "group": "at_risk",
        "shopify_group": None,  # this shop was not imported from Shopify
        "shopify_spend_tier": None,
    }


def test_members_lists_link_to_the_customer_page(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    members = admin_client.get("/admin/segments/loyal-fans/members").get_data(as_text=True)
    assert f'href="/admin/customers/{CUSTOMER}"' in members
    preview = admin_client.post(
        "/admin/segments/_preview", data={"query": "number_of_orders = 3", "csrf_token": csrf}
    ).get_data(as_text=True)
    assert f'href="/admin/customers/{CUSTOMER}"' in preview


def test_the_customer_page_shows_shopifys_rfm_group_beside_ours(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    def imported(group: str | None, tier: str | None) -> None:
        with admin_shop.runtime.sessions.begin() as session:
            session.execute(
                update(Customer)
                .where(Customer.shop_id == admin_shop.shop_id, Customer.platform_id == CUSTOMER)
                .values(platform_rfm_group=group, predicted_spend_tier=tier)
            )

    imported("CHAMPIONS", "MEDIUM")
    try:
        page = admin_client.get(f"/admin/customers/{CUSTOMER}").get_data(as_text=True)
        data = admin_client.get(f"/api/customers/{CUSTOMER}").get_json()
    finally:  # the seeded shop is shared by this module's tests
        imported(None, None)
    ours = re.search(r'<div class="card" id="rfm">(.*?)</div>', page, re.S)
    shopify = re.search(r'<div class="card" id="shopify-rfm">(.*?)</div>', page, re.S)
    assert ours is not None and "At risk" in ours.group(1)  # ours: unchanged
    assert shopify is not None and "Champions" in shopify.group(1)
    assert "Medium" in shopify.group(1)
    assert (data["rfm"]["shopify_group"], data["rfm"]["shopify_spend_tier"]) == (
        "champions",
        "medium",
    )
