"""Consent, frequency cap, quiet hours and guests: what a due firing becomes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from plugin.profiles.models import Customer
from tests.support import triggers as fixtures
from tests.support.triggers import T0, Receiver, TriggerWorld

receiver = fixtures.receiver  # the fixture, registered for this module
trig = fixtures.trig  # the fixture, registered for this module

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def test_customer_without_consent_gets_no_marketing_trigger_but_the_tag(
    trig: TriggerWorld,
) -> None:
    trig.customer("7", state="UNSUBSCRIBED")
    trig.checkout("tok1", customer="7", at=T0)
    trig.run(T0 + 61 * MIN)
    assert trig.flow() == []
    assert trig.outbox("flow_trigger") == []
    [firing] = trig.firings()
    assert (firing.state, firing.detail) == ("skipped", "no email marketing consent (unsubscribed)")
    assert firing.payload["tag"]["tag"] == "seg:cart-reminder"  # tags are internal


def test_unknown_consent_is_checked_through_the_api_and_stored(trig: TriggerWorld) -> None:
    trig.customer("7", state="SUBSCRIBED")
    trig.checkout("tok1", customer="7", at=T0)
    with trig.runtime.sessions() as session:
        assert session.scalar(select(Customer.email_marketing_state)) is None
    trig.run(T0 + 61 * MIN)
    lookups = [
        r
        for r in trig.simulator.state.requests
        if r.kind == "graphql" and "CustomersTagsAndConsent" in str(r.body.get("query"))
    ]
    assert len(lookups) == 1
    with trig.runtime.sessions() as session:
        assert session.scalar(select(Customer.email_marketing_state)) == "SUBSCRIBED"
    assert trig.flow_handles() == ["abandoned-checkout"]


def test_second_marketing_trigger_within_24h_is_deferred_then_delivered(
    trig: TriggerWorld,
) -> None:
    trig.customer("7")
    trig.checkout("tok1", customer="7", at=T0)
    trig.run(T0 + 61 * MIN)  # first reminder of checkout 1
    trig.checkout("tok2", customer="7", at=T0 + 2 * HOUR)
    trig.run(T0 + 3 * HOUR + MIN)  # checkout 2 is due, but the cap holds it
    assert trig.flow_handles() == ["abandoned-checkout"]
    second = trig.firings()[1]
    assert second.state == "deferred"
    assert second.due_at == T0 + 61 * MIN + 24 * HOUR
    assert second.detail is not None and second.detail.startswith("frequency cap: 1 per 24 h")

    trig.run(T0 + 61 * MIN + 24 * HOUR)
    assert trig.flow_handles() == ["abandoned-checkout", "abandoned-checkout"]
    assert [f.state for f in trig.firings()] == ["fired", "fired"]


def test_abandoned_checkout_goes_first_when_triggers_compete(trig: TriggerWorld) -> None:
    trig.customer("7")
    trig.set("general", quiet_hours="12:30-14:00")
    trig.checkout("tok1", customer="7", at=T0 - 3 * HOUR)  # journey reaches its step in quiet hours
    trig.order("1001", customer="7", at=T0 + 45 * MIN)  # welcome due in quiet hours too
    # tok1 was recovered by the order; a fresh checkout is left behind right after it
    trig.checkout("tok2", customer="7", at=T0 + 50 * MIN)
    trig.run(T0 + 115 * MIN)  # in quiet hours: both wait
    assert trig.flow() == []
    trig.run(T0 + 2 * HOUR)  # quiet hours end: the cart goes first, the welcome waits 24 h
    assert trig.flow_handles() == ["abandoned-checkout"]
    welcome = next(f for f in trig.firings() if f.name == "welcome")
    assert welcome.state == "deferred"


def test_quiet_hours_defer_to_their_end_in_the_shop_time_zone(trig: TriggerWorld) -> None:
    trig.customer("7")
    with trig.runtime.sessions.begin() as session:
        from plugin.shops.models import Shop

        shop = session.get(Shop, trig.shop_id)
        assert shop is not None
        shop.timezone = "Europe/Warsaw"  # UTC+1 in March: 13:01 UTC is 14:01 there
    trig.set("general", quiet_hours="14:00-16:30")
    trig.checkout("tok1", customer="7", at=T0)
    trig.run(T0 + 61 * MIN)
    [firing] = trig.firings()
    assert (firing.state, firing.due_at) == ("deferred", T0 + 3 * HOUR + 30 * MIN)
    assert "quiet hours 14:00-16:30 (Europe/Warsaw)" in (firing.detail or "")
    trig.run(T0 + 3 * HOUR + 30 * MIN)
    assert trig.flow_handles() == ["abandoned-checkout"]


def test_guest_checkout_gets_no_flow_trigger_only_the_webhook_with_an_email(
    trig: TriggerWorld, receiver: Receiver
) -> None:
    # The merchant opted into the email (ids only by default, see test_triggers_personal).
    edit = trig.set("general", webhook_url=receiver.url, webhook_personal_fields="email")
    receiver.secret = edit.new_secret or ""
    trig.checkout("guest1", customer=None, at=T0, email="guest@example.com")
    trig.checkout("guest2", customer=None, at=T0)  # no email: nobody to remind
    trig.run(T0 + 61 * MIN)
    assert trig.flow() == []
    [hook] = receiver.received
    assert hook["valid"]
    assert hook["body"]["customer"] is None
    assert hook["body"]["email"] == "guest@example.com"
    assert hook["body"]["fields"]["recovery_url"].endswith("/recover/guest1")
    states = {f.checkout_token: (f.state, f.detail) for f in trig.firings()}
    assert states["guest2"] == ("skipped", "guest checkout without an email")


def test_guest_checkout_without_a_webhook_fires_nothing(trig: TriggerWorld) -> None:
    trig.checkout("guest1", customer=None, at=T0, email="guest@example.com")
    trig.run(T0 + 61 * MIN)
    [firing] = trig.firings()
    assert firing.state == "skipped"
    assert trig.outbox() == []
