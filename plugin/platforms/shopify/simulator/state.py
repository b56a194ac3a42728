"""The simulated shops' state: shops, issued tokens, recorded requests and failure switches."""

from __future__ import annotations

import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from plugin.platforms.shopify.simulator.bulk_operations import SimBulkOperation
from plugin.platforms.shopify.simulator.customers import CustomerStore, SimCustomer, TagChange
from plugin.platforms.shopify.simulator.history import SimOrder
from plugin.platforms.shopify.simulator.switches import Switches
from plugin.platforms.shopify.simulator.traffic import Traffic

REFRESH_TOKEN_TTL = 7776000  # 90 days, as Shopify's expiring offline tokens
CODE_TTL = 600


@dataclass
class SimShop:
    domain: str
    name: str
    timezone: str = "America/New_York"
    currency: str = "USD"
    shop_id: int = 0


@dataclass
class IssuedToken:
    """One access token (and its refresh token when expiring) the simulator handed out."""

    shop: str
    access_token: str
    scopes: list[str]
    how: str  # code | token_exchange | refresh | custom
    expires_at: float | None = None
    refresh_token: str | None = None
    refresh_expires_at: float | None = None
    revoked: bool = False

    def usable(self, now: float) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


@dataclass
class RecordedRequest:
    kind: str  # authorize | access_token | graphql | admin_app
    shop: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 0
    at: float = field(default_factory=time.time)

    @property
    def grant_type(self) -> str:
        return str(
            self.body.get("grant_type") or ("authorization_code" if "code" in self.body else "")
        )


@dataclass
class WebhookDelivery:
    shop: str
    topic: str
    url: str
    payload: Any
    status: int | None  # None: the address did not answer
    at: float = field(default_factory=time.time)


