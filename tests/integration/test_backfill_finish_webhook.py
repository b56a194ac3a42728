"""`bulk_operations/finish` moves the import on at once (both databases, the simulated
Shopify): the install subscribes to it, and its delivery makes the waiting import due."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from plugin.backfill.models import WAITING, BackfillPhase, BackfillRun
from plugin.outbox.delivery import drain
from plugin.outbox.models import HISTORY_IMPORT, OutboxItem
from plugin.platforms.shopify import install
from plugin.platforms.shopify.simulator.seeding import seed_history
from plugin.runtime import build_runtime
from plugin.shops.models import Shop
from tests.support.profiles import apply_payload

NOW = datetime.now(UTC).replace(microsecond=0)
DOMAIN = "finish.myshopify.com"


@pytest.fixture
def importing(sim_settings):
    runtime = build_runtime(replace(sim_settings, history_import_on_install=True))
    try:
        yield runtime
    finally:
        runtime.close()


def installed(runtime, simulator) -> int:
    seed_history(simulator.state, DOMAIN, customers=10, now=NOW)
    token = simulator.state.issue_custom_token(DOMAIN)
    install.add_custom_shop(runtime, DOMAIN, token, "whsec-test")
    with runtime.sessions() as session:
        return session.scalar(select(Shop.id).where(Shop.domain == DOMAIN))


def waiting_import(runtime, shop_id: int) -> tuple[list[str], int]:
    """Drain until the exports are started and the row polls them; its operation ids."""
    for _ in range(20):
        drain(runtime)
        with runtime.sessions() as session:
            phases = session.scalars(
                select(BackfillPhase).where(BackfillPhase.shop_id == shop_id)
            ).all()
            if phases and all(p.state == WAITING for p in phases):
                run_id = phases[0].run_id
                return [str(p.operation_id) for p in phases], run_id
    raise AssertionError("the exports did not start")


def completed(simulator, operations: list[str]) -> None:
    """Wait for the simulated exports to finish: Shopify sends `finish` only after that."""
    ids = [int(gid.rsplit("/", 1)[1]) for gid in operations]
    deadline = time.monotonic() + 30
    while any(simulator.state.bulk_operations[i].running for i in ids):
        assert time.monotonic() < deadline, "the simulated exports did not finish"
        time.sleep(0.05)


def postpone(runtime, shop_id: int, until: datetime) -> None:
    with runtime.sessions.begin() as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.shop_id == shop_id, OutboxItem.kind == HISTORY_IMPORT)
            .values(next_attempt_at=until)
        )


def due_at(runtime, shop_id: int) -> datetime:
    with runtime.sessions() as session:
        return session.scalar(
            select(OutboxItem.next_attempt_at).where(
                OutboxItem.shop_id == shop_id, OutboxItem.kind == HISTORY_IMPORT
            )
        )


def finish(runtime, shop_id: int, operation_id: str, now: datetime) -> None:
    payload = {
        "admin_graphql_api_id": operation_id,
        "completed_at": now.isoformat(),
        "created_at": now.isoformat(),
        "error_code": None,
        "status": "completed",
        "type": "query",
    }
    with runtime.sessions() as session:
        shop = session.get(Shop, shop_id)
        apply_payload(
            session, shop, "bulk_operations/finish", payload, settings=runtime.settings, now=now
        )


def test_the_install_subscribes_to_bulk_operations_finish(sim_runtime, simulator) -> None:
    installed(sim_runtime, simulator)

    assert simulator.state.subscription_uris(DOMAIN, "BULK_OPERATIONS_FINISH")


def test_the_finish_webhook_makes_the_waiting_import_due_now(importing, simulator) -> None:
    shop_id = installed(importing, simulator)
    operations, run_id = waiting_import(importing, shop_id)
    now = datetime.now(UTC)
    later = now + timedelta(minutes=10)  # a long poll interval
    postpone(importing, shop_id, later)
    completed(simulator, operations)

    finish(importing, shop_id, "gid://shopify/BulkOperation/999999", now)  # someone else's
    assert due_at(importing, shop_id) == later

    finish(importing, shop_id, operations[0], now)
    assert due_at(importing, shop_id) == now

    for _ in range(40):  # due now: the import fetches the results without waiting 10 minutes
        drain(importing)
        with importing.sessions() as session:
            if session.get(BackfillRun, run_id).state == "done":
                return
    raise AssertionError("the import did not finish after the webhook")
