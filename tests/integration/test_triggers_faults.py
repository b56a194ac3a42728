"""Triggers through a failing shop and a failing receiver: with 30% 5xx, timeouts after the
call ran and throttling, every trigger still reaches Flow and the outbound webhook at least
once, with its trigger_id, so a receiver de-duplicating by it sees each exactly once; after
`app/uninstalled` nothing more is sent."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.outbox import context as outbox_context
from plugin.outbox.models import CANCELLED, DONE, FLOW_TRIGGER, WEBHOOK, OutboxItem
from plugin.shops.models import Shop
from plugin.shops.services import mark_uninstalled
from tests.support import triggers as fixtures
from tests.support.triggers import T0, Receiver, TriggerWorld

receiver = fixtures.receiver  # the fixture, registered for this module
trig = fixtures.trig  # the fixture, registered for this module

MIN = timedelta(minutes=1)
CUSTOMERS = [str(n) for n in range(11, 23)]


def outbox_states(trig: TriggerWorld) -> Counter[str]:
    """States of the trigger deliveries (the short-lived tags have rows of their own)."""
    return Counter(row.state for row in trig.outbox() if row.kind in (FLOW_TRIGGER, WEBHOOK))


def test_every_trigger_arrives_at_least_once_and_deduplicates_to_exactly_once(
    trig: TriggerWorld, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.secret = trig.set("general", webhook_url=receiver.url).new_secret or ""
    receiver.statuses = [500, 502, 200, 503] * 3  # the merchant's endpoint fails too
    for n, customer in enumerate(CUSTOMERS):
        trig.customer(customer)
        trig.checkout(f"tok{n}", customer=customer, at=T0)
    switches = trig.simulator.state.switches
    monkeypatch.setattr(outbox_context, "CALL_TIMEOUT", (5, 0.3))
    switches.seed, switches.error_rate, switches.timeout_rate = 5, 0.3, 0.15
    switches.timeout_delay, switches.timeout_after_execute = 0.6, True
    switches.bucket_size, switches.restore_rate = 30.0, 100.0

    trig.scan(T0 + 61 * MIN)
    at = T0 + 61 * MIN
    while outbox_states(trig)[DONE] < 2 * len(CUSTOMERS) and at < T0 + timedelta(days=1):
        trig.deliver(at)
        at += 10 * MIN

    firings = {f.trigger_id: f for f in trig.firings()}
    assert len(firings) == len(CUSTOMERS)
    flow = Counter(t["payload"]["Trigger ID"] for t in trig.flow())
    assert set(flow) == set(firings)  # at least once each, nothing unknown
    assert receiver.unique().keys() == firings.keys()
    assert all(r["valid"] for r in receiver.received)
    # Faults happened and were survived, none of them as a duplicate with a new id.
    rows = [row for row in trig.outbox() if row.kind in (FLOW_TRIGGER, WEBHOOK)]
    assert outbox_states(trig) == Counter({DONE: 2 * len(CUSTOMERS)})
    assert max(r.attempts for r in rows) > 1
    assert len(receiver.received) > len(firings)
    assert trig.simulator.state.throttled_count[trig.domain] == 0


def test_after_uninstall_nothing_is_sent_and_nothing_retries_forever(
    trig: TriggerWorld, receiver: Receiver
) -> None:
    receiver.secret = trig.set("general", webhook_url=receiver.url).new_secret or ""
    for n, customer in enumerate(CUSTOMERS[:3]):
        trig.customer(customer)
        trig.checkout(f"tok{n}", customer=customer, at=T0)
    trig.scan(T0 + 61 * MIN)  # consent looked up, the triggers fired into the outbox
    trig.simulator.state.switches.graphql_status = 503
    receiver.statuses = [503] * 3
    trig.deliver(T0 + 61 * MIN)  # every Flow call and webhook fails once
    calls = len(trig.simulator.state.requests_of("graphql", trig.domain))
    hooks = len(receiver.received)

    trig.simulator.state.uninstall(trig.domain)
    with trig.runtime.sessions.begin() as session:
        shop = session.scalar(select(Shop).where(Shop.id == trig.shop_id))
        assert shop is not None
        mark_uninstalled(session, shop, T0 + 62 * MIN)
    for days in (1, 2, 3):
        trig.deliver(T0 + timedelta(days=days))

    assert len(trig.simulator.state.requests_of("graphql", trig.domain)) == calls
    assert len(receiver.received) == hooks
    with trig.runtime.sessions() as session:
        states = set(session.scalars(select(OutboxItem.state)))
    assert states == {CANCELLED}
