"""Data-request exports: rows rendered as JSON, stored for the merchant and read back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from plugin.privacy.models import PrivacyExport

FORMAT = "shop-segments/customer-export@1"


def json_value(key: str, value: Any) -> Any:
    """Ids as strings (JavaScript loses 64-bit integers), dates and datetimes as ISO 8601."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool) and _is_id(key):
        return str(value)
    return value


def _is_id(key: str) -> bool:
    return key == "id" or key.endswith("_id")


def row_document(row: Mapping[Any, Any]) -> dict[str, Any]:
    """One table row as JSON; the shop key is left out (every row of an export shares it)."""
    return {k: json_value(k, v) for k, v in row.items() if k != "shop_id"}


def rows_document(session: Session, stmt: Select[Any]) -> list[dict[str, Any]]:
    return [row_document(row) for row in session.execute(stmt).mappings()]


def store_export(
    session: Session,
    shop_id: int,
    customer_platform_id: str,
    request_id: str | None,
    data: dict[str, Any],
    now: datetime,
) -> PrivacyExport:
    """Keep an export for the merchant; a repeated request refreshes its earlier export."""
    export = None
    if request_id is not None:
        export = session.scalar(
            select(PrivacyExport).where(
                PrivacyExport.shop_id == shop_id,
                PrivacyExport.customer_platform_id == customer_platform_id,
                PrivacyExport.request_id == request_id,
            )
        )
    if export is None:
        export = PrivacyExport(
            shop_id=shop_id, customer_platform_id=customer_platform_id, request_id=request_id
        )
        session.add(export)
    export.data, export.created_at = data, now
    session.flush()
    return export


def list_exports(session: Session, shop_id: int) -> list[PrivacyExport]:
    """The shop's exports, newest first."""
    stmt = (
        select(PrivacyExport)
        .where(PrivacyExport.shop_id == shop_id)
        .order_by(PrivacyExport.created_at.desc(), PrivacyExport.id.desc())
    )
    return list(session.scalars(stmt))


def get_export(session: Session, shop_id: int, export_id: int) -> PrivacyExport | None:
    return session.scalar(
        select(PrivacyExport).where(PrivacyExport.shop_id == shop_id, PrivacyExport.id == export_id)
    )


def recent_exports(session: Session, shop_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The shop's latest exports (id, customer_platform_id, request_id, created_at), newest
    first, without reading their data."""
    stmt = (
        select(
            PrivacyExport.id,
            PrivacyExport.customer_platform_id,
            PrivacyExport.request_id,
            PrivacyExport.created_at,
        )
        .where(PrivacyExport.shop_id == shop_id)
        .order_by(PrivacyExport.created_at.desc(), PrivacyExport.id.desc())
        .limit(limit)
    )
    return [dict(row) for row in session.execute(stmt).mappings()]


def export_summary(export: PrivacyExport) -> dict[str, Any]:
    """What the listing shows of an export (not its data)."""
    return {
        "id": str(export.id),
        "customer_id": export.customer_platform_id,
        "request_id": export.request_id,
        "created_at": export.created_at.isoformat(),
    }


def group_by(rows: Iterable[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    grouped: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row[key], []).append(row)
    return grouped
