"""History JSONL lines (bulk results, or paged nodes flattened alike) → plain domain rows.

Hand-written rather than marshmallow: an import parses millions of lines, and each row
must carry exactly what the webhook mapping (payload_customers, payload_orders) gives the
profile store: platform ids as numeric text, money in minor units of the shop currency,
enum values lowercased as REST payloads spell them, the same line discount rule. Instants
are fixed-width UTC text (`stamp`), the form source versions carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from plugin.errors import ValidationError
from plugin.platforms.shopify.payload_fields import category_id, metafield
from plugin.profiles.money import currency_exponent, to_minor

Row = tuple[str, dict[str, Any]]  # (kind: customer | address | metafield | product | …, values)
Numbered = tuple[int, Row]  # (the line's position in the given lines, its row)

_GID = re.compile(r"^gid://shopify/([A-Za-z]+)/([0-9]+)")
_PLAIN = re.compile(r"^-?[0-9]+\.[0-9]{2}$")
GID_PREFIX = "gid://shopify/"
KINDS = {
    "Customer": "customer",
    "MailingAddress": "address",
    "Product": "product",
    "Order": "order",
    "LineItem": "line",
    "Metafield": "metafield",
    "StoreCreditAccount": "store_credit_account",
    "StoreCreditAccountCreditTransaction": "store_credit",
}
PREFIXES = {kind: f"{GID_PREFIX}{name}/" for name, kind in KINDS.items()}
_SHOPIFY_STAMP = len("2026-01-01T00:00:00Z")  # how Shopify writes a DateTime
_OFFSET_STAMP = len("2026-01-01T00:00:00+00:00")
_REPEATED: dict[str, str | None] = {}  # ids that recur across lines (products, customers)
REPEATED_MAX = 200_000
_CENTS: dict[str, bool] = {}  # currency → has two decimals


def numeric_id(gid: Any) -> str | None:
    """`gid://shopify/Order/12` → `"12"` (the exact 64-bit id as text)."""
    if not isinstance(gid, str):
        return None
    match = _GID.match(gid)
    return match.group(2) if match else None


def _id(gid: Any, prefix: str) -> str | None:
    """numeric_id, quicker for a gid of the expected type (most of an import's work is
    ids: four per line item)."""
    if type(gid) is str and gid.startswith(prefix):
        number = gid[len(prefix) :]
        if number.isdigit() and number.isascii():
            return number
    return numeric_id(gid)


def _repeated_id(gid: Any) -> str | None:
    """numeric_id of an id many lines name (a product, a variant, an order's customer)."""
    try:
        return _REPEATED[gid]
    except KeyError:
        if len(_REPEATED) >= REPEATED_MAX:
            _REPEATED.clear()
        number = _REPEATED[gid] = numeric_id(gid)
        return number
    except TypeError:  # not hashable: not an id
        return None


def _owned_id(owner: Any) -> str | None:
    """The numeric id of `{ id }` (a product, a customer, an app), or None."""
    return _repeated_id(owner.get("id")) if owner else None


def instant(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stamp(value: Any) -> str | None:
    """A DateTime as fixed-width UTC text, `2026-01-01T00:00:00.000000Z`: the instant half of
    a source version (plugin.events.make_version), so it compares in time order as text.
    Shopify's own form is rewritten without parsing; any other ISO form is parsed."""
    if not value:
        return None
    text = str(value)
    if len(text) == _SHOPIFY_STAMP and text[10] == "T" and text[19] == "Z":
        return text[:19] + ".000000Z"
    if len(text) == _OFFSET_STAMP and text[10] == "T" and text.endswith("+00:00"):
        return text[:19] + ".000000Z"
    moment = instant(text)
    assert moment is not None
    return moment.isoformat(timespec="microseconds")[:26] + "Z"


def minor(money: Any) -> tuple[int, str] | None:
    """A MoneyV2 (or a MoneyBag's shopMoney) as (minor units, currency)."""
    if type(money) is not dict:
        return None
    money = money.get("shopMoney", money)
    amount, currency = str(money["amount"]), str(money["currencyCode"])
    cents = _CENTS.get(currency)
    if cents is None:
        if len(_CENTS) >= REPEATED_MAX:
            _CENTS.clear()
        cents = _CENTS[currency] = currency_exponent(currency) == 2
    if cents and _PLAIN.match(amount):
        return int(amount.replace(".", "")), currency  # the common case, exactly
    return to_minor(amount, currency), currency


def _lower(value: Any) -> str | None:
    return str(value).lower() if value else None


def rows_from_lines(
    lines: Iterable[bytes | str | dict[str, Any]], resource: str = "customers"
) -> Iterator[Numbered]:
    """(position, row) per line of `resource`'s export; a line of an unknown kind is
    skipped, a bad one refused (not JSON, nested deeper than the parser allows, not an
    object, missing fields)."""
    builders = {**BUILDERS, **RESOURCE_BUILDERS.get(resource, {})}
    for position, raw in enumerate(lines):
        node = raw if isinstance(raw, dict) else _parse(position, raw)
        gid = node.get("id")
        if "__parentId" in node and type(gid) is str and gid.startswith(PREFIXES["line"]):
            kind = "line"  # most lines: no need to look the type up
        else:
            match = _GID.match(gid) if isinstance(gid, str) else None
            kind = KINDS.get(match.group(1), "") if match else ""
        if kind not in builders:
            continue
        try:
            built = builders[kind](node)
            yield position, (built if isinstance(built, tuple) else (kind, built))
        except (KeyError, TypeError, ValueError, AttributeError, AssertionError) as exc:
            raise ValidationError(f"history line {gid}: {type(exc).__name__} {exc}") from None


def _parse(position: int, raw: bytes | str) -> dict[str, Any]:
    try:
        node = orjson.loads(raw)  # refuses nesting deeper than 1024 levels, as it should
    except orjson.JSONDecodeError as exc:
        raise ValidationError(f"history line {position + 1}: not JSON ({exc})") from None
    if type(node) is not dict:
        raise ValidationError(f"history line {position + 1}: not a JSON object")
    return node


def customer_row(node: dict[str, Any]) -> dict[str, Any]:
    email = node.get("defaultEmailAddress") or {}
    phone = node.get("defaultPhoneNumber") or {}
    sms = phone.get("smsMarketingConsent") or {}
    address = node.get("defaultAddress") or {}
    spent = minor(node.get("amountSpent"))
    stats = node.get("statistics") or {}
    return {
        "platform_id": _id(node["id"], PREFIXES["customer"]),
        "email": email.get("emailAddress"),
        "phone": phone.get("phoneNumber"),
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "state": _lower(node.get("state")),
        "verified_email": node.get("verifiedEmail"),
        "country_code": address.get("countryCodeV2"),
        "province_code": address.get("provinceCode"),
        "city": address.get("city"),
        "locale": node.get("locale") or None,
        "platform_created_at": stamp(node.get("createdAt")),
        "platform_updated_at": stamp(node.get("updatedAt")),
        "has_consent": bool(email),
        "email_marketing_state": _lower(email.get("marketingState")),
        "email_marketing_opt_in_level": _lower(email.get("marketingOptInLevel")),
        "email_consent_updated_at": stamp(email.get("marketingUpdatedAt")),
        "has_sms_consent": bool(sms),
        "sms_marketing_state": sms_state(sms.get("state")),
        "sms_consent_updated_at": stamp(sms.get("updatedAt")),
        "reported_orders_count": _int(node.get("numberOfOrders")),
        "reported_amount_spent_minor": spent[0] if spent else None,
        "predicted_spend_tier": stats.get("predictedSpendTier"),
        "platform_rfm_group": stats.get("rfmGroup"),
        "tags": list(node.get("tags") or ()),
    }


def sms_state(state: Any) -> str | None:
    """GraphQL's CustomerMarketingConsentState as the customers_marketing_consent/update
    webhook spells it: NEVER_SUBSCRIBED is the REST payload's `not_subscribed`."""
    if not state:
        return None
    return "not_subscribed" if state == "NEVER_SUBSCRIBED" else str(state).lower()


def address_row(node: dict[str, Any]) -> dict[str, Any]:
    """One of a customer's addresses (an `addressesV2` node, its customer the parent)."""
    return {
        "customer_platform_id": _id(node["__parentId"], PREFIXES["customer"]),
        "country_code": node.get("countryCodeV2"),
        "province_code": node.get("provinceCode") or None,
        "city": node.get("city") or None,
    }


def metafield_row(node: dict[str, Any]) -> dict[str, Any]:
    """One of a customer's metafields (a `metafields` node, its customer the parent);
    `metafield` None for a type no filter reads."""
    return {
        "customer_platform_id": _id(node["__parentId"], PREFIXES["customer"]),
        "metafield": metafield(node["namespace"], node["key"], node["type"], node.get("value")),
    }


def _int(value: Any) -> int | None:
    return None if value is None else int(value)  # UnsignedInt64 comes as a string


def product_row(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "platform_id": numeric_id(node["id"]),
        "title": node.get("title"),
        "product_type": node.get("productType") or None,
        "vendor": node.get("vendor") or None,
        "tags": list(node.get("tags") or ()),
        "updated_at": stamp(node.get("updatedAt")),
        "category_id": category_id(node.get("category")),
    }


def order_row(node: dict[str, Any]) -> dict[str, Any]:
    total = minor(node.get("currentTotalPriceSet")) or minor(node["totalPriceSet"])
    assert total is not None
    original = minor(node.get("totalPriceSet"))
    discount = minor(node.get("totalDiscountsSet"))
    return {
        "platform_id": _id(node["id"], PREFIXES["order"]),
        "customer_platform_id": _owned_id(node.get("customer")),
        "locale": node.get("customerLocale"),
        "email": node.get("email"),
        "name": node.get("name"),
        "currency": total[1],
        "total_minor": total[0],
        "original_total_minor": original[0] if original else None,
        "discount_minor": discount[0] if discount else None,
        "discount_codes": list(node.get("discountCodes") or ()),
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "cancelled_at": stamp(node.get("cancelledAt")),
        "test": bool(node.get("test")),
        "source_name": node.get("sourceName"),
        "refund_ids": [numeric_id(r.get("id")) for r in node.get("refunds") or ()],
        "app_id": _owned_id(node.get("app")),
        "location_id": _owned_id(node.get("retailLocation")),
        "ordered_at": stamp(node.get("processedAt") or node.get("createdAt")),
        "platform_updated_at": stamp(node.get("updatedAt")),
    }


def line_row(node: dict[str, Any]) -> dict[str, Any]:
    price = minor(node["originalUnitPriceSet"])
    assert price is not None
    allocations = node.get("discountAllocations") or ()
    return {
        "order_platform_id": _id(node["__parentId"], PREFIXES["order"]),
        "platform_id": _id(node["id"], PREFIXES["line"]),
        "product_platform_id": _owned_id(node.get("product")),
        "variant_platform_id": _owned_id(node.get("variant")),
        "title": node.get("title"),
        "vendor": node.get("vendor"),
        "quantity": int(node["quantity"]),
        "price_minor": price[0],
        "discount_minor": _allocated(allocations),
    }


def _allocated(allocations: Any) -> int:
    if not allocations:
        return 0
    total = 0
    for allocation in allocations:
        amount = minor(allocation["allocatedAmountSet"])
        total += amount[0] if amount else 0
    return total


BUILDERS = {
    "customer": customer_row,
    "address": address_row,
    "metafield": metafield_row,
    "product": product_row,
    "order": order_row,
    "line": line_row,
}


def companies_row(node: dict[str, Any]) -> Row:
    """A customer's B2B companies (Customer.companyContactProfiles: one per company)."""
    profiles = node.get("companyContactProfiles") or ()
    companies = [_owned_id(p.get("company")) for p in profiles if p]
    return "companies", {
        "customer_platform_id": _id(node["id"], PREFIXES["customer"]),
        "company_ids": sorted({c for c in companies if c}),
    }


def credit_owner_row(node: dict[str, Any]) -> Row:
    """A customer the store credit export lists (its accounts are replaced, even by none)."""
    return "credit_owner", {"customer_platform_id": _id(node["id"], PREFIXES["customer"])}


def credit_account_row(node: dict[str, Any]) -> Row:
    """A store credit account of a customer (its parent): its balance and currency."""
    balance = minor(node["balance"])
    assert balance is not None
    return "credit_account", {
        "customer_platform_id": _id(node["__parentId"], PREFIXES["customer"]),
        "account_id": numeric_id(node["id"]),
        "balance_minor": balance[0],
        "currency": balance[1],
    }


def credit_row(node: dict[str, Any]) -> Row:
    """A credit given to an account (its parent): when, until when, what remains."""
    remaining = minor(node["remainingAmount"])
    assert remaining is not None
    return "credit", {
        "account_id": numeric_id(node["__parentId"]),
        "credited_at": stamp(node["createdAt"]),
        "expires_at": stamp(node.get("expiresAt")),
        "remaining_minor": remaining[0],
        "currency": remaining[1],
    }


# Lines whose kind means something else in another export: a customer line of the
# companies export carries only the customer's companies, one of the store credit export
# only says the customer was read.
RESOURCE_BUILDERS: dict[str, dict[str, Any]] = {
    "companies": {"customer": companies_row},
    "store_credit": {
        "customer": credit_owner_row,
        "store_credit_account": credit_account_row,
        "store_credit": credit_row,
    },
}


def flatten_page(
    nodes: Iterable[dict[str, Any]], parent: str | None = None
) -> Iterator[dict[str, Any]]:
    """Paged nodes as the bulk JSONL has them: a nested connection's nodes (and theirs)
    become lines of their own with `__parentId`, so one parser serves both paths."""
    for node in nodes:
        own = {k: v for k, v in node.items() if not _is_connection(v)}
        yield own if parent is None else {**own, "__parentId": parent}
        for value in node.values():
            if _is_connection(value):
                yield from flatten_page(value.get("nodes") or (), node["id"])


def _is_connection(value: Any) -> bool:
    return isinstance(value, dict) and "nodes" in value
