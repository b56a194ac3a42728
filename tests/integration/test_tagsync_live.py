"""End to end over real HTTP both ways: the app pushes tags to the simulated shop, the shop
sends its `customer.tags_added/removed` webhooks back to the running app, and those echoes
are recognised as the app's own while a merchant's edit by hand is not."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from sqlalchemy import select

from plugin.db import utcnow
from plugin.inbox.models import InboxRow
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.profiles.models import Customer, CustomerTag
from plugin.runtime import Runtime
from plugin.settings import Settings
from plugin.tagsync.drift import repair_drift
from plugin.worker import drain
from tests.integration.test_tagsync_support import (
    BIG,
    BUYERS,
    SHOP,
    drain_outbox,
    installed_shop,
    place_order,
)
from tests.support.live import LiveApp


@pytest.fixture
def settings(settings: Settings, simulator: SimulatorHandle) -> Settings:
    """The live app reaches the simulator, so its webhooks come back to the live app."""
    return replace(settings, shopify_base_url=simulator.base_url)


def tag_webhooks_received(runtime: Runtime, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with runtime.sessions() as session:
            rows = session.scalars(
                select(InboxRow.id).where(InboxRow.topic.like("customer.tags_%"))
            ).all()
        if len(rows) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"expected {count} tag webhooks, got {len(rows)}")


def versions(runtime: Runtime, customer: str) -> dict[str, tuple[bool, str]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(CustomerTag.tag, CustomerTag.present, CustomerTag.version)
            .join(Customer, Customer.id == CustomerTag.customer_id)
            .where(Customer.platform_id == customer)
        )
        return {r.tag: (r.present, r.version or "") for r in rows}


def test_the_shops_echoes_are_ours_and_a_hand_edit_is_the_merchants(
    live_app: LiveApp, simulator: SimulatorHandle
) -> None:
    runtime = live_app.runtime
    shop_id = installed_shop(runtime, simulator)
    for topic in ("CUSTOMER_TAGS_ADDED", "CUSTOMER_TAGS_REMOVED"):  # app-specific (toml)
        simulator.state.add_subscription(SHOP, topic, live_app.url + "/webhooks/shopify")
    simulator.state.add_customer(SHOP, 7, tags=["own"])
    place_order(runtime, "7", "1001", "150.00")
    drain_outbox(runtime)
    assert simulator.wait_for_webhooks()
    tag_webhooks_received(runtime, 1)  # tags_added [BIG, BUYERS], the echo
    drain(runtime)

    known = versions(runtime, "7")
    assert {t for t, (present, _v) in known.items() if present} == {BIG, BUYERS}
    assert all("|outbox:" in v for _p, v in known.values())  # the echo wrote nothing

    simulator.edit_tags(SHOP, 7, remove=[BUYERS])  # by hand, in the admin
    tag_webhooks_received(runtime, 2)
    drain(runtime)
    assert versions(runtime, "7")[BUYERS][0] is False  # the merchant's edit counts
    with runtime.sessions.begin() as session:
        assert repair_drift(session, shop_id, utcnow()) == 1
    drain_outbox(runtime)
    assert simulator.state.customer_tags(SHOP, 7) == ["own", BIG, BUYERS]
