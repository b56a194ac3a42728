"""The nightly reconcile against the simulated Shopify (real HTTP, both databases): what
the app never heard by webhook is repaired, what it heard is only checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from plugin.backfill import runs
from plugin.backfill.models import BackfillRun
from plugin.backfill.reconcile import reconcile_shops
from plugin.db import utcnow
from plugin.outbox.delivery import drain
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.platforms.shopify.simulator.history import SimLine, SimOrder, iso
from plugin.profiles.models import Customer, Order
from plugin.runtime import Runtime
from tests.integration.test_backfill import add_shop, lengthen, seeded
from tests.support.backfill import import_history, store_of

DOMAIN = "nightly.myshopify.com"


def imported_shop(runtime: Runtime, simulator: SimulatorHandle) -> int:
    shop_id = add_shop(runtime, simulator, seeded(simulator, DOMAIN))
    import_history(runtime, shop_id)
    return shop_id


def drop_webhooks(simulator: SimulatorHandle, at: datetime) -> tuple[str, str]:
    """The shop changes a customer and takes an order; the app never hears of either."""
    state = simulator.state
    customer = state.customer(DOMAIN, "1001")
    assert customer is not None
    customer.first_name, customer.updated_at = "Renamed", iso(at)
    line = SimLine("990001", None, "Gift card", None, 1, "25.00")
    order = SimOrder("9900001", "1001", customer.email, at, at, [line])
    state.add_order(DOMAIN, order)
    return "1001", "9900001"


def reconcile(runtime: Runtime, now: datetime) -> None:
    reconcile_shops(runtime, now)
    for _ in range(100):  # the outbox row reads the pages, merges and finishes
        drain(runtime, now=now)
        with runtime.sessions() as session:
            shop_id = session.scalar(select(BackfillRun.shop_id).limit(1))
            run = runs.latest_run(session, shop_id, reconcile=True)
            if run is None or run.state == "done":
                return
    raise AssertionError("the reconcile did not finish")


def test_a_dropped_webhook_is_repaired_and_counted(sim_runtime, simulator, session) -> None:
    shop_id = imported_shop(sim_runtime, simulator)
    before = session.scalar(select(Customer).where(Customer.platform_id == "1001"))
    orders_before = before.orders_count
    session.rollback()  # the test's session holds SQLite's write lock while in a transaction
    customer_id, order_id = drop_webhooks(simulator, datetime.now(UTC).replace(microsecond=0))

    reconcile(sim_runtime, utcnow())

    session.expire_all()
    order = session.scalar(select(Order).where(Order.platform_id == order_id))
    assert order is not None and order.total_minor == 2500
    customer = session.scalar(select(Customer).where(Customer.platform_id == customer_id))
    assert customer.first_name == "Renamed"
    assert customer.orders_count == orders_before + 1  # metrics redone for who changed
    run = runs.latest_run(session, shop_id, reconcile=True)
    # Whatever else the overlap re-read was already stored: checked, not repaired.
    assert run.counts["repaired"] == {"customers": 1, "orders": 1}
    assert run.counts["checked"]["customers"] >= 1 and run.counts["checked"]["orders"] >= 1
    assert runs.latest_run(session, shop_id).why != runs.RECONCILE  # the import stays "the import"


def test_a_reconcile_with_nothing_dropped_repairs_nothing(sim_runtime, simulator, session) -> None:
    shop_id = imported_shop(sim_runtime, simulator)
    reconcile(sim_runtime, utcnow())
    run = runs.latest_run(session, shop_id, reconcile=True)
    assert run.state == "done" and run.counts["repaired"] == {"customers": 0, "orders": 0}


def test_the_next_reconcile_waits_its_turn_and_rereads_without_repairing(
    sim_runtime, simulator, session
) -> None:
    shop_id = imported_shop(sim_runtime, simulator)
    drop_webhooks(simulator, datetime.now(UTC).replace(microsecond=0))
    now = utcnow()
    reconcile(sim_runtime, now)
    reconcile_shops(sim_runtime, now + timedelta(hours=1))  # not due yet: nothing queued
    count = select(func.count()).where(BackfillRun.shop_id == shop_id)
    assert session.scalar(count) == 2
    session.rollback()

    reconcile(sim_runtime, now + timedelta(hours=25))

    first, second = session.scalars(
        select(BackfillRun).where(BackfillRun.why == runs.RECONCILE).order_by(BackfillRun.id)
    )
    assert datetime.fromisoformat(second.counts["since"]) > datetime.fromisoformat(
        first.counts["since"]
    )
    # The overlap reads the repaired customer and order again: same instant, nothing to do.
    assert second.counts["checked"] == {"customers": 1, "orders": 1}
    assert second.counts["repaired"] == {"customers": 0, "orders": 0}


def test_status_shows_the_repair(sim_runtime, simulator, sim_settings, monkeypatch) -> None:
    from plugin.cli import main
    from plugin.commands import backfill as backfill_commands
    from plugin.runtime import build_runtime

    monkeypatch.setattr(backfill_commands, "load_runtime", lambda **_: build_runtime(sim_settings))
    imported_shop(sim_runtime, simulator)
    drop_webhooks(simulator, datetime.now(UTC).replace(microsecond=0))
    reconcile(sim_runtime, utcnow())

    result = CliRunner().invoke(main, ["status", DOMAIN])

    assert result.exit_code == 0, result.output
    assert "reconcile #" in result.output and ": done" in result.output
    assert "repaired customers 1, orders 1" in result.output


def test_a_repaired_customer_and_order_keep_what_one_page_does_not_hold(
    sim_runtime, simulator, session
) -> None:
    """The reconcile reads page by page, 5 addresses and 20 lines at a time; a customer with
    8 addresses and an order with 28 lines it repairs keep every one."""
    lengthen(simulator, seeded(simulator, DOMAIN))
    shop_id = add_shop(sim_runtime, simulator, DOMAIN)
    import_history(sim_runtime, shop_id)
    before = store_of(session, shop_id)
    session.rollback()
    state = simulator.state
    long_customer = next(c for c in state.customers.all(DOMAIN) if len(c.other_addresses) == 7)
    long_order = next(o for o in state.shop_orders(DOMAIN) if len(o.lines) > 27)
    at = datetime.now(UTC).replace(microsecond=0)
    long_customer.first_name, long_customer.updated_at = "Renamed", iso(at)
    long_order.updated_at, long_order.refunded = at, "1.00"

    reconcile(sim_runtime, utcnow())

    after = store_of(session, shop_id)
    run = runs.latest_run(session, shop_id, reconcile=True)
    assert run.counts["repaired"] == {"customers": 1, "orders": 1}
    assert len(after["customer_addresses"][long_customer.customer_id]) == 8
    assert after["customer_addresses"] == before["customer_addresses"]
    assert after["order_lines"] == before["order_lines"]
