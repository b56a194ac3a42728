"""The periodic refresh of the customers' statistics against the simulated Shopify (real
HTTP, both databases): Shopify recomputes predictedSpendTier and rfmGroup without any
webhook, and the refresh brings only those two columns up to date."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from plugin.backfill import runs
from plugin.backfill.statistics import refresh_statistics
from plugin.db import utcnow
from plugin.outbox.delivery import drain
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from tests.integration.test_backfill import add_shop, seeded
from tests.support.backfill import import_history, store_of

DOMAIN = "weekly.myshopify.com"
WEEK = timedelta(hours=168)
POLLED = timedelta(seconds=61)  # each drain is past the row's next poll


def imported_shop(runtime: Runtime, simulator: SimulatorHandle) -> int:
    shop_id = add_shop(runtime, simulator, seeded(simulator, DOMAIN))
    import_history(runtime, shop_id)
    return shop_id


def unmanaged(store: dict) -> dict:
    tags = {k: v for k, v in store["customer_tags"].items() if not k[1].startswith("seg:")}
    return {**store, "customer_tags": tags}


def refresh(runtime: Runtime, shop_id: int, now: datetime) -> None:
    refresh_statistics(runtime, now)
    for step in range(200):  # the outbox row exports, polls, stages, merges and finishes
        drain(runtime, now=now + step * POLLED)
        with runtime.sessions() as session:
            run = runs.latest_run(session, shop_id, statistics=True)
            if run is None or run.state == "done":
                return
    raise AssertionError("the statistics refresh did not finish")


def test_the_weekly_refresh_updates_only_the_statistics(sim_runtime, simulator, session) -> None:
    shop_id = imported_shop(sim_runtime, simulator)
    expected = store_of(session, shop_id, drop={"statistics_version"})
    session.rollback()  # the test's session holds SQLite's write lock while in a transaction
    customer = simulator.state.customer(DOMAIN, "1001")
    assert customer is not None
    customer.rfm_group, customer.spend_tier = "CHAMPIONS", "HIGH"  # no webhook for this
    customer.first_name = "Not read by the refresh"

    refresh(sim_runtime, shop_id, utcnow() + WEEK)

    session.expire_all()
    after = store_of(session, shop_id, drop={"statistics_version"})
    stored = session.scalar(select(Customer).where(Customer.platform_id == "1001"))
    assert (stored.platform_rfm_group, stored.predicted_spend_tier) == ("CHAMPIONS", "HIGH")
    assert stored.first_name != "Not read by the refresh"
    expected["customers"]["1001"][0].update(
        platform_rfm_group="CHAMPIONS", predicted_spend_tier="HIGH"
    )
    # Nothing else changed (no profile, order, metric or shop tag); the managed tags follow
    # the segments, which the refresh evaluates a week later.
    assert unmanaged(after) == unmanaged(expected)
    assert runs.latest_run(session, shop_id).why != runs.STATISTICS  # the import stays the import


def test_the_refresh_replaces_companies_and_keeps_them_when_shopify_refuses(
    sim_runtime, simulator, session
) -> None:
    shop_id = imported_shop(sim_runtime, simulator)
    session.rollback()
    joins, leaves = (simulator.state.customer(DOMAIN, c) for c in ("1000", "1003"))
    assert joins is not None and leaves is not None and leaves.company_ids == ["4001"]
    joins.company_ids, leaves.company_ids = ["4009"], []  # no webhook for either

    refresh(sim_runtime, shop_id, utcnow() + WEEK)

    session.expire_all()
    companies = store_of(session, shop_id)["customer_companies"]
    assert companies["1000"] == [{"company_id": "4009"}] and "1003" not in companies
    session.rollback()
    simulator.state.switches.denied_fields = {"companyContactProfiles"}  # B2B closed to apps
    refresh(sim_runtime, shop_id, utcnow() + 2 * WEEK)
    session.expire_all()
    assert store_of(session, shop_id)["customer_companies"] == companies


def test_the_refresh_brings_store_credit_up_to_date(sim_runtime, simulator, session) -> None:
    shop_id = imported_shop(sim_runtime, simulator)
    session.rollback()
    holder = simulator.state.customer(DOMAIN, "1001")  # n = 1: a USD account, two credits
    assert holder is not None and len(holder.store_credit) == 1
    account = holder.store_credit[0]
    account.balance, account.credits = "3.25", account.credits[1:]  # spent; no webhook

    refresh(sim_runtime, shop_id, utcnow() + WEEK)

    session.expire_all()
    store = store_of(session, shop_id)
    assert [a["balance_minor"] for a in store["store_credit_accounts"]["1001"]] == [325]
    assert len(store["store_credits"][("1001", account.account_id)]) == 1


def test_status_shows_the_last_statistics_refresh(
    sim_runtime, simulator, sim_settings, monkeypatch
) -> None:
    from click.testing import CliRunner

    from plugin.cli import main
    from plugin.commands import backfill as backfill_commands
    from plugin.runtime import build_runtime

    monkeypatch.setattr(backfill_commands, "load_runtime", lambda **_: build_runtime(sim_settings))
    shop_id = imported_shop(sim_runtime, simulator)
    refresh(sim_runtime, shop_id, utcnow() + WEEK)

    result = CliRunner().invoke(main, ["status", DOMAIN])

    assert result.exit_code == 0, result.output
    assert "statistics refresh #" in result.output and ": done" in result.output
    assert "30 customers read" in result.output


def test_a_shop_is_refreshed_once_per_interval(sim_runtime, simulator, session) -> None:
    shop_id = imported_shop(sim_runtime, simulator)
    now = utcnow()

    refresh_statistics(sim_runtime, now + timedelta(hours=1))  # the import just read them
    session.expire_all()
    assert runs.latest_run(session, shop_id, statistics=True) is None
    session.rollback()

    refresh(sim_runtime, shop_id, now + WEEK)
    refresh_statistics(sim_runtime, now + WEEK + timedelta(hours=1))  # refreshed an hour ago
    session.expire_all()
    done = session.scalars(
        select(runs.BackfillRun).where(
            runs.BackfillRun.shop_id == shop_id, runs.BackfillRun.why == runs.STATISTICS
        )
    ).all()
    assert [r.state for r in done] == ["done"]
