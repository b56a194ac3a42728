"""Staged uploads and bulk operations on the simulated Shopify, through the app's bulk module."""

from __future__ import annotations

import json
import time

import pytest
import requests

from plugin.platforms.shopify.bulk import (
    BulkInProgress,
    BulkStatus,
    bulk_status,
    failed_line_numbers,
    read_results,
    run_bulk_mutation,
    run_bulk_query,
    upload_jsonl,
)
from plugin.platforms.shopify.client import AdminClient, UserErrors
from plugin.platforms.shopify.documents import (
    BULK_CUSTOMERS_TAGS,
    BULK_TAGS_ADD,
    BULK_TAGS_REMOVE,
    CUSTOMER_TAGS_ADD,
    STAGED_UPLOADS_CREATE,
    WEBHOOK_SUBSCRIPTION_CREATE,
    Document,
)
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.platforms.shopify.webhook_signature import webhook_hmac
from tests.conftest import TEST_API_SECRET
from tests.support.simulator import WebhookReceiver, admin_client

SHOP = "bulk-shop.myshopify.com"
HTTP = requests.Session()


def gid(n: int) -> str:
    return f"gid://shopify/Customer/{n}"


def customers(simulator: SimulatorHandle, count: int, shop: str = SHOP) -> None:
    for n in range(1, count + 1):
        simulator.state.add_customer(shop, n, tags=["own"])


def wait_finished(client: AdminClient, op_id: str, timeout: float = 10.0) -> BulkStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = bulk_status(client, op_id)
        if status.finished or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def run(client: AdminClient, inner: Document, lines: list[dict[str, object]]) -> str:
    return run_bulk_mutation(client, inner, upload_jsonl(client, HTTP, lines))


def test_a_bulk_mutation_tags_every_line_and_a_failed_line_is_retried_alone(
    simulator: SimulatorHandle,
) -> None:
    customers(simulator, 5)
    simulator.state.switches.bulk_fail_lines = {2}
    client = admin_client(simulator, SHOP)
    op_id = run(client, BULK_TAGS_ADD, [{"id": gid(n), "tags": ["seg:bulk"]} for n in range(1, 6)])
    status = wait_finished(client, op_id)
    assert (status.status, status.error_code, status.object_count) == ("COMPLETED", None, 5)
    results = read_results(HTTP, status.url)
    assert [line["__lineNumber"] for line in results] == [0, 1, 2, 3, 4]
    assert results[0]["data"]["tagsAdd"] == {"node": {"id": gid(1)}, "userErrors": []}
    assert failed_line_numbers(results) == [2]
    assert simulator.state.customer_tags(SHOP, 3) == ["own"]  # the failed line changed nothing
    client.execute(CUSTOMER_TAGS_ADD, {"id": gid(3), "tags": ["seg:bulk"]})
    assert all(simulator.state.customer_tags(SHOP, n) == ["own", "seg:bulk"] for n in range(1, 6))
    added = sorted(c[1] for c in simulator.state.tag_log if c[2:] == ("add", "seg:bulk"))
    assert added == ["1", "2", "3", "4", "5"]  # each exactly once


def test_a_bulk_removal_runs_tags_remove_per_line(simulator: SimulatorHandle) -> None:
    customers(simulator, 2)
    client = admin_client(simulator, SHOP)
    op_id = run(client, BULK_TAGS_REMOVE, [{"id": gid(n), "tags": ["own"]} for n in (1, 2)])
    assert failed_line_numbers(read_results(HTTP, wait_finished(client, op_id).url)) == []
    assert simulator.state.customer_tags(SHOP, 1) == simulator.state.customer_tags(SHOP, 2) == []


def test_one_bulk_mutation_at_a_time_per_shop(simulator: SimulatorHandle) -> None:
    customers(simulator, 1)
    customers(simulator, 1, shop="other.myshopify.com")
    simulator.state.switches.bulk_delay = 0.4
    client = admin_client(simulator, SHOP)
    lines = [{"id": gid(1), "tags": ["seg:a"]}]
    first = run(client, BULK_TAGS_ADD, lines)
    with pytest.raises(BulkInProgress) as info:
        run(client, BULK_TAGS_ADD, lines)
    assert info.value.transient and first in info.value.detail
    other = admin_client(simulator, "other.myshopify.com")
    assert run(other, BULK_TAGS_ADD, lines)  # another shop is not held up
    wait_finished(client, first)
    assert wait_finished(client, run(client, BULK_TAGS_ADD, lines)).completed


BAD_ARGUMENT = 'mutation Bad($id: ID!) { tagsAdd(id: $id, tag: "x") { node { id } } }'
DEPRECATED = (
    "mutation Deprecated { webhookSubscriptionCreate(topic: ORDERS_CREATE, "
    'webhookSubscription: {callbackUrl: "https://a.test"}) { userErrors { message } } }'
)
NOT_TAGS = (
    "mutation Other($id: ID!) { customerDelete(input: {id: $id}) { userErrors { message } } }"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [(BAD_ARGUMENT, "Unknown argument"), (DEPRECATED, "deprecated"), (NOT_TAGS, "tagsAdd")],
)
def test_the_inner_mutation_is_checked_against_the_schema(
    simulator: SimulatorHandle, text: str, message: str
) -> None:
    customers(simulator, 1)
    client = admin_client(simulator, SHOP)
    with pytest.raises(UserErrors) as info:
        run(client, Document("Inner", text), [{"id": gid(1)}])
    [error] = info.value.errors
    assert error["code"] == "INVALID_MUTATION" and message in error["message"]
    assert simulator.state.bulk_operations == {}


