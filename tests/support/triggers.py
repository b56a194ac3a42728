"""Helpers for the trigger tests: a shop installed against the simulator, deliveries through
the worker at a given time, the scan and the outbox at a given time, and a receiver for the
outbound webhook that checks signatures and de-duplicates by trigger_id.

    def test_x(trig: TriggerWorld) -> None:
        trig.checkout("tok1", customer="7", at=T0)
        trig.scan(T0 + timedelta(minutes=61))
        trig.deliver(T0 + timedelta(minutes=61))
        assert trig.flow_handles() == ["abandoned-checkout"]
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from plugin.inbox.models import DONE, DUPLICATE, InboxRow
from plugin.outbox.delivery import drain as drain_outbox
from plugin.outbox.models import OutboxItem
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.runtime import Runtime
from plugin.shops.services import install_shop
from plugin.shops.tokens import Credentials
from plugin.triggers import settings as trigger_settings
from plugin.triggers.models import CheckoutJourney, TriggerFiring
from plugin.triggers.payloads import SIGNATURE_HEADER, signature
from plugin.triggers.scan import scan_shop
from plugin.worker import process_batch
from tests.support.inbox import deliver
from tests.support.profiles import checkout_payload, line_item, order_payload

SHOP = "triggers.myshopify.com"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, noon UTC


@dataclass
class Receiver:
    """The merchant's endpoint for the outbound webhook (a real HTTP server)."""

    url: str = ""
    secret: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)  # every request, in order
    statuses: list[int] = field(default_factory=list)  # answers to give first (then 200)

    def unique(self) -> dict[str, dict[str, Any]]:
        """What a receiver de-duplicating by trigger_id keeps: one body per trigger_id."""
        return {r["body"]["trigger_id"]: r["body"] for r in self.received if r["valid"]}


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            given = self.headers.get(SIGNATURE_HEADER, "")
            valid = bool(receiver.secret) and given == signature(receiver.secret, raw)
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            receiver.received.append(
                {"body": json.loads(raw), "valid": valid, "status": status, "raw": raw}
            )
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/shop-segments"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


@dataclass
class TriggerWorld:
    runtime: Runtime
    simulator: SimulatorHandle
    shop_id: int
    domain: str = SHOP

    # --- the shop --------------------------------------------------------------------

    def set(self, name: str, **pairs: Any) -> trigger_settings.Edit:
        with self.runtime.sessions.begin() as session:
            text = {k: str(v) for k, v in pairs.items()}
            key = self.runtime.settings.secret_key
            return trigger_settings.apply_edit(session, self.shop_id, name, text, key)

    def customer(self, customer_id: str, state: str = "SUBSCRIBED") -> None:
        """The customer in the simulated shop, with this email marketing state."""
        self.simulator.state.add_customer(
            self.domain,
            customer_id,
            email=f"c{customer_id}@example.com",
            email_marketing_state=state,
        )

    # --- events through the worker ----------------------------------------------------

    def webhook(self, topic: str, payload: dict[str, Any], at: datetime) -> None:
        deliver(self.runtime, self.domain, payload, topic=topic, triggered_at=at)
        assert process_batch(self.runtime, now=at) == 1
        with self.runtime.sessions() as session:
            row = session.scalars(select(InboxRow).order_by(InboxRow.id.desc()).limit(1)).one()
            # A failure here is retried later by the worker; the tests read its effects now.
            assert row.status in (DONE, DUPLICATE), (row.status, row.last_error)

    def checkout(
        self, token: str, *, customer: str | None, at: datetime, total: str = "80.00", **fields: Any
    ) -> dict[str, Any]:
        fields.setdefault("abandoned_checkout_url", f"https://{self.domain}/recover/{token}")
        fields.setdefault("line_items", [line_item("501", total, title="Trail shoe")])
        payload = checkout_payload(token, customer=customer, total=total, updated_at=at, **fields)
        self.webhook("checkouts/update", payload, at)
        return payload

    def order(
        self,
        order_id: str,
        *,
        customer: str | None,
        at: datetime,
        processed_at: datetime | None = None,
        **fields: Any,
    ) -> None:
        payload = order_payload(order_id, customer=customer, total="80.00", updated_at=at, **fields)
        self.webhook("orders/create", payload, processed_at or at)

    # --- time passing -------------------------------------------------------------------

    def scan(self, at: datetime) -> int:
        return scan_shop(self.runtime, self.shop_id, at)

    def deliver(self, at: datetime) -> int:
        return drain_outbox(self.runtime, now=at)

    def run(self, at: datetime) -> None:
        """A minute of the worker's schedule at `at`: the scan, then the outbox."""
        self.scan(at)
        self.deliver(at)

    # --- what happened --------------------------------------------------------------------

    def flow(self) -> list[dict[str, Any]]:
        return [t for t in self.simulator.state.flow_triggers if t["shop"] == self.domain]

    def flow_of(self, handle: str) -> list[dict[str, Any]]:
        return [t for t in self.flow() if t["handle"] == handle]

    def flow_handles(self) -> list[str]:
        return [t["handle"] for t in self.flow()]

    def firings(self) -> list[TriggerFiring]:
        with self.runtime.sessions() as session:
            stmt = select(TriggerFiring).where(TriggerFiring.shop_id == self.shop_id)
            return list(session.scalars(stmt.order_by(TriggerFiring.id)))

    def journey(self, token: str) -> CheckoutJourney:
        with self.runtime.sessions() as session:
            found = session.scalar(
                select(CheckoutJourney).where(CheckoutJourney.checkout_token == token)
            )
            assert found is not None
            return found

    def outbox(self, kind: str | None = None) -> list[OutboxItem]:
        with self.runtime.sessions() as session:
            stmt = select(OutboxItem).where(OutboxItem.shop_id == self.shop_id)
            if kind:
                stmt = stmt.where(OutboxItem.kind == kind)
            return list(session.scalars(stmt.order_by(OutboxItem.id)))


@pytest.fixture
def trig(sim_runtime: Runtime, simulator: SimulatorHandle) -> TriggerWorld:
    """A shop installed at T0 against the simulator (custom app token)."""
    token = simulator.state.issue_custom_token(SHOP)
    simulator.state.add_shop(SHOP, timezone="UTC")
    with sim_runtime.sessions.begin() as session:
        shop = install_shop(
            session,
            sim_runtime.settings,
            "shopify",
            SHOP,
            Credentials(token, scopes=tuple(simulator.state.app_scopes)),
            auth_method="custom",
            now=T0,
        )
        shop_id = shop.id
    return TriggerWorld(sim_runtime, simulator, shop_id)
