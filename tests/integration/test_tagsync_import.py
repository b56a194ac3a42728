"""Learning current tags from the API: a bulk query after install (or `shopseg tags resync`)
records every stored customer's tags, then drift repair takes stale managed tags off —
and never the merchant's own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from plugin.cli import main
from plugin.commands import tags as tag_commands
from plugin.db import utcnow
from plugin.events import make_version
from plugin.outbox.models import DONE, TAGS_IMPORT
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.profiles.models import Customer, CustomerTag
from plugin.runtime import Runtime, build_runtime
from plugin.tagsync.imports import record_snapshot, repair_swept_shops
from plugin.tagsync.known import record_states
from tests.integration.test_tagsync_support import (
    BIG,
    BUYERS,
    SHOP,
    drain_in_real_time,
    installed_shop,
    outbox_rows,
    place_order,
)


def test_the_import_after_install_removes_a_stale_managed_tag_and_keeps_the_merchants(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    # Left in the shop by an earlier install: Big spenders' tag, beside the merchant's own.
    simulator.state.add_customer(SHOP, 7, tags=["wholesale", BIG])
    place_order(sim_runtime, "7", "1001", "20.00")  # a buyer, not a big spender
    drain_in_real_time(sim_runtime)
    assert simulator.state.customer_tags(SHOP, 7) == ["wholesale", BIG, BUYERS]  # unknown

    assert repair_swept_shops(sim_runtime, [shop_id], utcnow()) == 0  # queues the import
    repair_swept_shops(sim_runtime, [shop_id], utcnow())  # once per install
    drain_in_real_time(sim_runtime)

    assert simulator.state.customer_tags(SHOP, 7) == ["wholesale", BUYERS]
    (row,) = outbox_rows(sim_runtime, kind=TAGS_IMPORT)
    assert row.state == DONE and row.why == "install"
    assert row.result is not None
    assert (row.result["customers"], row.result["drift"]) == (1, 1)


def test_tags_resync_queues_an_import_that_restores_a_tag_removed_by_hand(
    sim_runtime: Runtime, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed_shop(sim_runtime, simulator)
    simulator.state.add_customer(SHOP, 7, tags=["own"])
    place_order(sim_runtime, "7", "1001", "20.00")
    drain_in_real_time(sim_runtime)
    # Removed by hand with tag webhooks off: only the API can tell.
    simulator.state.customers.remove_tags(SHOP, "7", [BUYERS])

    settings = sim_runtime.settings
    monkeypatch.setattr(tag_commands, "load_runtime", lambda **_: build_runtime(settings))
    result = CliRunner().invoke(main, ["tags", "resync", SHOP])
    assert result.exit_code == 0, result.output
    assert "Queued tag import" in result.output
    drain_in_real_time(sim_runtime)

    assert simulator.state.customer_tags(SHOP, 7) == ["own", BUYERS]


def test_the_snapshot_never_overrides_a_newer_webhook(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    place_order(sim_runtime, "7", "1001", "20.00")
    now = utcnow()
    with sim_runtime.sessions.begin() as session:
        customer_id = session.scalar(select(Customer.id).where(Customer.platform_id == "7"))
        assert customer_id is not None
        newer = make_version(now + timedelta(minutes=1), None, "webhook-1")
        record_states(session, shop_id, [(customer_id, "vip", True)], newer)
        snapshot = make_version(now, None, "import:1")
        assert record_snapshot(session, shop_id, {"7": ["wholesale"]}, snapshot) == (1, 1)
        rows = session.execute(
            select(CustomerTag.tag, CustomerTag.present).where(
                CustomerTag.customer_id == customer_id
            )
        )
        assert dict(rows.tuples().all()) == {"vip": True, "wholesale": True}
