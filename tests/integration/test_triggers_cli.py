"""`shopseg triggers list|set` and the Flow extension tomls of `shopseg shopify-config`."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli import main
from plugin.commands import triggers as trigger_commands
from plugin.db import utcnow
from plugin.manifest import flow_triggers
from plugin.runtime import Runtime, build_runtime
from plugin.settings import Settings
from plugin.triggers.payloads import FLOW_FIELDS
from tests.integration.test_segment_eval_support import installed

SHOP = "cli-triggers.myshopify.com"


@pytest.fixture(autouse=True)
def _cli_uses_the_test_database(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setattr(trigger_commands, "load_runtime", lambda **_: build_runtime(settings))


@pytest.fixture
def shop(runtime: Runtime, settings: Settings) -> str:
    installed(runtime, settings, SHOP, utcnow())
    return SHOP


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_list_shows_the_defaults(shop: str) -> None:
    code, out = run("triggers", "list", shop, "--json")
    assert code == 0, out
    listing = json.loads(out)
    assert listing["abandoned_checkout"]["steps"] == ["1h"]
    assert all(listing[n]["enabled"] for n in ("reactivation", "welcome", "category_follow_up"))
    assert listing["general"]["webhook_url"] is None
    assert listing["general"]["webhook_secret"] is None


def test_set_changes_settings_and_generates_a_webhook_secret_once(shop: str) -> None:
    code, out = run("triggers", "set", shop, "abandoned_checkout", "steps=1h,24h,72h")
    assert (code, out.strip()) == (0, "abandoned_checkout.steps = 1h,24h,72h")
    code, out = run("triggers", "set", shop, "welcome", "enabled=false")
    assert code == 0, out
    code, out = run("triggers", "set", shop, "general", "webhook_url=https://hooks.example.com/x")
    assert code == 0 and "Webhook signing secret" in out
    code, out = run("triggers", "set", shop, "general", "quiet_hours=21:00-08:00")
    assert code == 0 and "secret" not in out
    listing = json.loads(run("triggers", "list", shop, "--json")[1])
    assert listing["abandoned_checkout"]["steps"] == ["1h", "24h", "72h"]
    assert listing["welcome"]["enabled"] is False
    assert listing["general"]["webhook_secret"] == "set"
    assert listing["general"]["quiet_hours"] == "21:00-08:00"
    code, out = run("triggers", "list", shop)
    assert "welcome off" in out and "steps = 1h,24h,72h" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("welcome", "colour=red"), "welcome: unknown setting 'colour'"),
        (("abandoned_checkout", "steps=1h,2h,3h,4h"), "steps='1h,2h,3h,4h': give 1 to 3"),
        (("abandoned_checkout", "steps=24h,1h"), "each delay must be longer"),
        (("abandoned_checkout", "steps=1week"), "steps='1week': use a number and a unit"),
        (("general", "webhook_url=http://example.com"), "webhook_url='http://example.com'"),
        (("general", "quiet_hours=25:00-08:00"), "quiet_hours='25:00-08:00'"),
        (("general", "webhook_personal_fields=email,birthday"), "unknown field birthday"),
        (("welcome", "enabled=maybe"), "enabled='maybe': use true or false"),
        (("birthday", "enabled=true"), "unknown trigger 'birthday'"),
        (("welcome", "enabled"), "'enabled' is not key=value"),
    ],
)
def test_bad_keys_and_values_are_named_and_nothing_is_saved(
    shop: str, args: tuple[str, ...], message: str
) -> None:
    code, out = run("triggers", "set", shop, *args, "tag=seg:changed")
    assert code != 0
    assert message in out
    listing = json.loads(run("triggers", "list", shop, "--json")[1])
    assert listing.get(args[0], {}).get("tag") != "seg:changed"


def test_unknown_shop_is_a_clear_error(runtime: Runtime) -> None:
    code, out = run("triggers", "list", "nowhere.myshopify.com")
    assert code == 1 and "unknown shop" in out


def test_shopify_config_writes_one_flow_trigger_extension_per_trigger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"SHOPIFY_API_KEY": "client-123", "SHOPSEG_APP_URL": "https://segments.example.com"}
    result = CliRunner().invoke(main, ["shopify-config", "--output", "shopify.app.toml"], env=env)
    assert result.exit_code == 0, result.output
    for trigger in flow_triggers():
        path = tmp_path / "extensions" / trigger.handle / "shopify.extension.toml"
        config = tomllib.loads(path.read_text())
        [extension] = config["extensions"]
        assert (extension["type"], extension["handle"]) == ("flow_trigger", trigger.handle)
        fields = config["settings"]["fields"]
        assert fields[0] == {"type": "customer_reference"}
        keys = [f["key"] for f in fields[1:]]
        # What the app sends is exactly what the extension declares.
        assert keys == ["Trigger ID", *FLOW_FIELDS[trigger.trigger]]
        assert all(k.replace(" ", "").isalpha() for k in keys)  # Flow: letters and spaces
