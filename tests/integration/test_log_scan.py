"""The log scan: a full scenario run with the app's logging at DEBUG (every logger, every
record captured) must leave no email, phone, name, street, token, secret or payload fragment
in any log line — the install, webhooks of every topic (failing ones too), sweeps, tag
pushes, triggers, privacy requests and the admin pages."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from plugin.app import create_app
from plugin.db import utcnow
from plugin.logs import configure_logging
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.settings import Settings
from tests.integration.test_actions_end_to_end import SHOP, Shopify, install
from tests.support.admin import sign_in
from tests.support.live import LiveApp
from tests.support.profiles import checkout_payload, customer_payload, line_item, order_payload
from tests.webhooks.test_receiver_fuzz import EXAMPLE_TOPICS, load_example

PERSON = {
    "email": "quillfeather.zbigniewska@example.org",
    "phone": "+48601234567",
    "first_name": "Quillfeather",
    "last_name": "Zbigniewska",
}
STREET = "Marszałkowska 140"
NOTE = "payload-fragment-7f3a9c"  # a value only the payload carries


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {text}")


@pytest.fixture
def settings(settings: Settings, simulator: SimulatorHandle) -> Settings:
    return replace(settings, shopify_base_url=simulator.base_url)


@pytest.fixture
def debug_logs(settings: Settings) -> Iterator[Capture]:
    """The app's own logging configuration at DEBUG, every logger passing to the root."""
    manager = logging.Logger.manager
    levels = {name: logger.level for name, logger in manager.loggerDict.items()
              if isinstance(logger, logging.Logger)}  # fmt: skip
    root_level, factory = logging.root.level, logging.getLogRecordFactory()
    for name in levels:
        logging.getLogger(name).setLevel(logging.NOTSET)
    configure_logging("DEBUG", [settings.shopify_api_secret, settings.secret_key])
    capture = Capture()
    logging.root.addHandler(capture)
    try:
        yield capture
    finally:
        logging.root.removeHandler(capture)
        logging.root.setLevel(root_level)
        logging.setLogRecordFactory(factory)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _scenario(live: LiveApp, simulator: SimulatorHandle) -> dict[str, Any]:
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=26)
    names = {"first_name": PERSON["first_name"], "last_name": PERSON["last_name"]}
    simulator.state.add_customer(
        SHOP, 1, email=PERSON["email"], email_marketing_state="SUBSCRIBED", **names
    )
    shop_id = install(live, simulator, t0)
    shop = Shopify(live, simulator, shop_id)
    at = t0 + timedelta(minutes=1)
    person = customer_payload("1", updated_at=at, created_at=at.isoformat(), **PERSON)
    person["default_address"].update(address1=STREET, **PERSON)
    shop.webhook("customers/create", person, at)
    order = order_payload("1001", customer="1", total="150.00", updated_at=at, note=NOTE)
    order["email"] = PERSON["email"]
    shop.webhook("orders/create", order, at)
    cart = checkout_payload("tok-q", customer="1", total="80.00", updated_at=at,
                            line_items=[line_item("501", "80.00", title="Trail shoe")])  # fmt: skip
    shop.webhook("checkouts/update", cart, at)
    shop.tick(at + timedelta(hours=12))
    assert _admin_pages(create_app(live.runtime), live, shop_id) >= 3
    # Shopify's own examples of every subscribed topic (shop/redact last, in the test).
    for topic in (t for t in EXAMPLE_TOPICS if t != "shop/redact"):
        live.post_webhook(topic, SHOP, load_example(topic))
    _failing_deliveries(live)
    shop.work(at + timedelta(hours=13))
    shop.tick(at + timedelta(hours=25))
    return {"shop_id": shop_id, "redact": {"customer": {"id": 1, **PERSON}}}


def _failing_deliveries(live: LiveApp) -> None:
    body = json.dumps({"id": 1, "email": PERSON["email"], "note": NOTE}).encode()
    live.post_webhook("customers/update", SHOP, body=body, secret="wrong-secret")
    live.post_webhook("customers/update", SHOP, body=b'{"email": "' + PERSON["email"].encode()
                      + b'", "x": "\x00"}')  # fmt: skip
    live.post_webhook("orders/create", SHOP, body=b'{"a":' * 1200 + b"1" + b"}" * 1200)
    live.post_webhook("customers/update", "other-shop.myshopify.com", body=body)


def _admin_pages(app: Flask, live: LiveApp, shop_id: int) -> int:
    """Every parameterless GET page of the admin and API, signed in; how many answered."""
    answered = 0
    with app.test_client() as client:
        sign_in(client, live.runtime, shop_id)
        for rule in app.url_map.iter_rules():
            if (
                "GET" in (rule.methods or ())
                and not rule.arguments
                and (rule.rule.startswith(("/admin", "/api")))
            ):
                answered += (
                    client.get(rule.rule, query_string={"q": PERSON["email"]}).status_code < 500
                )
    return answered


def test_a_full_scenario_at_debug_logs_nothing_personal(
    live_app: LiveApp, simulator: SimulatorHandle, debug_logs: Capture
) -> None:
    facts = _scenario(live_app, simulator)
    live_app.post_webhook("customers/redact", SHOP, {"shop_domain": SHOP, **facts["redact"],
                                                     "orders_to_redact": [1001]})  # fmt: skip
    live_app.drain()
    live_app.post_webhook("shop/redact", SHOP, load_example("shop/redact"))
    live_app.drain()
    tokens = [t.access_token for t in simulator.state.tokens]
    settings = live_app.settings
    needles = [*PERSON.values(), STREET, NOTE, *tokens, settings.shopify_api_secret,
               settings.secret_key]  # fmt: skip
    assert len(debug_logs.lines) > 50  # the scenario really logged at DEBUG
    leaks = [(needle, line[:300]) for line in debug_logs.lines for needle in needles
             if needle and needle in line]  # fmt: skip
    assert leaks == []
