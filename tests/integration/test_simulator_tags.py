"""Customer tags, consent and Flow triggers on the simulated Shopify, through the app's client."""

from __future__ import annotations

import json

import pytest

from plugin.platforms.shopify.client import UserErrors
from plugin.platforms.shopify.documents import (
    CUSTOMER_TAGS_ADD,
    CUSTOMER_TAGS_REMOVE,
    CUSTOMER_TAGS_SYNC,
    CUSTOMERS_TAGS_AND_CONSENT,
    FLOW_TRIGGER_RECEIVE,
    WEBHOOK_SUBSCRIPTION_CREATE,
)
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.platforms.shopify.webhook_signature import webhook_hmac
from tests.conftest import TEST_API_SECRET
from tests.support.simulator import WebhookReceiver, admin_client

SHOP = "tags-shop.myshopify.com"
ALICE = "gid://shopify/Customer/1"


def tags_of(simulator: SimulatorHandle, customer_id: int = 1) -> list[str]:
    return simulator.state.customer_tags(SHOP, customer_id)


def test_adding_and_removing_twice_changes_tags_once_and_keeps_the_merchants_own(
    simulator: SimulatorHandle,
) -> None:
    simulator.state.add_customer(SHOP, 1, tags=["VIP", "wholesale"])
    client = admin_client(simulator, SHOP)
    for _ in range(2):
        client.execute(CUSTOMER_TAGS_ADD, {"id": ALICE, "tags": ["seg:loyal", "seg:big"]})
    assert tags_of(simulator) == ["VIP", "wholesale", "seg:loyal", "seg:big"]
    for _ in range(2):
        client.execute(CUSTOMER_TAGS_REMOVE, {"id": ALICE, "tags": ["seg:loyal", "seg:never"]})
    assert tags_of(simulator) == ["VIP", "wholesale", "seg:big"]
    assert simulator.state.tag_log == [
        (SHOP, "1", "add", "seg:loyal"),
        (SHOP, "1", "add", "seg:big"),
        (SHOP, "1", "remove", "seg:loyal"),
    ]


def test_tags_are_split_on_commas_and_compared_ignoring_case(simulator: SimulatorHandle) -> None:
    simulator.state.add_customer(SHOP, 1, tags=["vip"])
    client = admin_client(simulator, SHOP)
    answer = client.execute(CUSTOMER_TAGS_ADD, {"id": ALICE, "tags": ["VIP, seg:a ,", "seg:b"]})
    assert answer["tagsAdd"]["node"] == {"id": ALICE, "tags": ["vip", "seg:a", "seg:b"]}
    client.execute(CUSTOMER_TAGS_REMOVE, {"id": ALICE, "tags": ["SEG:A"]})
    assert tags_of(simulator) == ["vip", "seg:b"]


def test_sync_removes_first_so_a_customer_at_the_limit_can_swap_a_tag(
    simulator: SimulatorHandle,
) -> None:
    own = [f"own-{n}" for n in range(249)]
    simulator.state.add_customer(SHOP, 1, tags=[*own, "seg:old"])
    client = admin_client(simulator, SHOP)
    answer = client.execute(
        CUSTOMER_TAGS_SYNC, {"id": ALICE, "add": ["seg:new"], "remove": ["seg:old"]}
    )
    assert answer["added"]["userErrors"] == [] and answer["removed"]["userErrors"] == []
    assert tags_of(simulator) == [*own, "seg:new"]


def test_more_than_250_tags_is_refused_and_changes_nothing(simulator: SimulatorHandle) -> None:
    own = [f"own-{n}" for n in range(249)]
    simulator.state.add_customer(SHOP, 1, tags=own)
    client = admin_client(simulator, SHOP)
    with pytest.raises(UserErrors) as info:
        client.execute(CUSTOMER_TAGS_ADD, {"id": ALICE, "tags": ["seg:a", "seg:b"]})
    assert not info.value.transient and "250" in info.value.messages[0]
    assert tags_of(simulator) == own and simulator.state.tag_log == []
    client.execute(CUSTOMER_TAGS_ADD, {"id": ALICE, "tags": ["seg:a", "own-1"]})
    assert len(tags_of(simulator)) == 250


def test_a_tag_over_255_characters_is_refused(simulator: SimulatorHandle) -> None:
    simulator.state.add_customer(SHOP, 1)
    client = admin_client(simulator, SHOP)
    with pytest.raises(UserErrors) as info:
        client.execute(CUSTOMER_TAGS_ADD, {"id": ALICE, "tags": ["ok", "x" * 256]})
    assert "255" in info.value.messages[0] and tags_of(simulator) == []
    client.execute(CUSTOMER_TAGS_ADD, {"id": ALICE, "tags": ["x" * 255]})
    assert tags_of(simulator) == ["x" * 255]


def test_an_unknown_customer_is_a_user_error(simulator: SimulatorHandle) -> None:
    client = admin_client(simulator, SHOP)
    with pytest.raises(UserErrors, match="Customer does not exist"):
        client.execute(CUSTOMER_TAGS_ADD, {"id": "gid://shopify/Customer/404", "tags": ["a"]})


