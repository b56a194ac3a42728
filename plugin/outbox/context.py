"""What a deliverer works with: its context (session, shop, paced client, clock), the
`Later` it raises when the work must come back, and the paced Admin client. Deliverers
import this module; the delivery loop (`plugin.outbox.delivery`) runs them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from plugin.errors import PlatformError
from plugin.outbox.models import OutboxItem
from plugin.outbox.pacing import Pacer
from plugin.runtime import Runtime
from plugin.shops.models import Shop

CALL_TIMEOUT: tuple[float, float] = (5, 30)  # (connect, read) seconds per shop call


class Later(Exception):
    """The row's work is under way or must wait: due again after `delay`, still claimed,
    keeping what the deliverer wrote (e.g. the bulk operation's id in the payload)."""

    def __init__(self, delay: timedelta, note: str | None = None) -> None:
        super().__init__(note or f"again in {delay}")
        self.delay = delay
        self.note = note


class PacedClient:
    """The shop's Admin GraphQL client behind the pacer: before each call it ends the
    session's open transaction, waits for API points, and learns the bucket afterwards."""

    def __init__(self, runtime: Runtime, shop: Shop, session: Session, pacer: Pacer) -> None:
        self.runtime = runtime
        self._shop = shop
        self.session = session
        self.pacer = pacer
        self._client: Any = None

    @property
    def admin(self) -> Any:
        """The underlying AdminClient (the token is fetched, and refreshed, on first use)."""
        if self._client is None:
            from plugin.platforms.shopify.client import AdminClient
            from plugin.shops.tokens import access_token

            self.session.commit()
            token = access_token(self.runtime, self._shop.id)
            self._client = AdminClient(
                self.runtime.http,
                self.runtime.settings,
                self._shop.domain,
                token,
                timeout=CALL_TIMEOUT,
            )
        return self._client

    def execute(
        self, document: Any, variables: dict[str, Any] | None = None, *, cost: float | None = None
    ) -> dict[str, Any]:
        client, domain = self.admin, self._shop.domain
        self.session.commit()
        self.pacer.before(domain, document.name, cost, guess=document.first_call_cost)
        try:
            data: dict[str, Any] = client.execute(document, variables)
        except PlatformError as exc:
            if client.last_cost is not None:
                self.pacer.after(domain, document.name, client.last_cost)
            elif getattr(exc, "wait_seconds", None) is not None:
                self.pacer.throttled(domain)
            raise
        self.pacer.after(domain, document.name, client.last_cost)
        return data

    @property
    def last_cost(self) -> Any:
        return self._client.last_cost if self._client is not None else None

    def __getattr__(self, name: str) -> Any:
        # Bulk helpers may use the client's other attributes (http, shop, url).
        return getattr(self.admin, name)


@dataclass
class DeliveryContext:
    """What a deliverer gets besides its row."""

    session: Session
    shop: Shop
    runtime: Runtime
    client: PacedClient
    now: datetime
    # What the attempt tried (e.g. the tags to add): stored as the row's result if it fails.
    note: dict[str, Any] = field(default_factory=dict)

    def before_call(self) -> None:
        """End the open transaction; call before any outbound request not made by `client`."""
        self.session.commit()


Deliverer = Callable[[DeliveryContext, OutboxItem], dict[str, Any] | None]
