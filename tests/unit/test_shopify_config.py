"""`shopseg shopify-config` renders a shopify.app.toml that says what manifest.json says, and
the Flow template extensions whose workflows have been exported from Flow."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli import main
from plugin.manifest import access_scopes, flow_templates, load_manifest, subscriptions
from plugin.platforms.shopify import config
from plugin.platforms.shopify.flow import flow_editor_url
from plugin.triggers.catalogue import TRIGGERS

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


# Flow's rules for a template extension (shopify.dev, Flow template reference).
FLOW_CATEGORIES = {
    "buyer_experience", "customers", "inventory_and_merch", "loyalty", "orders", "promotions",
    "risk", "fulfillment", "b2b", "payment_reminders", "custom_data", "error_monitoring",
}  # fmt: skip


def test_every_trigger_has_a_flow_template_flow_would_accept() -> None:
    templates = flow_templates()
    assert {t.trigger for t in templates} == set(TRIGGERS)
    assert len({t.handle for t in templates}) == len({t.key for t in templates}) == len(templates)
    for t in templates:
        assert re.fullmatch(r"[A-Za-z0-9-]{1,30}", t.handle), t.handle
        assert 1 <= len(t.categories) <= 2 and set(t.categories) <= FLOW_CATEGORIES


def test_a_flow_template_is_written_only_with_its_workflow_exported_from_flow(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    first, *rest = flow_templates()
    (exports / f"{first.handle}.flow").write_bytes(b'{"exported": "from Flow"}')
    monkeypatch.setattr(config, "FLOW_EXPORTS", exports)
    result = runner.invoke(main, ["shopify-config", "--output", "shopify.app.toml"], env=ENV)
    assert result.exit_code == 0, result.output
    written = tmp_path / "extensions" / first.handle
    [extension] = tomllib.loads((written / "shopify.extension.toml").read_text())["extensions"]
    assert extension["type"] == "flow_template" and extension["handle"] == first.handle
    assert extension["name"] == first.name and extension["description"] == first.description
    assert extension["template"]["module"] == "./template.flow"
    assert extension["template"]["categories"] == list(first.categories)
    assert extension["template"]["require_app"] is True
    assert (written / "template.flow").read_bytes() == b'{"exported": "from Flow"}'
    for template in rest:
        assert not (tmp_path / "extensions" / template.handle).exists()
        assert f"Skipped Flow template {template.handle}: no workflow exported" in result.output


def test_the_flow_link_opens_a_published_template_or_a_new_workflow() -> None:
    template = flow_templates()[0]
    editor = "https://admin.shopify.com/store/my-shop/apps/flow/editor"
    assert flow_editor_url("my-shop.myshopify.com", template) == editor
    published = replace(template, template_id="0198ce00-b062")
    url = flow_editor_url("my-shop.myshopify.com", published)
    assert url == f"{editor}/templates/0198ce00-b062"