def test_tags_and_consent_are_read_by_id(simulator: SimulatorHandle) -> None:
    state = simulator.state
    state.add_customer(SHOP, 1, email="a@x.test", tags=["vip"], email_marketing_state="SUBSCRIBED")
    state.add_customer(SHOP, 2, email="b@x.test", email_marketing_state="UNSUBSCRIBED")
    state.add_customer(SHOP, 3)
    state.add_customer("other.myshopify.com", 4, email="d@x.test")
    ids = [f"gid://shopify/Customer/{n}" for n in (1, 2, 3, 4)]
    nodes = admin_client(simulator, SHOP).execute(CUSTOMERS_TAGS_AND_CONSENT, {"ids": ids})["nodes"]
    assert nodes == [
        {
            "id": ids[0],
            "tags": ["vip"],
            "defaultEmailAddress": {"emailAddress": "a@x.test", "marketingState": "SUBSCRIBED"},
        },
        {
            "id": ids[1],
            "tags": [],
            "defaultEmailAddress": {"emailAddress": "b@x.test", "marketingState": "UNSUBSCRIBED"},
        },
        {"id": ids[2], "tags": [], "defaultEmailAddress": None},
        None,  # another shop's customer
    ]


def test_a_flow_trigger_is_recorded_with_its_payload(simulator: SimulatorHandle) -> None:
    client = admin_client(simulator, SHOP)
    payload = {"trigger_id": "t-1", "customer_id": 1, "Cart value": 12.5}
    client.execute(FLOW_TRIGGER_RECEIVE, {"handle": "cart-abandoned", "payload": payload})
    [fired] = simulator.state.flow_triggers
    assert (fired["shop"], fired["handle"], fired["payload"]) == (SHOP, "cart-abandoned", payload)


def test_a_flow_trigger_with_an_unknown_handle_is_refused(simulator: SimulatorHandle) -> None:
    simulator.state.switches.flow_handles = {"cart-abandoned"}
    client = admin_client(simulator, SHOP)
    with pytest.raises(UserErrors, match="handle"):
        client.execute(FLOW_TRIGGER_RECEIVE, {"handle": "nope", "payload": {"a": 1}})
    assert simulator.state.flow_triggers == []


def test_tag_changes_reach_subscribed_addresses_as_signed_webhooks(
    simulator: SimulatorHandle, webhook_receiver: WebhookReceiver
) -> None:
    simulator.state.add_customer(SHOP, 1)
    client = admin_client(simulator, SHOP)
    client.execute(
        WEBHOOK_SUBSCRIPTION_CREATE, {"topic": "CUSTOMER_TAGS_ADDED", "uri": webhook_receiver.url}
    )
    client.execute(CUSTOMER_TAGS_ADD, {"id": ALICE, "tags": ["seg:a"]})
    client.execute(CUSTOMER_TAGS_ADD, {"id": ALICE, "tags": ["seg:a"]})  # no change: no echo
    client.execute(CUSTOMER_TAGS_REMOVE, {"id": ALICE, "tags": ["seg:a"]})  # not subscribed
    assert simulator.wait_for_webhooks()
    [delivery] = webhook_receiver.received
    headers = delivery.headers
    assert headers["X-Shopify-Hmac-Sha256"] == webhook_hmac(TEST_API_SECRET, delivery.body)
    assert (headers["X-Shopify-Topic"], headers["X-Shopify-Shop-Domain"]) == (
        "customer.tags_added",
        SHOP,
    )
    body = json.loads(delivery.body)
    assert (body["customerId"], body["tags"]) == (ALICE, ["seg:a"])


def test_the_handle_sends_a_signed_webhook_to_any_address(
    simulator: SimulatorHandle, webhook_receiver: WebhookReceiver
) -> None:
    [sent] = simulator.send_webhook(SHOP, "orders/create", {"id": 7}, webhook_receiver.url)
    [delivery] = webhook_receiver.wait_for(1)
    assert sent.status == 200 and simulator.state.webhook_deliveries == [sent]
    assert delivery.headers["X-Shopify-Hmac-Sha256"] == webhook_hmac(TEST_API_SECRET, delivery.body)
    assert json.loads(delivery.body) == {"id": 7}


def test_a_merchants_edit_by_hand_is_logged_and_sent_like_shopify_would(
    simulator: SimulatorHandle, webhook_receiver: WebhookReceiver
) -> None:
    simulator.state.add_customer(SHOP, 1, tags=["seg:big"])
    simulator.state.add_subscription(SHOP, "CUSTOMER_TAGS_REMOVED", webhook_receiver.url)
    simulator.edit_tags(SHOP, 1, add=["hand-made"], remove=["seg:big", "absent"])
    assert tags_of(simulator) == ["hand-made"]
    assert simulator.state.tag_log == [
        (SHOP, "1", "remove", "seg:big"),
        (SHOP, "1", "add", "hand-made"),
    ]
    [delivery] = webhook_receiver.received  # sent before edit_tags returned
    assert delivery.headers["X-Shopify-Topic"] == "customer.tags_removed"
    assert json.loads(delivery.body)["tags"] == ["seg:big"]
    with pytest.raises(ValueError, match="255"):
        simulator.edit_tags(SHOP, 1, add=["x" * 256])
