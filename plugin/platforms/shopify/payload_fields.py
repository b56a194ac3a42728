"""Marshmallow building blocks for Shopify payloads: ids, GIDs, money sets, instants, tags."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, validate
from marshmallow import ValidationError as SchemaError

from plugin.errors import ValidationError
from plugin.events import Metafield
from plugin.profiles.money import to_minor

_GID = re.compile(r"^gid://shopify/(?P<kind>[A-Za-z]+)/(?P<id>[0-9]+)(\?.*)?$")
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="Not an ISO 4217 currency code.")
COUNTRY = validate.Regexp(r"^[A-Z]{2}$", error="Not an ISO 3166 alpha-2 country code.")
_CATEGORY = re.compile(r"^gid://shopify/TaxonomyCategory/([a-z0-9][a-z0-9-]{0,62})$")


# Shopify's metafield types a segment can filter on (text, number, date and time, true or
# false, and lists of text, numbers or dates), as the neutral kinds the profile stores.
METAFIELD_KINDS = {
    "single_line_text_field": "text",
    "multi_line_text_field": "text",
    "number_integer": "number",
    "number_decimal": "number",
    "date": "date",
    "date_time": "date_time",
    "boolean": "boolean",
}


def metafield(namespace: Any, key: Any, type_: Any, value: Any) -> Metafield | None:
    """A metafield as the profile keeps it, or None for a type no filter reads (json,
    references, money, …) or a value that is not of its type. A list type's value is a JSON
    array (GraphQL and REST send it as text)."""
    if not all(isinstance(x, str) and x for x in (namespace, key, type_)):
        return None
    listed = type_.startswith("list.")
    kind = METAFIELD_KINDS.get(type_.removeprefix("list."))
    if kind is None or (listed and kind == "boolean"):
        return None
    items = _json_list(value) if listed else [value]
    texts = [_metafield_text(item) for item in items or ()]
    if not texts or any(t is None for t in texts):
        return None
    return Metafield(namespace, key, kind, tuple(t for t in texts if t is not None))


def _json_list(value: Any) -> list[Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, list) else None


def _metafield_text(item: Any) -> str | None:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str | int | float):
        return str(item)
    return None


def category_id(category: Any) -> str | None:
    """A product's taxonomy category as stored: `aa-1-13` from GraphQL's `category { id }`
    or a REST payload's `category { admin_graphql_api_id }`; None when absent or unusable
    (a product without a category is the common case, never an error)."""
    if not isinstance(category, Mapping):
        return None
    gid = category.get("id") or category.get("admin_graphql_api_id")
    match = _CATEGORY.match(gid) if isinstance(gid, str) else None
    return match.group(1) if match else None


class PayloadSchema(Schema):
    """Base schema: fields we do not use are ignored, so new Shopify fields never break us."""

    class Meta:
        unknown = EXCLUDE


class ShopifyId(fields.Field):
    """A numeric Shopify id (JSON integer or digit string), kept exactly as a string."""

    default_error_messages = {"invalid": "Not a Shopify id."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.make_error("invalid")
        text = str(value)
        if not text.isascii() or not text.isdigit():
            raise self.make_error("invalid")
        return str(int(text))


class Gid(fields.Field):
    """`gid://shopify/<Kind>/<n>` → `"n"`; the GID keeps the full 64-bit id exactly."""

    default_error_messages = {"invalid": "Not a gid://shopify/{kind}/… id."}

    def __init__(self, kind: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        match = _GID.match(value) if isinstance(value, str) else None
        if match is None or match["kind"] != self.kind:
            raise self.make_error("invalid", kind=self.kind)
        return match["id"]


class Amount(fields.Field):
    """A decimal amount as Shopify sends it: a string (or an integer), never a float."""

    default_error_messages = {"invalid": "Not a decimal amount."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.make_error("invalid")
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.make_error("invalid") from None
        if not amount.is_finite():
            raise self.make_error("invalid")
        return amount


class Instant(fields.AwareDateTime):
    """An ISO 8601 instant, normalised to aware UTC (naive ones are taken as UTC)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=UTC, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)


class TagList(fields.Field):
    """Tags as a comma-separated string (REST payloads) or a list of strings."""

    default_error_messages = {"invalid": "Not a tag list."}

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[str, ...]:
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise self.make_error("invalid")
        return tuple(dict.fromkeys(t.strip() for t in value if t.strip()))


@dataclass(frozen=True)
class Money:
    minor: int
    currency: str


class MoneySchema(PayloadSchema):
    amount = Amount(required=True)
    currency_code = fields.String(required=True, validate=CURRENCY)

    @post_load
    def to_money(self, data: dict[str, Any], **_: Any) -> Money:
        return Money(to_minor(data["amount"], data["currency_code"]), data["currency_code"])


class MoneySetSchema(PayloadSchema):
    """A `*_set` pair; only the shop-money half is used (the shop's own currency)."""

    shop_money = fields.Nested(MoneySchema, required=True)

    @post_load
    def to_money(self, data: dict[str, Any], **_: Any) -> Money:
        money: Money = data["shop_money"]
        return money


def money_set(**kwargs: Any) -> fields.Nested:
    return fields.Nested(MoneySetSchema, **kwargs)


def load(schema: Schema, payload: Any, topic: str) -> Any:
    """Load a payload or raise `plugin.errors.ValidationError` naming the topic and fields."""
    if not isinstance(payload, Mapping):
        raise ValidationError(f"{topic}: payload is not a JSON object")
    try:
        return schema.load(payload)
    except SchemaError as exc:
        problems = "; ".join(f"{path}: {msg}" for path, msg in _flatten(exc.messages))
        raise ValidationError(f"{topic}: invalid payload: {problems}") from None
    except ValidationError as exc:  # raised by to_minor on an amount out of range
        raise ValidationError(f"{topic}: invalid payload: {exc.detail}") from None


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, Mapping):
        out: list[tuple[str, str]] = []
        for key, value in messages.items():
            out.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(prefix or "payload", " ".join(messages))]
    if isinstance(messages, list):
        return [pair for m in messages for pair in _flatten(m, prefix)]
    return [(prefix or "payload", str(messages))]
