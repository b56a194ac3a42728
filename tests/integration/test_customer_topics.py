"""The customer topics subscribed for issue 10: account enabled/disabled, SMS consent —
each example payload over HTTP, through the worker, into the profile."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from plugin.inbox.models import DONE
from plugin.manifest import topics
from plugin.profiles.models import Customer
from tests.support.live import LiveApp
from tests.support.profiles import load_example

SHOP = "demo-shop.myshopify.com"
BOB = "706405506930370084"  # the example customer's exact id (from its GID)


def bob(live_app: LiveApp) -> Customer:
    with live_app.runtime.sessions() as session:
        customer = session.scalar(select(Customer).where(Customer.platform_id == BOB))
        assert customer is not None
        return customer


def deliver(live_app: LiveApp, topic: str, payload: dict[str, Any]) -> None:
    assert topic in topics()  # subscribed: manifest.json, hence shopify.app.toml and install
    assert live_app.post_webhook(topic, SHOP, payload).status_code == 200
    live_app.drain()
    assert [(r.status, r.last_error) for r in live_app.inbox_rows()][-1] == (DONE, None)


def stored_bob(live_app: LiveApp, state: str) -> None:
    live_app.install_shop(SHOP)
    payload = load_example("customers/create")
    payload.update(state=state, updated_at="2026-01-01T00:00:00Z")
    deliver(live_app, "customers/create", payload)


def test_customers_disable_marks_the_profile_disabled(live_app: LiveApp) -> None:
    stored_bob(live_app, "enabled")
    payload = load_example("customers/disable")
    payload.update(state="disabled", updated_at="2026-02-01T00:00:00Z")
    deliver(live_app, "customers/disable", payload)
    assert bob(live_app).state == "disabled"


def test_customers_enable_marks_the_profile_enabled(live_app: LiveApp) -> None:
    stored_bob(live_app, "disabled")
    payload = load_example("customers/enable")  # Shopify's example says "disabled"
    payload.update(state="enabled", updated_at="2026-02-01T00:00:00Z")
    deliver(live_app, "customers/enable", payload)
    assert bob(live_app).state == "enabled"


def test_sms_consent_update_sets_the_sms_state_and_an_older_one_is_ignored(
    live_app: LiveApp,
) -> None:
    stored_bob(live_app, "enabled")
    payload = load_example("customers_marketing_consent/update")  # its state is null
    payload["sms_marketing_consent"].update(
        state="subscribed", opt_in_level="single_opt_in", consent_updated_at="2026-03-01T00:00:00Z"
    )
    deliver(live_app, "customers_marketing_consent/update", payload)
    customer = bob(live_app)
    assert customer.sms_marketing_state == "subscribed"
    assert customer.first_name == "Bob"  # the profile is not the SMS topic's to write

    payload["sms_marketing_consent"].update(
        state="unsubscribed", consent_updated_at="2026-02-01T00:00:00Z"
    )
    deliver(live_app, "customers_marketing_consent/update", payload)  # arrives late
    assert bob(live_app).sms_marketing_state == "subscribed"
