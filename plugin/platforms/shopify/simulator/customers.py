"""The simulated shops' customers and their tags, with Shopify's tag limits and a change log."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError

from plugin.platforms.shopify.simulator.connections import nested

# "A customer can have up to 250 tags. Each tag can have up to 255 characters." (Shopify's
# schema docstring). The userError wording of real Shopify is not documented: these are ours.
MAX_TAGS = 250
MAX_TAG_LENGTH = 255
TOO_MANY_TAGS = "Tags cannot be more than 250 for a customer"
TAG_TOO_LONG = "Tag is too long (maximum is 255 characters)"
NO_SUCH_CUSTOMER = "Customer does not exist"
GID_PREFIX = "gid://shopify/Customer/"

TagChange = tuple[str, str, str, str]  # (shop, customer id, "add" | "remove", tag)
TagResult = tuple[list[dict[str, Any]], list[str]]  # (userErrors, tags actually changed)


@dataclass
class SimCreditAccount:
    """A store credit account: its balance, and its credits as (id, created at, expires at
    or None, remaining amount)."""

    account_id: str
    currency: str
    balance: str
    credits: list[tuple[str, str, str | None, str]] = field(default_factory=list)

    def node(self) -> dict[str, Any]:
        credits = [
            {
                "__typename": "StoreCreditAccountCreditTransaction",
                "id": f"gid://shopify/StoreCreditAccountCreditTransaction/{credit_id}",
                "createdAt": created,
                "expiresAt": expires,
                "remainingAmount": {"amount": remaining, "currencyCode": self.currency},
            }
            for credit_id, created, expires, remaining in self.credits
        ]
        return {
            "__typename": "StoreCreditAccount",
            "id": f"gid://shopify/StoreCreditAccount/{self.account_id}",
            "balance": {"amount": self.balance, "currencyCode": self.currency},
            "transactions": nested(credits),
        }


@dataclass
class SimCustomer:
    customer_id: str
    email: str | None = None
    tags: list[str] = field(default_factory=list)
    email_marketing_state: str = "NOT_SUBSCRIBED"
    first_name: str | None = None
    last_name: str | None = None
    created_at: str = "2026-01-01T00:00:00Z"
    updated_at: str = "2026-01-01T00:00:00Z"
    # What the history import reads (bulk customers query); see simulator/history.py.
    phone: str | None = None
    state: str = "ENABLED"
    locale: str = "en"
    verified_email: bool = True
    address: tuple[str, str | None, str | None] | None = None  # (country, province, city)
    # addresses besides the default one (Shopify lists the default among them too)
    other_addresses: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    email_opt_in_level: str | None = None
    email_consent_updated_at: str | None = None
    number_of_orders: int = 0
    amount_spent: str = "0.00"
    currency: str = "USD"
    rfm_group: str | None = None
    spend_tier: str | None = None
    # SMS consent of the phone number, as GraphQL's CustomerMarketingConsentState spells it
    sms_marketing_state: str = "NEVER_SUBSCRIBED"
    sms_opt_in_level: str | None = None
    sms_consent_updated_at: str | None = None
    # (namespace, key, type, value) as Shopify stores them (a list type's value is JSON)
    metafields: list[tuple[str, str, str, str]] = field(default_factory=list)
    company_ids: list[str] = field(default_factory=list)  # B2B companies it buys for
    store_credit: list[SimCreditAccount] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return GID_PREFIX + self.customer_id

    def node(self) -> dict[str, Any]:
        """The customer as GraphQL resolves it (a snapshot: later changes do not show)."""
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        address = None
        if self.email:
            address = {
                "emailAddress": self.email,
                "marketingState": self.email_marketing_state,
                "marketingUpdatedAt": self.email_consent_updated_at,
                "marketingOptInLevel": self.email_opt_in_level,
                "validFormat": "@" in self.email,
            }
        return {
            "__typename": "Customer",
            "id": self.gid,
            "legacyResourceId": self.customer_id,
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "displayName": name or self.email or "",
            "tags": list(self.tags),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "defaultEmailAddress": address,
            **self._history_fields(),
        }

    def _history_fields(self) -> dict[str, Any]:
        country, province, city = self.address or (None, None, None)
        return {
            "state": self.state,
            "locale": self.locale,
            "verifiedEmail": self.verified_email,
            "defaultPhoneNumber": self._phone(),
            "defaultAddress": (
                {"countryCodeV2": country, "provinceCode": province, "city": city}
                if self.address
                else None
            ),
            "addressesV2": _address_connection(self.gid, self.all_addresses()),
            "metafields": nested(self.metafield_nodes()),
            "storeCreditAccounts": nested([a.node() for a in self.store_credit]),
            "companyContactProfiles": [
                {"company": {"id": f"gid://shopify/Company/{c}"}} for c in self.company_ids
            ],
            "numberOfOrders": str(self.number_of_orders),
            "amountSpent": {"amount": self.amount_spent, "currencyCode": self.currency},
            "statistics": {"predictedSpendTier": self.spend_tier, "rfmGroup": self.rfm_group},
        }

    def _phone(self) -> dict[str, Any] | None:
        if not self.phone:
            return None
        consent = {
            "state": self.sms_marketing_state,
            "optInLevel": self.sms_opt_in_level,
            "updatedAt": self.sms_consent_updated_at,
        }
        return {"phoneNumber": self.phone, "smsMarketingConsent": consent}

    def metafield_nodes(self) -> list[dict[str, Any]]:
        return [
            {
                "id": f"gid://shopify/Metafield/{self.customer_id}{k:02d}",
                "namespace": namespace,
                "key": key,
                "type": type_,
                "value": value,
            }
            for k, (namespace, key, type_, value) in enumerate(self.metafields)
        ]

    def all_addresses(self) -> list[tuple[str, str | None, str | None]]:
        """Every address, the default first (as Shopify's `addressesV2` and `addresses`)."""
        return [*([self.address] if self.address else []), *self.other_addresses]


def _address_connection(
    gid: str, addresses: list[tuple[str, str | None, str | None]]
) -> Callable[..., Any]:
    number = gid.rsplit("/", 1)[-1]
    nodes = [
        {
            "id": f"gid://shopify/MailingAddress/{number}{k:02d}?model_name=CustomerAddress",
            "countryCodeV2": country,
            "provinceCode": province,
            "city": city,
        }
        for k, (country, province, city) in enumerate(addresses)
    ]
    return nested(nodes)


# Customer fields Shopify refuses without scopes. Shopify asks the transactions scope of
# an account's `transactions` only; the import always reads both, so one check serves.
SCOPED_FIELDS: dict[str, tuple[str, ...]] = {
    "storeCreditAccounts": (
        "read_store_credit_accounts",
        "read_store_credit_account_transactions",
    ),
}


def guarded(node: dict[str, Any], scopes: list[str], denied: set[str]) -> dict[str, Any]:
    """The node with each field the token may not read (`denied`, or a scope it lacks)
    answering ACCESS_DENIED, as Shopify does, when asked for."""
    lacking = {f for f, need in SCOPED_FIELDS.items() if not set(need) <= set(scopes)}
    refused = set(denied) | lacking
    return {**node, **{f: _access_denied(f) for f in refused if f in node}}


def _access_denied(name: str) -> Callable[..., Any]:
    def field(_info: Any, **_args: Any) -> Any:
        message = f"Access denied for {name} field."
        raise GraphQLError(message, extensions={"code": "ACCESS_DENIED"})

    return field


def customer_id_of(gid: str) -> str | None:
    """`gid://shopify/Customer/7` -> `7`; None for any other id."""
    return gid[len(GID_PREFIX) :] if gid.startswith(GID_PREFIX) else None


def split_tags(tags: list[str]) -> list[str]:
    """Shopify accepts `["a", "b"]` or `"a, b"`: split on commas, trim, drop blanks and repeats."""
    seen: set[str] = set()
    result = []
    for part in (p.strip() for tag in tags for p in tag.split(",")):
        if part and part.lower() not in seen:
            seen.add(part.lower())
            result.append(part)
    return result


class CustomerStore:
    """Customers per shop. Tags compare case-insensitively, as Shopify's do."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.by_shop: dict[str, dict[str, SimCustomer]] = {}
        # Only effective changes: a tag added that was there already is not logged.
        self.log: list[TagChange] = []

    def add(self, shop: str, customer: SimCustomer) -> SimCustomer:
        with self.lock:
            self.by_shop.setdefault(shop, {})[customer.customer_id] = customer
        return customer

    def get(self, shop: str, customer_id: str) -> SimCustomer | None:
        with self.lock:
            return self.by_shop.get(shop, {}).get(customer_id)

    def all(self, shop: str) -> list[SimCustomer]:
        """The shop's customers in id order (numeric ids sort as numbers)."""
        with self.lock:
            customers = list(self.by_shop.get(shop, {}).values())
        return sorted(customers, key=lambda c: (len(c.customer_id), c.customer_id))

    def add_tags(self, shop: str, customer_id: str, tags: list[str]) -> TagResult:
        """Add tags: (userErrors, []) changing nothing, or ([], the tags newly added)."""
        wanted = split_tags(tags)
        with self.lock:
            customer = self.get(shop, customer_id)
            if customer is None:
                return [_error(NO_SUCH_CUSTOMER, "id")], []
            if any(len(tag) > MAX_TAG_LENGTH for tag in wanted):
                return [_error(TAG_TOO_LONG, "tags")], []
            present = {t.lower() for t in customer.tags}
            new = [t for t in wanted if t.lower() not in present]
            if len(customer.tags) + len(new) > MAX_TAGS:
                return [_error(TOO_MANY_TAGS, "tags")], []
            customer.tags.extend(new)
            self.log.extend((shop, customer_id, "add", t) for t in new)
        return [], new

    def remove_tags(self, shop: str, customer_id: str, tags: list[str]) -> TagResult:
        """Remove tags (absent ones are ignored): (userErrors, []) or ([], the tags removed)."""
        unwanted = {t.lower() for t in split_tags(tags)}
        with self.lock:
            customer = self.get(shop, customer_id)
            if customer is None:
                return [_error(NO_SUCH_CUSTOMER, "id")], []
            gone = [t for t in customer.tags if t.lower() in unwanted]
            customer.tags[:] = [t for t in customer.tags if t.lower() not in unwanted]
            self.log.extend((shop, customer_id, "remove", t) for t in gone)
        return [], gone


def _error(message: str, name: str) -> dict[str, Any]:
    return {"field": [name], "message": message}
