"""Order payloads mapped in plain code for the worker's hot path (marshmallow costs ~1.5 ms
an order, more than the whole budget at thousands of orders a second).

`order_data` takes only the shape Shopify sends (JSON types as documented, ISO instants,
shop-money sets); anything else, including every invalid payload, returns None and the
caller loads it with the marshmallow schemas, which decide and explain. A test holds the
two paths equal on every fixture and on generated payloads.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from plugin.errors import ValidationError
from plugin.events import Address, CustomerData, LineItem, OrderData
from plugin.profiles.money import to_minor

_GID = re.compile(r"^gid://shopify/(?P<kind>[A-Za-z]+)/(?P<id>[0-9]+)(\?.*)?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CUSTOMER_STATES = frozenset({"disabled", "invited", "enabled", "declined"})


class _Slow(Exception):
    """Not the plain shape: let the schemas load it."""


def order_data(payload: Any) -> OrderData | None:
    """The order in an orders/* payload, or None when the schemas must decide."""
    try:
        return _order(payload)
    except _Slow:
        return None


def _order(p: Any) -> OrderData:
    _dict(p)
    current = _money_set(p.get("current_total_price_set"))
    original = _money_set(p.get("total_price_set"))
    total = current or original
    if total is None:
        raise _Slow
    discount = _money_set(p.get("total_discounts_set"))
    customer = _customer(p.get("customer"))
    locale = _str(p.get("customer_locale"), 32)
    if customer is not None and locale:
        customer = replace(customer, locale=locale)
    lines = p.get("line_items")
    if not isinstance(lines, list):
        raise _Slow
    # Every field is checked as the schema checks it, even one an earlier field overrides.
    order_id, gid = _id(p.get("id")), _gid(p.get("admin_graphql_api_id"), "Order")
    email, contact = _str(p.get("email")), _str(p.get("contact_email"))
    processed, created = _instant(p.get("processed_at")), _instant(p.get("created_at"))
    return OrderData(
        platform_id=gid or order_id,
        customer=customer,
        email=email or contact,
        name=_str(p.get("name"), 64),
        currency=total[1],
        total_minor=total[0],
        original_total_minor=original[0] if original else None,
        discount_minor=discount[0] if discount else None,
        financial_status=_str(p.get("financial_status"), 32),
        cancelled_at=_instant(p.get("cancelled_at")),
        test=bool(_bool(p.get("test"))),
        source_name=_str(p.get("source_name")),
        discount_codes=tuple(_code(d) for d in _list(p.get("discount_codes"))),
        checkout_token=_str(p.get("checkout_token"), 255),
        cart_token=_str(p.get("cart_token"), 255),
        refund_ids=tuple(_refund_id(r) for r in _list(p.get("refunds"))),
        ordered_at=processed or created,
        updated_at=_instant(p.get("updated_at")),
        line_items=tuple(_line(line) for line in lines),
        app_id=_optional_id(p.get("app_id")),
        location_id=_optional_id(p.get("location_id")),
    )


def _line(p: Any) -> LineItem:
    _dict(p)
    quantity = p.get("quantity")
    if type(quantity) is not int or quantity < 0:
        raise _Slow
    price = _money_set(p.get("price_set"))
    if price is None:
        raise _Slow
    listed = _list(p.get("discount_allocations"))
    allocations = [_money_set(_dict(a).get("amount_set")) for a in listed]
    if any(a is None for a in allocations):
        raise _Slow
    total_discount = _money_set(p.get("total_discount_set"))
    if allocations:
        discount = sum(a[0] for a in allocations if a)
    else:
        discount = total_discount[0] if total_discount else 0
    line_id, gid = _optional_id(p.get("id")), _gid(p.get("admin_graphql_api_id"), "LineItem")
    return LineItem(
        platform_id=gid or line_id,
        product_id=_optional_id(p.get("product_id")),
        variant_id=_optional_id(p.get("variant_id")),
        title=_str(p.get("title")),
        vendor=_str(p.get("vendor"), 255),
        quantity=quantity,
        price_minor=price[0],
        discount_minor=discount,
    )


def _customer(p: Any) -> CustomerData | None:
    if p is None:
        return None
    _dict(p)
    state = _str(p.get("state"))
    if state is not None and state not in _CUSTOMER_STATES:
        raise _Slow
    customer_id, gid = _id(p.get("id")), _gid(p.get("admin_graphql_api_id"), "Customer")
    return CustomerData(
        platform_id=gid or customer_id,
        email=_str(p.get("email"), 320),
        phone=_str(p.get("phone"), 64),
        first_name=_str(p.get("first_name"), 255),
        last_name=_str(p.get("last_name"), 255),
        state=state,
        verified_email=_bool(p.get("verified_email")),
        address=_address(p.get("default_address")),
        created_at=_instant(p.get("created_at")),
        updated_at=_instant(p.get("updated_at")),
        tags=None,
        email_marketing_state=None,
        email_marketing_opt_in_level=None,
        email_consent_updated_at=None,
        addresses=None,
        metafields=None,
    )


def _address(p: Any) -> Address | None:
    if p is None:
        return None
    _dict(p)
    country = _str(p.get("country_code"))
    if country is not None and not _COUNTRY.match(country):
        raise _Slow
    return Address(country, _str(p.get("province_code"), 16), _str(p.get("city"), 255))


def _money_set(p: Any) -> tuple[int, str] | None:
    """(minor units, currency) of a `*_set`'s shop money."""
    if p is None:
        return None
    money = _dict(_dict(p).get("shop_money"))
    amount, currency = money.get("amount"), money.get("currency_code")
    if isinstance(amount, bool) or not isinstance(amount, str | int):
        raise _Slow
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise _Slow
    try:
        value = Decimal(str(amount).strip())
        if not value.is_finite():
            raise _Slow
        return to_minor(value, currency), currency
    except (InvalidOperation, ValidationError):
        raise _Slow from None


def _code(p: Any) -> str:
    code = _dict(p).get("code")
    if not isinstance(code, str):
        raise _Slow
    return code


def _refund_id(p: Any) -> str:
    _dict(p)
    refund_id = _id(p.get("id"))
    return _gid(p.get("admin_graphql_api_id"), "Refund") or refund_id


def _dict(p: Any) -> dict[str, Any]:
    if not isinstance(p, dict):
        raise _Slow
    return p


def _list(p: Any) -> list[Any]:
    if p is None:
        return []
    if not isinstance(p, list):
        raise _Slow
    return p


def _str(value: Any, limit: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or (limit is not None and len(value) > limit):
        raise _Slow
    return value


def _bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise _Slow


def _id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _Slow
    text = str(value)
    if not text.isascii() or not text.isdigit():
        raise _Slow
    return str(int(text))


def _optional_id(value: Any) -> str | None:
    return None if value is None else _id(value)


def _gid(value: Any, kind: str) -> str | None:
    if value is None:
        return None
    match = _GID.match(value) if isinstance(value, str) else None
    if match is None or match["kind"] != kind:
        raise _Slow
    return match["id"]


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Slow
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Slow from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
