"""The outbox against a misbehaving simulated Shopify: retries with backoff until every tag
change is applied exactly once, pacing instead of THROTTLED, permanent refusals parked as
dead (and re-queued by `shopseg outbox retry`), nothing sent after an uninstall, and two
delivery loops never sending one row twice."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from plugin.cli import main
from plugin.commands import outbox as outbox_commands
from plugin.db import utcnow
from plugin.outbox import context as outbox_context
from plugin.outbox import delivery
from plugin.outbox.models import CANCELLED, DEAD, DONE, PENDING, TAGS
from plugin.outbox.pacing import Pacer
from plugin.outbox.retries import retry_delay
from plugin.outbox.services import MAX_ATTEMPTS
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.runtime import Runtime, build_runtime
from plugin.segments.models import Segment
from plugin.segments.services import disable_segment
from plugin.settings import Settings
from plugin.shops.models import Shop
from plugin.shops.services import mark_uninstalled
from plugin.tagsync.drift import tag_problems
from tests.integration.test_tagsync_support import (
    BIG,
    BUYERS,
    SHOP,
    drain_outbox,
    graphql_calls,
    installed_shop,
    outbox_rows,
    place_order,
)
from tests.support.simulator import install_via_exchange


class NoPacing(Pacer):
    def before(self, shop: str, document: str, cost: float | None = None, **_: float) -> None:
        return None


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, sim_settings: Settings) -> Any:
    monkeypatch.setattr(outbox_commands, "load_runtime", lambda **_: build_runtime(sim_settings))

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return run


def customers_with_orders(runtime: Runtime, simulator: SimulatorHandle, count: int) -> None:
    """Customers 1..count, each with an order: all Buyers, the even ones Big spenders."""
    for n in range(1, count + 1):
        simulator.state.add_customer(SHOP, n, tags=[f"own-{n}"])
        place_order(runtime, str(n), str(1000 + n), "150.00" if n % 2 == 0 else "20.00")


def test_faults_and_throttling_still_apply_every_change_exactly_once(
    sim_runtime: Runtime, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    switches = simulator.state.switches
    switches.tag_webhooks = False
    customers_with_orders(sim_runtime, simulator, 30)
    monkeypatch.setattr(outbox_context, "CALL_TIMEOUT", (5, 0.3))
    switches.seed, switches.error_rate, switches.timeout_rate = 11, 0.3, 0.1
    switches.timeout_delay, switches.timeout_after_execute = 0.6, True
    switches.bucket_size, switches.restore_rate = 20.0, 100.0  # 30+ calls drain it
    start = utcnow()
    pacer = Pacer()
    delivery.deliver_due(sim_runtime, now=start, limit=10, pacer=pacer)  # some go out now
    with sim_runtime.sessions.begin() as session:
        disable_segment(session, shop_id, "Big spenders", now=start)
    drain_outbox(sim_runtime, now=start, pacer=pacer, step=timedelta(minutes=30))

    log = [change for change in simulator.state.tag_log if change[0] == SHOP]
    assert max(Counter(log).values()) == 1  # no change applied twice
    for n in range(1, 31):
        assert simulator.state.customer_tags(SHOP, n) == [f"own-{n}", BUYERS]
    assert {(c, t) for _s, c, op, t in log if op == "add" and t == BUYERS} == {
        (str(n), BUYERS) for n in range(1, 31)
    }
    assert simulator.state.throttled_count[SHOP] == 0
    rows = outbox_rows(sim_runtime, kind=TAGS)
    assert {r.state for r in rows} == {DONE}
    assert max(r.attempts for r in rows) > 1  # faults happened and were retried
    assert pacer.waited > 0


def test_without_pacing_the_same_load_is_throttled(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    installed_shop(sim_runtime, simulator)
    simulator.state.switches.tag_webhooks = False
    customers_with_orders(sim_runtime, simulator, 30)
    simulator.state.switches.bucket_size, simulator.state.switches.restore_rate = 40.0, 20.0
    assert delivery.deliver_due(sim_runtime, limit=30, pacer=NoPacing()) == 30
    assert simulator.state.throttled_count[SHOP] > 0
    throttled = [r for r in outbox_rows(sim_runtime, kind=TAGS) if r.state == PENDING]
    assert throttled and all("Throttled" in (r.last_error or "") for r in throttled)
    # Being told to slow down is not a failed attempt: due again after the shop's wait.
    soon = utcnow() + timedelta(seconds=10)
    assert all(r.attempts == 0 and r.next_attempt_at <= soon for r in throttled)


def test_a_shop_that_keeps_throttling_delays_rows_by_its_wait_and_never_kills_them(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    installed_shop(sim_runtime, simulator)
    simulator.state.switches.tag_webhooks = False
    customers_with_orders(sim_runtime, simulator, 3)
    simulator.state.switches.throttle_graphql = MAX_ATTEMPTS * 3  # more refusals than attempts
    now = utcnow()
    for _ in range(MAX_ATTEMPTS * 5):
        delivery.deliver_due(sim_runtime, now=now, pacer=NoPacing())
        now += timedelta(seconds=10)  # a throttle wait is seconds, not exponential backoff

    assert simulator.state.throttled_count[SHOP] == MAX_ATTEMPTS * 3
    rows = outbox_rows(sim_runtime, kind=TAGS)
    assert {r.state for r in rows} == {DONE}
    assert {r.attempts for r in rows} == {1}  # the one that went through
    for n in range(1, 4):
        assert BUYERS in simulator.state.customer_tags(SHOP, n)


def test_retry_waits_at_least_what_the_shop_asked() -> None:
    from plugin.errors import PlatformError

    asked = PlatformError("503", retry_after=90.0)
    assert all(retry_delay(asked, 1) >= timedelta(seconds=90) for _ in range(20))
    plain = PlatformError("503")
    assert all(retry_delay(plain, 3) <= timedelta(seconds=16) for _ in range(20))


def test_a_refusal_is_dead_with_its_reason_and_outbox_retry_requeues_it(
    sim_runtime: Runtime, simulator: SimulatorHandle, cli: Any
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    simulator.state.add_customer(SHOP, 7, tags=[f"t{i}" for i in range(250)])
    place_order(sim_runtime, "7", "1001", "20.00")
    drain_outbox(sim_runtime)

    (row,) = outbox_rows(sim_runtime, kind=TAGS)
    assert (row.state, row.attempts) == (DEAD, 1)
    assert row.last_error is not None and "250" in row.last_error
    with sim_runtime.sessions() as session:
        buyers = session.scalar(select(Segment.id).where(Segment.slug == "buyers"))
        assert tag_problems(session, shop_id) == {buyers: 1}
    assert "customer 7: +seg:buyers" in cli("activity", SHOP, "--failed")

    simulator.state.customers.remove_tags(SHOP, "7", ["t0"])  # the merchant makes room
    assert cli("outbox", "retry", SHOP) == f"1 dead rows of {SHOP} are pending again.\n"
    drain_outbox(sim_runtime)
    assert BUYERS in simulator.state.customer_tags(SHOP, 7)
    assert outbox_rows(sim_runtime, kind=TAGS)[0].state == DONE
    with sim_runtime.sessions() as session:
        assert tag_problems(session, shop_id) == {}
    assert "No failed rows." in cli("activity", SHOP, "--failed")


def test_a_shop_that_never_answers_is_given_up_on(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    installed_shop(sim_runtime, simulator)
    simulator.state.add_customer(SHOP, 7)
    place_order(sim_runtime, "7", "1001", "20.00")
    simulator.state.switches.graphql_status = 503
    drain_outbox(sim_runtime, step=timedelta(hours=1))

    (row,) = outbox_rows(sim_runtime, kind=TAGS)
    assert (row.state, row.attempts) == (DEAD, MAX_ATTEMPTS)
    assert row.last_error is not None and row.last_error.startswith("gave up after")
    assert graphql_calls(simulator, "CustomerTagsAdd") == MAX_ATTEMPTS


def test_after_uninstall_nothing_is_sent_and_nothing_is_retried(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    installed_shop(sim_runtime, simulator)
    for n in (7, 8):
        simulator.state.add_customer(SHOP, n)
        place_order(sim_runtime, str(n), f"100{n}", "20.00")
    simulator.state.switches.graphql_status = 503
    start = utcnow()
    drain_outbox(sim_runtime, now=start)  # both fail once, pending again
    calls = len(simulator.state.requests_of("graphql", SHOP))
    simulator.state.uninstall(SHOP)
    with sim_runtime.sessions.begin() as session:
        shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
        assert shop is not None
        mark_uninstalled(session, shop, start)
    drain_outbox(sim_runtime, now=start + timedelta(days=1))

    assert len(simulator.state.requests_of("graphql", SHOP)) == calls
    assert {r.state for r in outbox_rows(sim_runtime)} == {CANCELLED}


def test_a_shop_needing_reauthorisation_keeps_what_it_is_owed_until_it_is_back(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    installed_shop(sim_runtime, simulator)
    simulator.state.switches.tag_webhooks = False
    simulator.state.add_customer(SHOP, 7)
    place_order(sim_runtime, "7", "1007", "20.00")
    start = utcnow()
    for token in simulator.state.tokens:  # the merchant's token stops working
        token.revoked = True
    drain_outbox(sim_runtime, now=start)  # refused with 401: the shop needs reauthorisation
    calls = len(simulator.state.requests_of("graphql", SHOP))
    drain_outbox(sim_runtime, now=start + timedelta(hours=6))
    assert len(simulator.state.requests_of("graphql", SHOP)) == calls  # paused, not called
    (row,) = outbox_rows(sim_runtime, kind=TAGS)
    assert row.state != CANCELLED and row.attempts <= 1
    assert "paused" in (row.last_error or "")

    install_via_exchange(sim_runtime, simulator, SHOP)  # the merchant opens the app again
    drain_outbox(sim_runtime, now=start + timedelta(hours=7))
    assert simulator.state.customer_tags(SHOP, 7) == [BUYERS]
    assert outbox_rows(sim_runtime, kind=TAGS)[0].state == DONE


def test_two_loops_never_deliver_one_row_twice(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    installed_shop(sim_runtime, simulator)
    simulator.state.switches.tag_webhooks = False
    customers_with_orders(sim_runtime, simulator, 40)
    assert len(outbox_rows(sim_runtime, state=PENDING)) == 40
    pacer = Pacer()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def loop() -> None:
        try:
            barrier.wait()
            while delivery.deliver_due(sim_runtime, limit=3, pacer=pacer):
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=loop) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    sent = Counter(
        r.body["variables"]["id"]
        for r in simulator.state.requests_of("graphql", SHOP)
        if "mutation" in str(r.body.get("query", ""))
    )
    assert len(sent) == 40 and set(sent.values()) == {1}
    assert {r.state for r in outbox_rows(sim_runtime, kind=TAGS)} == {DONE}
    assert sum(1 for n in range(1, 41) if BIG in simulator.state.customer_tags(SHOP, n)) == 20
