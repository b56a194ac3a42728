"""`shopseg shopify-config` renders a shopify.app.toml that says what manifest.json says."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli import main
from plugin.manifest import access_scopes, load_manifest, subscriptions

ENV = {
    "SHOPIFY_API_KEY": "client-123",
    "SHOPSEG_APP_URL": "https://segments.example.com",
    "SHOPSEG_SHOPIFY_API_VERSION": "2026-07",
}


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return CliRunner()


def render(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(main, ["shopify-config", *args], env=env or ENV)
    assert result.exit_code == 0, result.output
    return tomllib.loads(result.output)


def test_app_identity_urls_and_scopes(runner: CliRunner) -> None:
    config = render(runner)
    manifest = load_manifest()
    assert config["client_id"] == "client-123"
    assert (config["name"], config["handle"]) == (manifest["name"], manifest["handle"])
    assert config["application_url"] == "https://segments.example.com/admin"
    assert config["embedded"] is True
    assert config["access_scopes"]["scopes"] == ",".join(access_scopes())
    assert config["auth"]["redirect_urls"] == ["https://segments.example.com/auth/callback"]


def test_webhooks_follow_the_manifest_and_the_api_version_setting(runner: CliRunner) -> None:
    webhooks = render(runner)["webhooks"]
    assert webhooks["api_version"] == "2026-07"
    subs = webhooks["subscriptions"]
    topics = [t for s in subs for t in s.get("topics", [])]
    compliance = [t for s in subs for t in s.get("compliance_topics", [])]
    assert topics == [s.topic for s in subscriptions(compliance=False)]
    assert compliance == ["customers/data_request", "customers/redact", "shop/redact"]
    assert {s["uri"] for s in subs} == {"https://segments.example.com/webhooks/shopify"}


def test_output_option_writes_the_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "shopify.app.toml"
    result = runner.invoke(main, ["shopify-config", "--output", str(target)], env=ENV)
    assert result.exit_code == 0, result.output
    assert tomllib.loads(target.read_text())["client_id"] == "client-123"


def test_missing_api_key_is_a_clear_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["shopify-config"], env={**ENV, "SHOPIFY_API_KEY": ""})
    assert result.exit_code == 1
    assert "SHOPIFY_API_KEY" in result.output