class SimulatorState:
    """Everything the simulated shops know. Thread-safe: the server runs a thread per request."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        application_url: str | None = None,
        app_scopes: list[str] | None = None,
        app_webhooks: list[tuple[str, str]] | None = None,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        # The app's URL Shopify opens in the admin, and the scopes its managed install grants.
        self.application_url = application_url
        self.app_scopes = list(app_scopes or [])
        # App-specific subscriptions (shopify.app.toml): (topic enum, uri), for every shop.
        self.app_webhooks = list(app_webhooks or [])
        self.switches = Switches()
        self.shops: dict[str, SimShop] = {}
        self.tokens: list[IssuedToken] = []
        self.codes: dict[str, tuple[str, list[str], float]] = {}
        self.requests: list[RecordedRequest] = []
        self.subscriptions: dict[str, list[dict[str, str]]] = {}
        self.products: dict[str, dict[str, dict[str, Any]]] = {}
        self.orders: dict[str, dict[str, SimOrder]] = {}
        self.lock = threading.RLock()
        # Where the server listens (set once it runs): staged uploads and results live there.
        self.root_url = ""
        self.customers = CustomerStore(self.lock)
        self.flow_triggers: list[dict[str, Any]] = []
        self.traffic = Traffic(self.lock, self.switches)
        self.throttled_count = self.traffic.throttled_count  # THROTTLED answers per shop
        self.uploads: dict[str, bytes] = {}
        self.bulk_operations: dict[int, SimBulkOperation] = {}
        self.webhook_deliveries: list[WebhookDelivery] = []
        # The app's subscriptions per shop (Shopify App Pricing), oldest first.
        self.app_subscriptions: dict[str, list[dict[str, Any]]] = {}
        # Webhooks waiting to be sent, in order, by one sender thread (see deliveries.py).
        self.outgoing_webhooks: queue.Queue[tuple[str, str, Any]] = queue.Queue()
        self.webhook_sender: threading.Thread | None = None

    # --- shops ---------------------------------------------------------------------------

    def add_shop(
        self, domain: str, *, timezone: str = "America/New_York", currency: str = "USD"
    ) -> SimShop:
        with self.lock:
            handle = domain.split(".", 1)[0]
            shop = SimShop(
                domain,
                handle.replace("-", " ").title(),
                timezone,
                currency,
                shop_id=len(self.shops) + 1,
            )
            self.shops[domain] = shop
            return shop

    def shop(self, domain: str) -> SimShop:
        """A shop by domain; unknown shops come into being on first use, like a dev store."""
        with self.lock:
            return self.shops.get(domain) or self.add_shop(domain)

    def add_product(
        self,
        shop: str,
        product_id: str,
        *,
        title: str,
        product_type: str = "",
        vendor: str = "",
        tags: list[str] | None = None,
        updated_at: str = "2026-01-01T00:00:00Z",
        category: str | None = None,
    ) -> None:
        """A product of the shop's catalogue, as `nodes(ids:)` answers it; `category` is a
        taxonomy category id such as `aa-1-13`."""
        taxonomy = {"id": f"gid://shopify/TaxonomyCategory/{category}"} if category else None
        with self.lock:
            self.products.setdefault(shop, {})[product_id] = {
                "__typename": "Product",
                "id": f"gid://shopify/Product/{product_id}",
                "title": title,
                "productType": product_type,
                "vendor": vendor,
                "tags": list(tags or []),
                "updatedAt": updated_at,
                "category": taxonomy,
            }

    def add_order(self, shop: str, order: SimOrder) -> SimOrder:
        """An order of the shop's history (see simulator/history.py)."""
        self.shop(shop)
        with self.lock:
            self.orders.setdefault(shop, {})[order.order_id] = order
        return order

    def shop_orders(self, shop: str) -> list[SimOrder]:
        with self.lock:
            orders = list(self.orders.get(shop, {}).values())
        return sorted(orders, key=lambda o: (len(o.order_id), o.order_id))

    def shop_products(self, shop: str) -> list[dict[str, Any]]:
        with self.lock:
            items = list(self.products.get(shop, {}).items())
        return [node for _, node in sorted(items, key=lambda kv: (len(kv[0]), kv[0]))]

    # --- customers and tags -------------------------------------------------------------

    def add_customer(
        self,
        shop: str,
        customer_id: str | int,
        *,
        email: str | None = None,
        tags: tuple[str, ...] | list[str] = (),
        email_marketing_state: str = "NOT_SUBSCRIBED",
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> SimCustomer:
        """A customer; `email_marketing_state` is a CustomerEmailAddressMarketingState value."""
        self.shop(shop)
        customer = SimCustomer(
            str(customer_id),
            email,
            list(tags),
            email_marketing_state,
            first_name,
            last_name,
        )
        return self.customers.add(shop, customer)

    def customer(self, shop: str, customer_id: str | int) -> SimCustomer | None:
        return self.customers.get(shop, str(customer_id))

    def customer_tags(self, shop: str, customer_id: str | int) -> list[str]:
        """The customer's tags now, in the order they were added."""
        with self.lock:
            customer = self.customers.get(shop, str(customer_id))
            return list(customer.tags) if customer else []

    @property
    def tag_log(self) -> list[TagChange]:
        """Every effective tag change: (shop, customer id, "add" | "remove", tag)."""
        return self.customers.log

    def record_flow_trigger(self, shop: str, handle: str, payload: Any) -> None:
        with self.lock:
            self.flow_triggers.append(
                {"shop": shop, "handle": handle, "payload": payload, "at": time.time()}
            )

    def reset_faults(self) -> None:
        """Restart the fault sequence from `switches.seed`."""
        self.traffic.reset_faults()

    # --- app subscriptions (Shopify App Pricing) ------------------------------------------

    def choose_plan(self, shop: str, name: str, *, test: bool = True) -> list[dict[str, Any]]:
        """The merchant picks a plan on the hosted page: a new ACTIVE subscription, and the
        one it replaces CANCELLED. The changed subscriptions, the new one first."""
        moment = _now_text()
        with self.lock:
            subs = self.app_subscriptions.setdefault(shop, [])
            replaced = [s for s in subs if s["status"] == "ACTIVE"]
            number = sum(len(s) for s in self.app_subscriptions.values()) + 1
            new = {
                "id": f"gid://shopify/AppSubscription/{number}",
                "name": name,
                "status": "ACTIVE",
                "test": test,
                "createdAt": moment,
                "updatedAt": moment,
            }
            for sub in replaced:
                sub.update(status="CANCELLED", updatedAt=moment)
            subs.append(new)
            return [dict(new), *(dict(s) for s in replaced)]

    def active_subscriptions(self, shop: str) -> list[dict[str, Any]]:
        with self.lock:
            return [
                dict(s) for s in self.app_subscriptions.get(shop, []) if s["status"] == "ACTIVE"
            ]

    # --- bulk operations and staged uploads ----------------------------------------------

    def store_upload(self, key: str, data: bytes) -> None:
        with self.lock:
            self.uploads[key] = data

    def upload(self, key: str) -> bytes | None:
        with self.lock:
            return self.uploads.get(key)

    def new_bulk_operation(self, shop: str, kind: str, query: str) -> SimBulkOperation | None:
        """A CREATED operation of `kind` (MUTATION | QUERY); None while too many still run."""
        limit = (
            self.switches.bulk_mutation_limit
            if kind == "MUTATION"
            else self.switches.bulk_query_limit
        )
        with self.lock:
            if len(self.running_bulk_operations(shop, kind)) >= limit:
                return None
            op = SimBulkOperation(len(self.bulk_operations) + 1, shop, kind, query)
            self.bulk_operations[op.op_id] = op
            return op

    def running_bulk_operations(self, shop: str, kind: str) -> list[SimBulkOperation]:
        with self.lock:
            return [
                op
                for op in self.bulk_operations.values()
                if op.shop == shop and op.type == kind and op.running
            ]

    def bulk_operation(self, op_id: int) -> SimBulkOperation | None:
        with self.lock:
            return self.bulk_operations.get(op_id)

    # --- tokens --------------------------------------------------------------------------

    def issue_code(self, shop: str, scopes: list[str]) -> str:
        code = secrets.token_hex(16)
        with self.lock:
            self.codes[code] = (shop, scopes, time.time() + CODE_TTL)
        return code

    def take_code(self, shop: str, code: str) -> list[str] | None:
        """The scopes a code grants, once; None for an unknown, reused, expired or foreign code."""
        with self.lock:
            entry = self.codes.pop(code, None)
        if entry is None or entry[0] != shop or entry[2] < time.time():
            return None
        return entry[1]

    def issue_token(self, shop: str, scopes: list[str], how: str, *, expiring: bool) -> IssuedToken:
        now = time.time()
        token = IssuedToken(shop, "shpat_" + secrets.token_hex(16), list(scopes), how)
        if expiring:
            token.expires_at = now + self.switches.access_token_ttl
            token.refresh_token = "shprt_" + secrets.token_hex(16)
            token.refresh_expires_at = now + REFRESH_TOKEN_TTL
        with self.lock:
            self.tokens.append(token)
        return token

    def issue_custom_token(self, shop: str, scopes: list[str] | None = None) -> str:
        """A custom app's Admin API token (never expires), as a merchant would paste it."""
        granted = self.app_scopes if scopes is None else scopes
        return self.issue_token(shop, granted, "custom", expiring=False).access_token

    def rotate(self, shop: str, refresh_token: str) -> IssuedToken | None:
        """Refresh: a new pair replaces the old one; the old refresh token stops working."""
        with self.lock:
            old = next(
                (
                    t
                    for t in self.tokens
                    if t.refresh_token == refresh_token and t.shop == shop and not t.revoked
                ),
                None,
            )
            if old is None or (old.refresh_expires_at or 0) < time.time():
                return None
            old.revoked = True
        return self.issue_token(shop, old.scopes, "refresh", expiring=True)

    def token(self, access_token: str) -> IssuedToken | None:
        with self.lock:
            return next((t for t in self.tokens if t.access_token == access_token), None)

    def uninstall(self, shop: str) -> None:
        """The merchant removes the app: its tokens stop working, its subscriptions go."""
        with self.lock:
            for token in self.tokens:
                if token.shop == shop:
                    token.revoked = True
            self.subscriptions.pop(shop, None)

    def expire_access_token(self, access_token: str) -> None:
        with self.lock:
            token = self.token(access_token)
            if token is not None:
                token.expires_at = time.time() - 1

    # --- recording -----------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> RecordedRequest:
        with self.lock:
            self.requests.append(request)
        return request

    def requests_of(
        self, kind: str, shop: str | None = None, grant_type: str | None = None
    ) -> list[RecordedRequest]:
        with self.lock:
            return [
                r
                for r in self.requests
                if r.kind == kind
                and (shop is None or r.shop == shop)
                and (grant_type is None or r.grant_type == grant_type)
            ]

    def add_subscription(self, shop: str, topic: str, uri: str) -> dict[str, str] | None:
        """Store a webhook subscription; None when this topic already goes to this address."""
        with self.lock:
            subs = self.subscriptions.setdefault(shop, [])
            if any(s["topic"] == topic and s["uri"] == uri for s in subs):
                return None
            sub = {
                "id": f"gid://shopify/WebhookSubscription/{len(subs) + 1}",
                "topic": topic,
                "uri": uri,
            }
            subs.append(sub)
            return sub

    def subscription_uris(self, shop: str, topic: str) -> list[str]:
        """Where the shop delivers `topic` (the GraphQL enum spelling, e.g. ORDERS_CREATE)."""
        with self.lock:
            shop_level = [s["uri"] for s in self.subscriptions.get(shop, []) if s["topic"] == topic]
        return shop_level + [uri for t, uri in self.app_webhooks if t == topic]

    def record_delivery(self, delivery: WebhookDelivery) -> None:
        with self.lock:
            self.webhook_deliveries.append(delivery)


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
