"""A customer's metafields as typed rows: written whole with the profile (per namespace the
payload carries), read by the segment language's `metafields.<namespace>.<key>` and
`anniversary()`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from plugin.events import Metafield
from plugin.profiles.facts_models import CustomerMetafield
from plugin.profiles.models import Customer

KINDS = ("text", "number", "date", "date_time", "boolean")
MetafieldRow = dict[str, Any]


def typed_columns(kind: str, value: str) -> dict[str, Any] | None:
    """The typed columns of one value of `kind`, or None when the value does not parse (it
    is then not stored: no filter could match it)."""
    empty: dict[str, Any] = dict.fromkeys(
        ("text_cf", "number_value", "date_value", "at_value", "bool_value", "month_day")
    )
    try:
        if kind == "text":
            return empty | {"text_cf": value.casefold()}
        if kind == "number":
            number = Decimal(value.strip())
            return empty | {"number_value": float(number)} if number.is_finite() else None
        if kind == "boolean":
            flag = value.strip().lower()
            return empty | {"bool_value": flag == "true"} if flag in ("true", "false") else None
        day = date.fromisoformat(value.strip()[:10])
        month_day = day.month * 100 + day.day
        if kind == "date":
            return empty | {"date_value": day, "month_day": month_day}
        if kind == "date_time":
            return empty | {"at_value": _instant(value.strip()), "month_day": month_day}
    except (InvalidOperation, ValueError):
        return None
    return None


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def metafield_rows(
    shop_id: int, customer_id: int | None, metafields: Iterable[Metafield]
) -> list[MetafieldRow]:
    """The customer_metafields rows of `metafields` (values that do not parse are left out)."""
    rows = []
    for field in metafields:
        if field.kind not in KINDS:
            continue
        for position, value in enumerate(field.values):
            typed = typed_columns(field.kind, value)
            if typed is None:
                continue
            rows.append(
                {
                    "shop_id": shop_id,
                    "customer_id": customer_id,
                    "namespace": field.namespace,
                    "key": field.key,
                    "position": position,
                    "type": field.kind,
                    "value": value,
                    **typed,
                }
            )
    return rows


def replace_metafields(session: Session, customer: Customer, metafields: list[Metafield]) -> None:
    """The customer's metafields of every namespace `metafields` names, as stated: a webhook
    carries only the namespaces its subscription asks for, so others stay (two statements)."""
    namespaces = sorted({m.namespace for m in metafields})
    if not namespaces:
        return
    session.execute(
        delete(CustomerMetafield).where(
            CustomerMetafield.shop_id == customer.shop_id,
            CustomerMetafield.customer_id == customer.id,
            CustomerMetafield.namespace.in_(namespaces),
        )
    )
    rows = metafield_rows(customer.shop_id, customer.id, metafields)
    if rows:
        session.execute(insert(CustomerMetafield), rows)
