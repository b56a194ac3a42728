"""Managed tags reach the simulated shop over real HTTP: only the app's own tags change, one
call per customer, and the shop's tag webhooks keep the app's picture right."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.db import utcnow
from plugin.errors import ValidationError
from plugin.outbox.models import DONE, TAGS
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.profiles.models import Customer, CustomerTag
from plugin.profiles.shop_settings import set_setting
from plugin.runtime import Runtime
from plugin.segments.services import create_segment, disable_segment
from plugin.tagsync.drift import repair_drift
from plugin.tagsync.tags import TAG_PREFIX, sync_managed_tags
from tests.integration.test_tagsync_support import (
    BIG,
    BUYERS,
    SHOP,
    drain_outbox,
    graphql_calls,
    installed_shop,
    outbox_rows,
    place_order,
    tags_webhook,
)


def known_tags(runtime: Runtime, customer: str) -> set[str]:
    with runtime.sessions() as session:
        return set(
            session.scalars(
                select(CustomerTag.tag)
                .join(Customer, Customer.id == CustomerTag.customer_id)
                .where(Customer.platform_id == customer, CustomerTag.present.is_(True))
            )
        )


def test_entering_segments_adds_their_tags_and_keeps_the_merchants_own(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    installed_shop(sim_runtime, simulator)
    simulator.state.add_customer(SHOP, 7, tags=["wholesale", "Newsletter"])
    place_order(sim_runtime, "7", "1001", "150.00")
    drain_outbox(sim_runtime)

    assert simulator.state.customer_tags(SHOP, 7) == ["wholesale", "Newsletter", BIG, BUYERS]
    assert known_tags(sim_runtime, "7") == {BIG, BUYERS}
    (row,) = outbox_rows(sim_runtime, kind=TAGS)
    assert (row.state, row.why, row.result) == (
        DONE,
        "big-spenders,buyers",
        {"customer": "7", "added": [BIG, BUYERS], "removed": []},
    )
    assert graphql_calls(simulator, "CustomerTagsAdd") == 1


def test_many_changes_of_one_customer_make_one_call(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    installed_shop(sim_runtime, simulator)
    simulator.state.add_customer(SHOP, 7)
    place_order(sim_runtime, "7", "1001", "20.00")  # Buyers
    place_order(sim_runtime, "7", "1002", "90.00")  # and Big spenders
    drain_outbox(sim_runtime)

    (row,) = outbox_rows(sim_runtime, kind=TAGS)
    assert row.why == "buyers,big-spenders"
    assert graphql_calls(simulator, "mutation") == 1
    assert sorted(simulator.state.customer_tags(SHOP, 7)) == [BIG, BUYERS]


def test_leaving_a_segment_removes_exactly_its_tag(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    simulator.state.add_customer(SHOP, 7, tags=["vip-by-hand"])
    place_order(sim_runtime, "7", "1001", "150.00")
    drain_outbox(sim_runtime)
    with sim_runtime.sessions.begin() as session:
        disable_segment(session, shop_id, "Big spenders", now=utcnow())
    drain_outbox(sim_runtime)

    assert simulator.state.customer_tags(SHOP, 7) == ["vip-by-hand", BUYERS]
    assert simulator.state.tag_log[-1] == (SHOP, "7", "remove", BIG)
    assert known_tags(sim_runtime, "7") == {BUYERS}


def test_a_tag_removed_by_hand_comes_back_and_a_stale_one_goes(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    simulator.state.add_customer(SHOP, 7)
    simulator.state.add_customer(SHOP, 8)
    place_order(sim_runtime, "7", "1001", "10.00")
    place_order(sim_runtime, "8", "1002", "10.00")
    drain_outbox(sim_runtime)
    # The merchant removes Buyers from 7 by hand, and adds Big spenders to 8 by hand.
    simulator.state.customers.remove_tags(SHOP, "7", [BUYERS])
    simulator.state.customers.add_tags(SHOP, "8", [BIG])
    later = utcnow() + timedelta(seconds=1)
    tags_webhook(sim_runtime, "7", [BUYERS], added=False, at=later)
    tags_webhook(sim_runtime, "8", [BIG], added=True, at=later)
    with sim_runtime.sessions.begin() as session:
        assert repair_drift(session, shop_id, later) == 2
    drain_outbox(sim_runtime, now=later)

    assert simulator.state.customer_tags(SHOP, 7) == [BUYERS]
    assert simulator.state.customer_tags(SHOP, 8) == [BUYERS]
    with sim_runtime.sessions.begin() as session:
        assert repair_drift(session, shop_id, later) == 0


def test_the_echo_of_our_own_change_is_not_a_merchant_edit(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    simulator.state.add_customer(SHOP, 7)
    start = utcnow()
    place_order(sim_runtime, "7", "1001", "150.00", at=start)
    drain_outbox(sim_runtime, now=start)  # adds both tags
    with sim_runtime.sessions.begin() as session:
        disable_segment(session, shop_id, "Big spenders", now=start)
    drain_outbox(sim_runtime, now=start + timedelta(seconds=1))  # removes Big spenders
    # The shop's echo of the first push comes late, stamped by a clock two minutes ahead:
    # newer than our removal, so only recognising it as ours keeps it from undoing it.
    tags_webhook(sim_runtime, "7", [BIG, BUYERS], added=True, at=start + timedelta(minutes=2))
    assert known_tags(sim_runtime, "7") == {BUYERS}
    with sim_runtime.sessions.begin() as session:
        assert repair_drift(session, shop_id, start + timedelta(minutes=3)) == 0

    # The merchant adding it by hand an hour later is an edit: drift repair takes it off.
    simulator.state.customers.add_tags(SHOP, "7", [BIG])
    tags_webhook(sim_runtime, "7", [BIG], added=True, at=start + timedelta(hours=1))
    assert known_tags(sim_runtime, "7") == {BIG, BUYERS}
    with sim_runtime.sessions.begin() as session:
        assert repair_drift(session, shop_id, start + timedelta(hours=1)) == 1
    drain_outbox(sim_runtime, now=start + timedelta(hours=1))
    assert simulator.state.customer_tags(SHOP, 7) == [BUYERS]


def test_a_given_tag_gets_the_prefix_and_must_fit_shopifys_limit(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    with sim_runtime.sessions.begin() as session:
        set_setting(session, shop_id, TAG_PREFIX, "app-")
        create_segment(session, shop_id, "Loyal fans", "number_of_orders >= 1", now=utcnow(),
                       tag="fans")  # fmt: skip
        create_segment(session, shop_id, "Own prefix", "number_of_orders >= 1", now=utcnow(),
                       tag="app-mine")  # fmt: skip
        with pytest.raises(ValidationError, match="255"):
            create_segment(session, shop_id, "Too long", "number_of_orders >= 1", now=utcnow(),
                           tag="x" * 252)  # fmt: skip
        tags = {t.slug: t.tag for t in sync_managed_tags(session, shop_id)}
    assert tags["loyal-fans"] == "app-fans"
    assert tags["own-prefix"] == "app-mine"
    assert tags["buyers"] == "app-buyers"
    assert "too-long" not in tags


def test_a_retagged_segment_moves_its_customers_to_the_new_tag(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    simulator.state.add_customer(SHOP, 7, tags=["own"])
    place_order(sim_runtime, "7", "1001", "20.00")
    drain_outbox(sim_runtime)
    with sim_runtime.sessions.begin() as session:
        set_setting(session, shop_id, TAG_PREFIX, "app-")  # every default tag changes
        assert repair_drift(session, shop_id, utcnow()) == 1
    drain_outbox(sim_runtime)
    assert simulator.state.customer_tags(SHOP, 7) == ["own", "app-buyers"]
    assert graphql_calls(simulator, "CustomerTagsSync") == 1  # remove and add in one call
