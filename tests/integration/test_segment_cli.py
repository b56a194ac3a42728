"""`shopseg segments …` against the database under test."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from plugin.cli import main
from plugin.commands import segments as segment_commands
from plugin.db import utcnow
from plugin.runtime import Runtime, build_runtime
from plugin.segments.builtins import BUILTINS
from plugin.segments.models import Segment
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.integration.test_segment_eval_support import installed
from tests.support.profiles import apply_payload, order_payload

SHOP = "cli.myshopify.com"
BIG_ID = "9007199254740993"  # 2**53 + 1: a JSON number or float would lose it


@pytest.fixture(autouse=True)
def _cli_uses_the_test_database(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setattr(segment_commands, "load_runtime", lambda **_: build_runtime(settings))


@pytest.fixture
def shop_id(runtime: Runtime, settings: Settings) -> int:
    shop_id = installed(runtime, settings, SHOP, utcnow() - timedelta(days=400))
    with runtime.sessions() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        for n, customer in enumerate((BIG_ID, BIG_ID, BIG_ID, "5")):
            when = utcnow() - timedelta(days=50 + n)
            payload = order_payload(f"70{n}", customer=customer, total="40.00", updated_at=when)
            apply_payload(session, shop, "orders/create", payload, settings=settings, now=when)
    return shop_id


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def segment_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Segment)) or 0


def test_a_bad_query_shows_where_and_saves_nothing(runtime: Runtime, shop_id: int) -> None:
    code, out = run("segments", "create", SHOP, "Broken", "number_of_orders >= 3 AND (amount_spent")
    assert code == 1
    assert "line 1, column" in out and "^" in out
    assert segment_count(runtime) == len(BUILTINS)


def test_create_evaluate_list_and_members(runtime: Runtime, shop_id: int) -> None:
    code, out = run("segments", "create", SHOP, "Loyal 3", "number_of_orders>=3", "--tag", "loyal")
    assert (code, out.splitlines()[0]) == (0, "Created 'Loyal 3': number_of_orders >= 3")
    listed = run("segments", "list", SHOP, "--json")
    assert listed[0] == 0, listed[1]
    [before] = [r for r in json.loads(listed[1]) if r["slug"] == "loyal-3"]
    assert (before["size"], before["last_evaluated_at"], before["tag"]) == (0, None, "loyal")

    code, out = run("segments", "evaluate", SHOP)
    assert code == 0, out
    rows = {r["slug"]: r for r in json.loads(run("segments", "list", SHOP, "--json")[1])}
    assert rows["loyal-3"]["size"] == 1 and rows["loyal-3"]["last_evaluated_at"]
    assert rows["one-time-buyers"]["size"] == 1
    assert rows["loyal-3"]["flags"] == ["small:loyal-3"]  # 1 member, under the minimum of 50

    assert run("segments", "members", SHOP, "Loyal 3", "--csv") == (0, f"customer_id\n{BIG_ID}\n")
    assert run("segments", "members", SHOP, "one-time buyers") == (0, "5\n")


def test_disable_and_enable(runtime: Runtime, shop_id: int) -> None:
    run("segments", "evaluate", SHOP)
    assert run("segments", "disable", SHOP, "Regular") == (
        0,
        "Disabled 'Regular'; 1 memberships closed.\n",
    )
    assert run("segments", "members", SHOP, "Regular") == (0, "")
    assert run("segments", "enable", SHOP, "regular")[0] == 0
    run("segments", "evaluate", SHOP)
    assert run("segments", "members", SHOP, "Regular") == (0, f"{BIG_ID}\n")


def test_edit_changes_the_rule(runtime: Runtime, shop_id: int) -> None:
    assert run("segments", "edit", SHOP, "Regular", "number_of_orders >= 1")[0] == 0
    run("segments", "evaluate", SHOP)
    assert run("segments", "members", SHOP, "Regular") == (0, f"{BIG_ID}\n5\n")


def test_preview_counts_without_saving(runtime: Runtime, shop_id: int) -> None:
    code, out = run("segments", "preview", SHOP, "number_of_orders >= 1")
    assert code == 0, out
    assert "Matches: 2" in out and f"Sample: {BIG_ID}, 5" in out
    assert segment_count(runtime) == len(BUILTINS)


def test_unknown_shop_and_segment_are_clear_errors(shop_id: int) -> None:
    code, out = run("segments", "members", "nope.myshopify.com", "Regular")
    assert code == 1 and "unknown shop" in out
    code, out = run("segments", "members", SHOP, "No such")
    assert code == 1 and "no segment named 'No such'" in out


def test_fields_come_from_the_catalogue() -> None:
    code, out = run("segments", "fields")
    assert code == 0
    names = {line.split()[0] for line in out.splitlines()}
    assert {"amount_spent", "order_gap_ratio", "rfm_group"} <= names
    assert any(n.startswith("products_purchased(") for n in names)


def test_health_shows_kpis_and_flags_and_dismisses(runtime: Runtime, shop_id: int) -> None:
    run("segments", "evaluate", SHOP)
    code, out = run("segments", "health", SHOP, "--json")
    assert code == 0, out
    document = json.loads(out)
    regular = next(row for row in document["segments"] if row["segment"] == "Regular")
    # KPIs are of the last complete local day; members entered today are not in it yet.
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    assert (regular["day"], regular["size"], regular["conversion_n"]) == (yesterday, 0, 0)
    assert (document["day"], document["timezone"]) == (yesterday, "UTC")
    # ... and the row says so instead of a bare 0.
    assert regular["status"] == "members_after_day"
    today = utcnow().date().isoformat()
    assert (
        regular["note"] == f"no members that day; members since {today} (size now: `segments list`)"
    )
    assert "small:regular" in {flag["key"] for flag in document["flags"]}

    code, out = run("segments", "health", SHOP, "--dismiss", "small:regular")
    assert code == 0 and "[small:regular]" not in out and "Regular" in out


def test_health_on_day_one_names_the_snapshot_day_and_what_it_cannot_show(
    runtime: Runtime, settings: Settings
) -> None:
    installed(runtime, settings, SHOP, utcnow())  # today: the built-ins are created now
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    code, out = run("segments", "health", SHOP)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"KPIs of {yesterday}, the shop's last complete day (UTC)."
    regular = next(line for line in lines if line.startswith("Regular "))
    assert regular.split(maxsplit=1)[1] == "not evaluated yet"

    run("segments", "evaluate", SHOP)
    out = run("segments", "health", SHOP)[1]
    regular = next(line for line in out.splitlines() if line.startswith("Regular "))
    today = utcnow().date().isoformat()
    assert regular.endswith(f"(created {today}, after this day: KPIs from that day on)")
