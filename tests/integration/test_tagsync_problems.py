"""A tag the shop refuses (Shopify's 250 tags per customer) parks the customer's row as dead
and shows on the segment: `shopseg segments list` counts the customers it affects."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from plugin.cli import main
from plugin.commands import segments as segment_commands
from plugin.outbox.models import DEAD, TAGS
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.runtime import Runtime, build_runtime
from plugin.segments.services import segment_summaries
from tests.integration.test_tagsync_support import (
    SHOP,
    drain_outbox,
    installed_shop,
    outbox_rows,
    place_order,
)


def test_customers_over_the_250_tag_limit_show_on_their_segments(
    sim_runtime: Runtime, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    simulator.state.add_customer(SHOP, 7, tags=[f"own-{n}" for n in range(249)])
    simulator.state.add_customer(SHOP, 8)
    place_order(sim_runtime, "7", "1001", "150.00")  # Buyers and Big spenders: 251 tags
    place_order(sim_runtime, "8", "1002", "150.00")
    drain_outbox(sim_runtime)

    refused = [r for r in outbox_rows(sim_runtime, kind=TAGS) if r.state == DEAD]
    assert [r.customer_id for r in refused] != [] and "250" in (refused[0].last_error or "")
    assert len(simulator.state.customer_tags(SHOP, 7)) == 249  # the merchant's, untouched
    with sim_runtime.sessions() as session:
        counts = {s.slug: s.tag_refused for s in segment_summaries(session, shop_id)}
    assert (counts["buyers"], counts["big-spenders"]) == (1, 1)

    settings = sim_runtime.settings
    monkeypatch.setattr(segment_commands, "load_runtime", lambda **_: build_runtime(settings))
    listed = CliRunner().invoke(main, ["segments", "list", SHOP, "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["slug"]: r for r in json.loads(listed.output)}
    assert (rows["buyers"]["tag_refused"], rows["new-customers"]["tag_refused"]) == (1, 0)
    text = CliRunner().invoke(main, ["segments", "list", SHOP])
    assert "! Buyers: the shop refused its tag for 1 customers" in text.output
