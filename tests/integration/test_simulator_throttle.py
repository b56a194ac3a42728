"""Cost-based throttling and injected faults of the simulated Shopify, seen by the app's client."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from plugin.errors import PlatformError
from plugin.platforms.shopify.client import Throttled
from plugin.platforms.shopify.documents import (
    CUSTOMER_TAGS_ADD,
    CUSTOMERS_TAGS_AND_CONSENT,
    SHOP_INFO,
)
from plugin.platforms.shopify.simulator import SimulatorHandle
from tests.support.simulator import admin_client

SHOP = "busy-shop.myshopify.com"
ALICE = "gid://shopify/Customer/1"


def graphql(simulator: SimulatorHandle, query: str) -> requests.Response:
    token = simulator.state.issue_custom_token(SHOP)
    url = simulator.shop_url(SHOP) + "/admin/api/2026-01/graphql.json"
    return requests.post(url, json={"query": query}, headers={"X-Shopify-Access-Token": token})


def test_every_answer_carries_its_cost_and_the_throttle_status(simulator: SimulatorHandle) -> None:
    simulator.state.add_customer(SHOP, 1)
    client = admin_client(simulator, SHOP)
    client.execute(SHOP_INFO)
    first = client.last_cost
    assert first is not None and (first.maximum, first.restore_rate) == (2000.0, 100.0)
    # One point each: shop, currentAppInstallation, and its accessScopes and
    # activeSubscriptions lists (no size given).
    assert first.requested == first.actual == 4
    client.execute(CUSTOMER_TAGS_ADD, {"id": ALICE, "tags": ["a"]})
    assert client.last_cost is not None and client.last_cost.requested == 10
    assert client.last_cost.available < first.available
    refused = graphql(simulator, "{ shop { nope } }").json()
    assert refused["errors"] and refused["extensions"]["cost"]["throttleStatus"]


def test_requested_cost_follows_page_size_and_actual_cost_what_came_back(
    simulator: SimulatorHandle,
) -> None:
    for n in (1, 2, 3):
        simulator.state.add_customer(SHOP, n)
    answer = graphql(simulator, "{ customers(first: 50) { edges { node { id tags } } } }").json()
    cost = answer["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (52, 5)
    ids = [f"gid://shopify/Customer/{n}" for n in (1, 2, 9)]
    client = admin_client(simulator, SHOP)
    client.execute(CUSTOMERS_TAGS_AND_CONSENT, {"ids": ids})
    # Per customer: the object and its defaultEmailAddress; none of them has an email.
    assert client.last_cost is not None
    assert (client.last_cost.requested, client.last_cost.actual) == (6, 2)


def test_a_document_over_the_single_query_limit_is_refused_before_it_runs(
    simulator: SimulatorHandle,
) -> None:
    ids = [f"gid://shopify/Customer/{n}" for n in range(600)]
    client = admin_client(simulator, SHOP)
    with pytest.raises(PlatformError, match="max cost") as info:
        client.execute(CUSTOMERS_TAGS_AND_CONSENT, {"ids": ids})
    assert not info.value.transient


def test_a_burst_beyond_the_bucket_is_throttled_and_the_bucket_restores(
    simulator: SimulatorHandle,
) -> None:
    switches = simulator.state.switches
    switches.bucket_size, switches.restore_rate = 50, 10
    simulator.state.add_customer(SHOP, 1)
    client = admin_client(simulator, SHOP)
    applied = 0
    with pytest.raises(Throttled) as info:
        for n in range(20):
            client.execute(CUSTOMER_TAGS_ADD, {"id": ALICE, "tags": [f"t{n}"]})
            applied += 1
    assert 5 <= applied < 10  # 50 points, plus what restored while the burst ran
    throttled = info.value
    cost = throttled.cost
    assert throttled.transient and cost is not None and cost.actual is None
    assert cost.available < cost.requested == 10
    assert throttled.wait_seconds == pytest.approx((10 - cost.available) / 10)
    assert throttled.retry_after == throttled.wait_seconds > 0
    assert simulator.state.throttled_count[SHOP] == 1
    assert len(simulator.state.tag_log) == applied  # the throttled call changed nothing
    time.sleep(throttled.wait_seconds + 0.1)
    client.execute(CUSTOMER_TAGS_ADD, {"id": ALICE, "tags": ["after"]})  # enough points again
    assert client.last_cost is not None
    before = client.last_cost.available
    time.sleep(0.5)  # restores 5 points
    client.execute(SHOP_INFO)  # costs 3
    assert client.last_cost is not None and client.last_cost.available >= before + 1


def test_the_throttle_switch_forces_throttled_answers(simulator: SimulatorHandle) -> None:
    simulator.state.switches.throttle_graphql = 2
    client = admin_client(simulator, SHOP)
    for _ in range(2):
        with pytest.raises(Throttled):
            client.execute(SHOP_INFO)
    assert client.execute(SHOP_INFO)["shop"]
    assert simulator.state.throttled_count[SHOP] == 2


def outcomes(simulator: SimulatorHandle, count: int) -> list[int]:
    client = admin_client(simulator, SHOP)
    seen = []
    for _ in range(count):
        try:
            client.execute(SHOP_INFO)
            seen.append(200)
        except PlatformError as exc:
            seen.append(exc.status_code or 0)
    return seen


def test_fault_shares_follow_the_settings_and_repeat_with_the_seed(
    simulator: SimulatorHandle,
) -> None:
    switches = simulator.state.switches
    switches.seed, switches.error_rate, switches.rate_limit_rate = 7, 0.3, 0.1
    first = outcomes(simulator, 300)
    shares = Counter(first)
    assert 60 <= shares[503] <= 120 and 15 <= shares[429] <= 45
    assert shares[200] + shares[503] + shares[429] == 300
    simulator.state.reset_faults()
    assert outcomes(simulator, 300) == first


def test_retry_after_is_sent_with_429_and_5xx(simulator: SimulatorHandle) -> None:
    switches = simulator.state.switches
    switches.rate_limit_rate, switches.retry_after = 1.0, 2.5
    client = admin_client(simulator, SHOP)
    with pytest.raises(PlatformError) as info:
        client.execute(SHOP_INFO)
    assert (info.value.status_code, info.value.retry_after, info.value.transient) == (
        429,
        2.5,
        True,
    )
    switches.rate_limit_rate, switches.graphql_status = 0.0, 503
    with pytest.raises(PlatformError) as info:
        client.execute(SHOP_INFO)
    assert (info.value.status_code, info.value.retry_after) == (503, 2.5)


@pytest.mark.parametrize("after_execute", [True, False])
def test_a_timeout_leaves_the_client_waiting_in_vain_whether_or_not_the_change_ran(
    simulator: SimulatorHandle, after_execute: bool
) -> None:
    switches = simulator.state.switches
    switches.timeout_rate, switches.timeout_delay = 1.0, 0.6
    switches.timeout_after_execute = after_execute
    simulator.state.add_customer(SHOP, 1)
    client = admin_client(simulator, SHOP, timeout=(2, 0.2))
    with pytest.raises(PlatformError, match="Timeout") as info:
        client.execute(CUSTOMER_TAGS_ADD, {"id": ALICE, "tags": ["seg:a"]})
    assert info.value.transient
    time.sleep(0.6)  # the server finishes its late answer
    applied = simulator.state.customer_tags(SHOP, 1) == ["seg:a"]
    assert applied is after_execute
