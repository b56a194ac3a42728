"""Flow's trigger lifecycle callback: verified like a webhook, newest wins, and a trigger goes
to Flow only while an enabled workflow uses it (no callback yet: it does)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from plugin.app import create_app
from plugin.outbox.models import FLOW_TRIGGER
from plugin.platforms.shopify.config import render_flow_trigger_tomls
from plugin.platforms.shopify.webhook_signature import webhook_hmac
from tests.conftest import TEST_API_SECRET
from tests.support import triggers as fixtures
from tests.support.triggers import SHOP, T0, TriggerWorld

trig = fixtures.trig  # the fixture, registered for this module
MIN = timedelta(minutes=1)
HANDLE = "abandoned-checkout"


def callback(
    client: FlaskClient, enabled: bool, at: str, *, secret: str = TEST_API_SECRET, **extra: Any
) -> Any:
    body = json.dumps(
        {
            "flow_trigger_definition_id": HANDLE,
            "has_enabled_flow": enabled,
            "shop_id": 690933842,
            "shopify_domain": SHOP,
            "timestamp": at,
        }
        | extra
    ).encode()
    headers = {
        "X-Shopify-Hmac-Sha256": webhook_hmac(secret, body),
        "Content-Type": "application/json",
    }
    return client.post("/flow/lifecycle", data=body, headers=headers)


def abandon(trig: TriggerWorld, customer: str, start: Any) -> None:
    """A consenting customer's checkout left idle past the threshold, then the scan and the
    outbox (each its own customer: the frequency cap must not be what holds a trigger)."""
    trig.customer(customer)
    trig.checkout(f"tok{customer}", customer=customer, at=start)
    trig.run(start + 61 * MIN)


def test_a_trigger_no_workflow_uses_is_not_sent_until_one_is_enabled(trig: TriggerWorld) -> None:
    client = create_app(trig.runtime).test_client()
    abandon(trig, "7", T0)  # no callback yet: Flow gets it
    assert trig.flow_handles() == [HANDLE]

    off = callback(client, False, "2026-03-02T14:00:00Z")
    assert off.status_code == 200 and off.get_json() == {"status": "stored"}
    abandon(trig, "8", T0 + 3 * 60 * MIN)
    assert trig.flow_handles() == [HANDLE]  # nothing more reached Flow
    skipped = trig.outbox(FLOW_TRIGGER)[-1]
    assert skipped.state == "done", (skipped.state, skipped.last_error)
    assert skipped.result["skipped"] == "no enabled Flow workflow uses this trigger"

    stale = callback(client, True, "2026-03-02T13:00:00Z")  # older than what is stored
    assert stale.get_json() == {"status": "ignored"}
    abandon(trig, "9", T0 + 6 * 60 * MIN)
    assert trig.flow_handles() == [HANDLE]

    assert callback(client, True, "2026-03-02T20:00:00Z").get_json() == {"status": "stored"}
    abandon(trig, "10", T0 + 9 * 60 * MIN)
    assert trig.flow_handles() == [HANDLE, HANDLE]


def test_bad_signatures_and_bodies_are_refused_and_unknown_shops_ignored(
    trig: TriggerWorld,
) -> None:
    client = create_app(trig.runtime).test_client()
    forged = callback(client, False, "2026-03-02T14:00:00Z", secret="not-the-secret")
    assert forged.status_code == 401 and set(forged.get_json()) == {"error", "detail"}
    unsigned = client.post("/flow/lifecycle", json={"has_enabled_flow": False})
    assert unsigned.status_code == 401
    wrong_type = callback(client, "no", "2026-03-02T14:00:00Z")  # type: ignore[arg-type]
    assert wrong_type.status_code == 400 and "has_enabled_flow" in wrong_type.get_json()["detail"]
    elsewhere = callback(client, False, "2026-03-02T14:00:00Z", shopify_domain="x.myshopify.com")
    assert elsewhere.get_json() == {"status": "ignored"}
    abandon(trig, "7", T0)  # nothing above switched the trigger off
    assert trig.flow_handles() == [HANDLE]


def test_shopify_config_renders_the_lifecycle_extension() -> None:
    tomls = render_flow_trigger_tomls("https://app.example.com")
    (path,) = [p for p, text in tomls.items() if "flow_trigger_lifecycle_callback" in text]
    text = tomls[path]
    assert path == "extensions/shop-segments-flow-usage/shopify.extension.toml"
    assert 'url = "https://app.example.com/flow/lifecycle"' in text
    assert 'handle = "shop-segments-flow-usage"' in text
