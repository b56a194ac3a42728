""" "Push as a tag": built-ins start without a tag at the shop, the merchant's own segments
with one; switching it adds or removes exactly that segment's tag through the outbox."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from plugin.cli import main
from plugin.commands import segments as segment_commands
from plugin.db import utcnow
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.runtime import Runtime, build_runtime
from plugin.segments.models import BUILTIN, Segment
from plugin.segments.services import create_segment, find_segment, segment_summaries
from plugin.tagsync.choice import set_push_tag
from tests.integration.test_tagsync_support import (
    BIG,
    BUYERS,
    SHOP,
    drain_outbox,
    installed_shop,
    place_order,
)
from tests.support.simulator import install_via_exchange


def test_built_ins_start_off_and_the_merchants_segments_on(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    install_via_exchange(sim_runtime, simulator, SHOP)
    with sim_runtime.sessions.begin() as session:
        shop_id = session.scalar(select(Segment.shop_id).limit(1))
        assert shop_id is not None
        built_in = session.scalars(select(Segment).where(Segment.kind == BUILTIN)).all()
        assert built_in and not any(s.push_tag for s in built_in)
        own = create_segment(session, shop_id, "Mine", "number_of_orders >= 1", now=utcnow())
        quiet = create_segment(
            session, shop_id, "Quiet", "number_of_orders >= 2", now=utcnow(), push_tag=False
        )
        assert (own.push_tag, quiet.push_tag) == (True, False)
        summaries = {s.slug: s.push_tag for s in segment_summaries(session, shop_id)}
    assert summaries["mine"] is True and summaries["quiet"] is False


def test_switching_off_removes_only_that_tag_and_on_brings_it_back(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    simulator.state.add_customer(SHOP, 7, tags=["wholesale"])
    simulator.state.add_customer(SHOP, 8)
    place_order(sim_runtime, "7", "1001", "150.00")  # Buyers and Big spenders
    place_order(sim_runtime, "8", "1002", "20.00")  # Buyers
    drain_outbox(sim_runtime)
    assert simulator.state.customer_tags(SHOP, 7) == ["wholesale", BIG, BUYERS]

    with sim_runtime.sessions.begin() as session:
        segment, queued = set_push_tag(session, shop_id, "Buyers", False, utcnow())
    assert (segment.push_tag, queued) == (False, 2)
    drain_outbox(sim_runtime)
    assert simulator.state.customer_tags(SHOP, 7) == ["wholesale", BIG]
    assert simulator.state.customer_tags(SHOP, 8) == []
    with sim_runtime.sessions() as session:  # membership itself is untouched
        buyers = find_segment(session, shop_id, "Buyers")
        assert buyers.enabled and buyers.push_tag is False
        assert {s.slug: s.size for s in segment_summaries(session, shop_id)}["buyers"] == 2

    with sim_runtime.sessions.begin() as session:
        assert set_push_tag(session, shop_id, "Buyers", False, utcnow())[1] == 0  # no change
        assert set_push_tag(session, shop_id, "Buyers", True, utcnow())[1] == 2
    drain_outbox(sim_runtime)
    assert sorted(simulator.state.customer_tags(SHOP, 7)) == sorted(["wholesale", BIG, BUYERS])
    assert simulator.state.customer_tags(SHOP, 8) == [BUYERS]


def test_a_member_entering_a_segment_that_does_not_push_gets_no_tag(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    with sim_runtime.sessions.begin() as session:
        set_push_tag(session, shop_id, "Big spenders", False, utcnow())
    simulator.state.add_customer(SHOP, 9)
    place_order(sim_runtime, "9", "1003", "500.00")
    drain_outbox(sim_runtime)
    assert simulator.state.customer_tags(SHOP, 9) == [BUYERS]


def test_the_cli_switches_and_lists_it(
    sim_runtime: Runtime, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed_shop(sim_runtime, simulator)
    settings = sim_runtime.settings
    monkeypatch.setattr(segment_commands, "load_runtime", lambda **_: build_runtime(settings))
    runner = CliRunner()
    result = runner.invoke(main, ["segments", "push", SHOP, "Buyers", "off"])
    assert result.exit_code == 0, result.output
    assert "'Buyers': push as a tag off" in result.output
    listed = runner.invoke(main, ["segments", "list", SHOP])
    buyers_line = next(line for line in listed.output.splitlines() if line.startswith("Buyers"))
    assert buyers_line.split()[1:3] == ["on", "off"]  # enabled, but no tag at the shop
    wrong = runner.invoke(main, ["segments", "push", SHOP, "Buyers", "maybe"])
    assert wrong.exit_code != 0 and "'maybe' is not one of" in wrong.output
