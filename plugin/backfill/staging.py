"""Staging: a batch of parsed rows becomes staged rows, one INSERT per staging table.

Each staged row already holds the final column values: source versions
("<resource updated_at>|import:<run>", so a webhook about a newer state wins whatever the
order), casefolds, and the hashed tombstone keys that let the merge skip deleted, merged
and redacted records in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from plugin.backfill.models import (
    StagedCustomer,
    StagedOrder,
    StagedOrderLine,
    StagedProduct,
    StagedTag,
)
from plugin.backfill.rawinsert import insert_rows
from plugin.events import make_version
from plugin.platforms.port import HistoryRow
from plugin.profiles.customer_tags import tag_key
from plugin.profiles.products import casefold
from plugin.profiles.tombstones import tombstone_key

STAGING_TABLES = (StagedCustomer, StagedTag, StagedProduct, StagedOrder, StagedOrderLine)
TAG_KIND = {"customers": "customer", "products": "product"}


class Stager:
    """Turns the rows of one run into staged rows (keeps per-run constants)."""

    def __init__(self, shop_id: int, run_id: int, started_at: datetime) -> None:
        self.shop_id = shop_id
        self.run_id = run_id
        self.source = f"import:{run_id}"
        # What changes without touching updated_at (the platform's statistics and totals)
        # is versioned at the moment the run started: a later webhook wins.
        self.snapshot_version = make_version(started_at, None, self.source)

    def version(self, instant: datetime | None) -> str:
        return make_version(instant, None, self.source)

    def stage(self, session: Session, numbered: Iterable[tuple[int, HistoryRow]]) -> int:
        """Stage `(line number, row)` pairs with one INSERT per table; returns rows staged."""
        tables: dict[Any, list[dict[str, Any]]] = {t: [] for t in STAGING_TABLES}
        for seq, (kind, values) in numbered:
            base = {"shop_id": self.shop_id, "run_id": self.run_id, "seq": seq}
            if kind == "customer":
                tables[StagedCustomer].append(self._customer(base, values))
                tables[StagedTag] += self._tags(seq, "customer", values["tags"], tag_key)
            elif kind == "product":
                tables[StagedProduct].append(self._product(base, values))
                tables[StagedTag] += self._tags(seq, "product", values["tags"], casefold)
            elif kind == "order":
                tables[StagedOrder].append(self._order(base, values))
            elif kind == "line":
                tables[StagedOrderLine].append({**base, **values})
        connection = session.connection()
        for table, rows in tables.items():
            insert_rows(connection, table.__table__, rows)
        return sum(len(rows) for table, rows in tables.items() if table is not StagedTag)

    def _customer(self, base: dict[str, Any], v: dict[str, Any]) -> dict[str, Any]:
        row = {**base, **{k: val for k, val in v.items() if k not in ("tags", "has_consent")}}
        email = v["email"]
        row["email_cf"] = email.casefold() if email else None
        row["tomb_key"] = tombstone_key(self.shop_id, v["platform_id"])
        row["profile_version"] = self.version(v["platform_updated_at"])
        consent_at = v["email_consent_updated_at"] or v["platform_updated_at"]
        row["consent_version"] = self.version(consent_at) if v["has_consent"] else None
        row["statistics_version"] = self.snapshot_version
        return row

    def _tags(self, seq: int, kind: str, tags: list[str], fold: Any) -> list[dict[str, Any]]:
        unique = {fold(t): t.strip() for t in tags if t and t.strip()}
        return [
            {
                "shop_id": self.shop_id,
                "run_id": self.run_id,
                "kind": kind,
                "owner_seq": seq,
                "tag_cf": cf,
                "tag": tag,
            }
            for cf, tag in unique.items()
            if cf
        ]

    def _product(self, base: dict[str, Any], v: dict[str, Any]) -> dict[str, Any]:
        return {
            **base,
            "platform_id": v["platform_id"],
            "title": v["title"],
            "product_type": v["product_type"],
            "product_type_cf": casefold(v["product_type"]),
            "vendor": v["vendor"],
            "vendor_cf": casefold(v["vendor"]),
            "version": self.version(v["updated_at"]),
        }

    def _order(self, base: dict[str, Any], v: dict[str, Any]) -> dict[str, Any]:
        row = {**base, **v}
        email, customer = v["email"], v["customer_platform_id"]
        row["email_cf"] = email.casefold() if email else None
        row["tomb_key"] = tombstone_key(self.shop_id, v["platform_id"])
        row["customer_tomb_key"] = tombstone_key(self.shop_id, customer) if customer else None
        row["has_discount"] = bool(v["discount_codes"]) or bool(v["discount_minor"])
        row["discount_codes"] = {"codes": list(v["discount_codes"])}
        row["refund_ids"] = {"ids": list(v["refund_ids"])}
        row["version"] = self.version(v["platform_updated_at"])
        return row


def clear_staged(session: Session, run_id: int) -> None:
    """Delete every staged row of a run (it is done)."""
    for table in STAGING_TABLES:
        session.execute(delete(table).where(table.run_id == run_id))


def clear_phase(session: Session, run_id: int, resource: str) -> None:
    """Forget what a phase staged (its export is run again: line numbers start over)."""
    tables: tuple[Any, ...] = {
        "customers": (StagedCustomer,),
        "products": (StagedProduct,),
        "orders": (StagedOrder, StagedOrderLine),
    }[resource]
    for table in tables:
        session.execute(delete(table).where(table.run_id == run_id))
    if resource in TAG_KIND:
        session.execute(
            delete(StagedTag).where(
                StagedTag.run_id == run_id, StagedTag.kind == TAG_KIND[resource]
            )
        )
