"""`shopseg shops add|list`: a custom-app shop, its webhooks subscribed by GraphQL."""

from __future__ import annotations

import json

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from plugin import crypto
from plugin.cli import main
from plugin.commands import shops as shop_commands
from plugin.errors import PlatformError
from plugin.manifest import subscriptions
from plugin.platforms.shopify.client import AdminClient, UserErrors
from plugin.platforms.shopify.documents import SHOP_INFO, WEBHOOK_SUBSCRIPTION_CREATE
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.platforms.shopify.subscriptions import topic_enum
from plugin.runtime import Runtime
from plugin.settings import Settings
from plugin.shops.models import INSTALLED, Shop
from plugin.shops.tokens import access_token

SHOP = "custom-shop.myshopify.com"


@pytest.fixture
def cli(sim_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The commands run on the runtime under test (database and simulator)."""
    monkeypatch.setattr(shop_commands, "load_runtime", lambda **_: sim_runtime)
    return CliRunner()


def add(cli: CliRunner, token: str, domain: str = SHOP) -> tuple[int, str]:
    args = ["shops", "add", domain, "--token", token, "--webhook-secret", "hook-secret"]
    result = cli.invoke(main, args)
    return result.exit_code, result.output


def test_add_stores_the_shop_and_subscribes_every_regular_topic(
    cli: CliRunner, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    simulator.state.add_shop(SHOP, timezone="America/Chicago", currency="CAD")
    token = simulator.state.issue_custom_token(SHOP)
    code, output = add(cli, token)
    assert code == 0, output
    assert "America/Chicago" in output and token not in output
    assert f"Subscribed {len(subscriptions(compliance=False))} new webhook topics" in output
    app_url = sim_runtime.settings.app_url
    expected = {(topic_enum(s.topic), app_url + s.route) for s in subscriptions(compliance=False)}
    got = {(s["topic"], s["uri"]) for s in simulator.state.subscriptions[SHOP]}
    assert got == expected
    assert not any("REDACT" in topic or "DATA_REQUEST" in topic for topic, _ in got)
    with sim_runtime.sessions() as session:
        shop = session.scalars(select(Shop).where(Shop.domain == SHOP)).one()
    key = sim_runtime.settings.secret_key
    assert (shop.install_state, shop.auth_method, shop.timezone) == (
        INSTALLED,
        "custom",
        "America/Chicago",
    )
    assert crypto.decrypt(key, shop.webhook_secret_enc or "") == "hook-secret"
    assert shop.access_token_expires_at is None and shop.refresh_token_enc is None
    # A custom-app token never expires: it is used as it is, with no refresh.
    assert access_token(sim_runtime, shop.id) == token
    assert simulator.state.requests_of("access_token") == []


def test_adding_again_does_not_duplicate_subscriptions(
    cli: CliRunner, simulator: SimulatorHandle
) -> None:
    token = simulator.state.issue_custom_token(SHOP)
    assert add(cli, token)[0] == 0
    code, output = add(cli, token)
    assert code == 0, output
    assert len(simulator.state.subscriptions[SHOP]) == len(subscriptions(compliance=False))


def test_bad_domain_is_a_usage_error(cli: CliRunner, simulator: SimulatorHandle) -> None:
    code, output = add(cli, "shpat_x", domain="shop.evil.com")
    assert code == 2 and "myshopify.com" in output
    assert simulator.state.requests == []


def test_refused_token_stores_nothing(
    cli: CliRunner, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    code, output = add(cli, "shpat_not_a_token")
    assert code == 1 and "refused the token (401)" in output
    with sim_runtime.sessions() as session:
        assert session.scalars(select(Shop)).all() == []


def test_missing_scopes_are_warned_about(cli: CliRunner, simulator: SimulatorHandle) -> None:
    token = simulator.state.issue_custom_token(SHOP, scopes=["read_orders"])
    code, output = add(cli, token)
    assert code == 0 and "lacks the scopes" in output and "read_customers" in output


def test_list_shows_each_shop(cli: CliRunner, simulator: SimulatorHandle) -> None:
    simulator.state.add_shop(SHOP, currency="GBP")
    add(cli, simulator.state.issue_custom_token(SHOP))
    result = cli.invoke(main, ["shops", "list", "--json"])
    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in result.output.splitlines()]
    assert (row["domain"], row["install_state"], row["auth_method"], row["currency"]) == (
        SHOP,
        INSTALLED,
        "custom",
        "GBP",
    )
    assert isinstance(row["id"], str)
    assert SHOP in cli.invoke(main, ["shops", "list"]).output


def direct_client(simulator: SimulatorHandle) -> AdminClient:
    settings = Settings(shopify_base_url=simulator.base_url)
    return AdminClient(requests.Session(), settings, SHOP, simulator.state.issue_custom_token(SHOP))


@pytest.mark.parametrize(
    ("switch", "value", "transient", "status"),
    [
        ("graphql_status", 503, True, 503),
        ("throttle_graphql", 1, True, None),
        ("graphql_status", 403, False, 403),
    ],
)
def test_client_sorts_failures_into_transient_and_permanent(
    simulator: SimulatorHandle, switch: str, value: int, transient: bool, status: int | None
) -> None:
    client = direct_client(simulator)
    setattr(simulator.state.switches, switch, value)
    with pytest.raises(PlatformError) as info:
        client.execute(SHOP_INFO)
    assert info.value.transient is transient
    if status is not None:
        assert info.value.status_code == status


def test_user_errors_are_permanent(simulator: SimulatorHandle) -> None:
    client = direct_client(simulator)
    variables = {"topic": "ORDERS_CREATE", "uri": "https://app.example/webhooks/shopify"}
    assert client.execute(WEBHOOK_SUBSCRIPTION_CREATE, variables)["webhookSubscriptionCreate"]
    with pytest.raises(UserErrors) as info:
        client.execute(WEBHOOK_SUBSCRIPTION_CREATE, variables)
    assert not info.value.transient and "already been taken" in info.value.messages[0]
