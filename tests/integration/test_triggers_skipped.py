"""Decisions not to fire are kept with a precise reason and shown by `shopseg activity`,
which names customers by the shop's own ids."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select

from plugin.cli import main
from plugin.commands import outbox as outbox_commands
from plugin.profiles.models import Customer
from plugin.runtime import build_runtime
from plugin.segments.evaluator_sweep import sweep_shop
from tests.support import triggers as fixtures
from tests.support.profiles import customer_payload
from tests.support.triggers import SHOP, T0, TriggerWorld

trig = fixtures.trig  # the fixture, registered for this module

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, trig: TriggerWorld) -> Any:
    settings = trig.runtime.settings
    monkeypatch.setattr(outbox_commands, "load_runtime", lambda **_: build_runtime(settings))

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, ["activity", SHOP, *args])
        assert result.exit_code == 0, result.output
        return result.output

    return run


def _internal_id(trig: TriggerWorld, platform_id: str) -> int:
    with trig.runtime.sessions() as session:
        found = session.scalar(select(Customer.id).where(Customer.platform_id == platform_id))
        assert found is not None
        return found


def test_a_customer_from_before_install_gets_no_welcome_and_the_cli_says_why(
    trig: TriggerWorld, cli: Any
) -> None:
    trig.customer("7")
    old = customer_payload("7", updated_at=T0 + HOUR, created_at="2026-01-03T09:00:00Z")
    trig.webhook("customers/update", old, T0 + HOUR)
    trig.order("1001", customer="7", at=T0 + 2 * HOUR)
    trig.run(T0 + 3 * HOUR)
    assert trig.flow() == []
    [firing] = trig.firings()
    reason = (
        "customer existed before the app was installed (created 2026-01-03, installed 2026-03-02)"
    )
    assert (firing.name, firing.state, firing.detail) == ("welcome", "skipped", reason)

    listing = cli("--skipped")
    assert "skipped   welcome customer 7\n" in listing
    assert "why: first order #1001" in listing and f"skipped: {reason}" in listing
    [decision] = [json.loads(line) for line in cli("--skipped", "--json").splitlines()]
    assert (decision["customer"], decision["reason"]) == ("7", reason)
    assert "Skipped trigger decisions: 1" in cli()


def test_the_frequency_cap_reason_names_the_merchants_window(trig: TriggerWorld, cli: Any) -> None:
    trig.customer("7")
    trig.set("general", frequency_cap_hours=168)
    trig.checkout("tok1", customer="7", at=T0)
    trig.run(T0 + 61 * MIN)
    trig.checkout("tok2", customer="7", at=T0 + 2 * HOUR)
    trig.run(T0 + 3 * HOUR + MIN)
    second = trig.firings()[1]
    assert second.state == "deferred"
    assert second.detail == (
        "frequency cap: 1 per 7 days reached (last sent 2026-03-02 13:01 UTC); "
        f"deferred to {(T0 + 61 * MIN + 7 * DAY).isoformat()}"
    )
    assert "deferred  abandoned_checkout customer 7" in cli("--skipped")


def test_a_customer_the_shop_does_not_know_is_named_as_such(trig: TriggerWorld) -> None:
    trig.checkout("tok1", customer="7", at=T0)  # the simulated shop has no customer 7
    trig.run(T0 + 61 * MIN)
    [firing] = trig.firings()
    assert firing.state == "skipped"
    assert firing.detail is not None
    assert firing.detail.startswith("the shop has no customer 7 (deleted there, or never created")


def test_initial_entries_are_recorded_as_skipped_in_one_statement(trig: TriggerWorld) -> None:
    trig.set("welcome", enabled="false")
    for n in ("7", "8", "9"):
        trig.order(f"100{n}", customer=n, at=T0 - 200 * DAY, processed_at=T0 + HOUR)
    inserts: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO trigger_firings"):
            inserts.append(statement)

    event.listen(trig.runtime.engine, "before_cursor_execute", count)
    try:
        sweep_shop(trig.runtime, trig.shop_id, T0 + 2 * HOUR)
    finally:
        event.remove(trig.runtime.engine, "before_cursor_execute", count)
    firings = trig.firings()
    assert sorted(f.customer_id for f in firings) == sorted(
        _internal_id(trig, n) for n in ("7", "8", "9")
    )
    assert {(f.name, f.state) for f in firings} == {("reactivation", "skipped")}
    assert len(inserts) == 1


def test_activity_names_customers_by_the_shops_ids(trig: TriggerWorld, cli: Any) -> None:
    for n in ("5", "7"):
        trig.customer(n)
    trig.order("1000", customer="5", at=T0 + HOUR)  # customer 5 takes internal id 1
    trig.order("1001", customer="7", at=T0 + HOUR)
    trig.run(T0 + 2 * HOUR)
    internal = _internal_id(trig, "7")
    assert internal != 7
    lines = cli()
    assert "flow_trigger customer-welcome customer 7\n" in lines
    assert f"#{internal}" not in lines
    rows = [json.loads(line) for line in cli("--json").splitlines()]
    flows = {r["customer"] for r in rows if r["kind"] == "flow_trigger"}
    assert flows == {"5", "7"}
