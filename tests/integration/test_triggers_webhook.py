"""The outbound webhook: signed over the exact body, retried by the outbox, de-duplicable."""

from __future__ import annotations

from datetime import timedelta

from plugin.shops.models import Shop
from plugin.triggers.payloads import signature
from tests.support import triggers as fixtures
from tests.support.triggers import T0, Receiver, TriggerWorld

receiver = fixtures.receiver  # the fixture, registered for this module
trig = fixtures.trig  # the fixture, registered for this module

MIN = timedelta(minutes=1)


def test_outbound_webhook_signature_verifies_with_the_shop_secret(
    trig: TriggerWorld, receiver: Receiver
) -> None:
    edit = trig.set("general", webhook_url=receiver.url)
    assert edit.new_secret
    receiver.secret = edit.new_secret
    trig.customer("7")
    trig.checkout("tok1", customer="7", at=T0)
    trig.run(T0 + 61 * MIN)
    [hook] = receiver.received
    assert hook["valid"]
    assert signature("another-secret", hook["raw"]) != signature(receiver.secret, hook["raw"])
    body = hook["body"]
    [firing] = trig.firings()
    assert body["trigger_id"] == firing.trigger_id
    assert (body["trigger"], body["flow_handle"], body["shop"]) == (
        "abandoned_checkout",
        "abandoned-checkout",
        "triggers.myshopify.com",
    )
    assert body["customer"]["id"] == "gid://shopify/Customer/7"
    assert body["fields"]["cart_value"] == "80.00"
    assert body["fields"]["line_items"][0]["title"] == "Trail shoe"
    # The Flow trigger carries the same trigger id.
    [sent] = trig.flow()
    assert sent["payload"]["Trigger ID"] == firing.trigger_id


def test_failed_deliveries_are_retried_and_a_deduplicating_receiver_sees_each_once(
    trig: TriggerWorld, receiver: Receiver
) -> None:
    receiver.secret = trig.set("general", webhook_url=receiver.url).new_secret or ""
    # The receiver stores the first attempt, then fails to answer 2xx (at-least-once).
    receiver.statuses = [500, 503]
    for n, customer in enumerate(("7", "8")):
        trig.customer(customer)
        trig.checkout(f"tok{n}", customer=customer, at=T0)
    trig.run(T0 + 61 * MIN)
    for minutes in (70, 80, 90):
        trig.deliver(T0 + minutes * MIN)
    assert len(receiver.received) == 4
    assert all(r["valid"] for r in receiver.received)
    ids = {f.trigger_id for f in trig.firings()}
    assert set(receiver.unique()) == ids and len(ids) == 2
    assert {item.state for item in trig.outbox("webhook")} == {"done"}


def test_a_refused_webhook_is_dead_with_its_reason_and_the_shop_stays_installed(
    trig: TriggerWorld, receiver: Receiver
) -> None:
    receiver.secret = trig.set("general", webhook_url=receiver.url).new_secret or ""
    receiver.statuses = [401]
    trig.customer("7")
    trig.checkout("tok1", customer="7", at=T0)
    trig.run(T0 + 61 * MIN)
    [item] = trig.outbox("webhook")
    assert item.state == "dead"
    assert "answered 401" in (item.last_error or "")
    with trig.runtime.sessions() as session:
        shop = session.get(Shop, trig.shop_id)
        assert shop is not None and shop.install_state == "installed"  # its token not blamed