def test_an_unknown_staged_path_is_refused(simulator: SimulatorHandle) -> None:
    client = admin_client(simulator, SHOP)
    with pytest.raises(UserErrors) as info:
        run_bulk_mutation(client, BULK_TAGS_ADD, "tmp/1/bulk/nothing/here.jsonl")
    assert info.value.errors[0]["code"] == "NO_SUCH_FILE"


def test_an_upload_without_the_signed_parameters_is_refused(simulator: SimulatorHandle) -> None:
    client = admin_client(simulator, SHOP)
    item = {
        "resource": "BULK_MUTATION_VARIABLES",
        "filename": "v.jsonl",
        "mimeType": "text/jsonl",
        "httpMethod": "POST",
    }
    [target] = client.execute(STAGED_UPLOADS_CREATE, {"input": [item]})["stagedUploadsCreate"][
        "stagedTargets"
    ]
    fields = {p["name"]: p["value"] for p in target["parameters"]}
    upload = {"file": ("v.jsonl", b'{"id": "x"}\n', "text/jsonl")}
    forged = {**fields, "key": fields["key"].replace("tmp/", "tmp/9")}
    assert HTTP.post(target["url"], data=forged, files=upload, timeout=5).status_code == 403
    assert (
        HTTP.post(target["url"], data={"key": fields["key"]}, files=upload, timeout=5).status_code
        == 403
    )
    assert HTTP.post(target["url"], data=fields, files=upload, timeout=5).status_code == 201
    assert simulator.state.uploads == {fields["key"]: b'{"id": "x"}\n'}


def test_a_bulk_query_reads_every_customers_tags(simulator: SimulatorHandle) -> None:
    customers(simulator, 3)
    simulator.state.add_customer(SHOP, 4, email="d@x.test", email_marketing_state="SUBSCRIBED")
    client = admin_client(simulator, SHOP)
    status = wait_finished(client, run_bulk_query(client, BULK_CUSTOMERS_TAGS))
    assert status.completed and status.object_count == 4
    results = read_results(HTTP, status.url)
    assert [(line["id"], line["tags"]) for line in results] == [
        (gid(1), ["own"]),
        (gid(2), ["own"]),
        (gid(3), ["own"]),
        (gid(4), []),
    ]
    assert results[3]["defaultEmailAddress"]["marketingState"] == "SUBSCRIBED"


def test_bulk_lines_do_not_drain_the_cost_bucket(simulator: SimulatorHandle) -> None:
    customers(simulator, 60)
    simulator.state.switches.bucket_size = 100
    simulator.state.switches.restore_rate = 1
    client = admin_client(simulator, SHOP)
    lines = [{"id": gid(n), "tags": ["seg:a"]} for n in range(1, 61)]
    assert wait_finished(client, run(client, BULK_TAGS_ADD, lines)).completed
    assert client.last_cost is not None and client.last_cost.available >= 60
    assert simulator.state.throttled_count[SHOP] == 0
    assert len(simulator.state.tag_log) == 60


def test_the_finish_webhook_arrives_signed_at_the_subscribed_address(
    simulator: SimulatorHandle, webhook_receiver: WebhookReceiver
) -> None:
    customers(simulator, 1)
    client = admin_client(simulator, SHOP)
    client.execute(
        WEBHOOK_SUBSCRIPTION_CREATE,
        {"topic": "BULK_OPERATIONS_FINISH", "uri": webhook_receiver.url},
    )
    op_id = run(client, BULK_TAGS_ADD, [{"id": gid(1), "tags": ["seg:a"]}])
    [delivery] = webhook_receiver.wait_for(1)
    assert delivery.headers["X-Shopify-Topic"] == "bulk_operations/finish"
    assert delivery.headers["X-Shopify-Hmac-Sha256"] == webhook_hmac(TEST_API_SECRET, delivery.body)
    payload = json.loads(delivery.body)
    assert (payload["admin_graphql_api_id"], payload["status"], payload["type"]) == (
        op_id,
        "completed",
        "mutation",
    )
    assert payload["error_code"] is None and bulk_status(client, op_id).completed


def test_tag_changes_of_a_bulk_run_are_echoed_once_each(
    simulator: SimulatorHandle, webhook_receiver: WebhookReceiver
) -> None:
    customers(simulator, 30)
    simulator.state.add_subscription(SHOP, "CUSTOMER_TAGS_ADDED", webhook_receiver.url)
    client = admin_client(simulator, SHOP)
    lines = [{"id": gid(n), "tags": ["seg:a", "own"]} for n in range(1, 31)]
    assert wait_finished(client, run(client, BULK_TAGS_ADD, lines)).completed
    assert simulator.wait_for_webhooks()
    echoed = [json.loads(d.body) for d in webhook_receiver.received]
    assert sorted(e["customerId"] for e in echoed) == sorted(gid(n) for n in range(1, 31))
    assert all(e["tags"] == ["seg:a"] for e in echoed)


def test_a_put_target_takes_the_raw_file(simulator: SimulatorHandle) -> None:
    client = admin_client(simulator, SHOP)
    item = {
        "resource": "BULK_MUTATION_VARIABLES",
        "filename": "v.jsonl",
        "mimeType": "text/jsonl",
        "httpMethod": "PUT",
    }
    [target] = client.execute(STAGED_UPLOADS_CREATE, {"input": [item]})["stagedUploadsCreate"][
        "stagedTargets"
    ]
    key = {p["name"]: p["value"] for p in target["parameters"]}["key"]
    assert HTTP.put(target["url"].split("?")[0], data=b"{}\n", timeout=5).status_code == 403
    assert HTTP.put(target["url"], data=b"{}\n", timeout=5).status_code == 200
    assert simulator.state.upload(key) == b"{}\n"
