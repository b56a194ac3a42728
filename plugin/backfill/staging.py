"""Staging: a batch of parsed rows becomes staged rows, one INSERT per staging table.

Each staged row already holds the final column values: source versions
("<resource updated_at>|import:<run>", so a webhook about a newer state wins whatever the
order), casefolds, and the hashed tombstone keys that let the merge skip deleted, merged
and redacted records in SQL. Rows are built as tuples the driver takes as they are
(plugin.backfill.rawinsert): an import stages millions of lines, so the per-line Python
work here is most of its cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from plugin.backfill.models import (
    StagedAddress,
    StagedCompany,
    StagedCustomer,
    StagedMetafield,
    StagedOrder,
    StagedOrderLine,
    StagedProduct,
    StagedStoreCredit,
    StagedTag,
)
from plugin.backfill.rawinsert import insert_tuples, sqlite_time
from plugin.events import make_version
from plugin.platforms.port import HistoryRow
from plugin.profiles.addresses import city_key, region_key
from plugin.profiles.customer_tags import tag_key
from plugin.profiles.metafields import metafield_rows
from plugin.profiles.money import currency_exponent
from plugin.profiles.products import casefold
from plugin.profiles.tombstones import tombstone_key

STAGING_TABLES = (
    StagedCustomer,
    StagedAddress,
    StagedMetafield,
    StagedCompany,
    StagedStoreCredit,
    StagedTag,
    StagedProduct,
    StagedOrder,
    StagedOrderLine,
)
TAG_KIND = {"customers": "customer", "products": "product"}
NO_STAMP = "0000"  # make_version's instant when a record carries no time
KEY_CACHE = 500_000  # owners' tombstone keys remembered (each customer owns ~10 orders)

BASE = ("shop_id", "run_id", "seq")
CUSTOMER = (
    *BASE,
    *("platform_id", "tomb_key", "email", "email_cf", "phone", "first_name", "last_name"),
    *("state", "verified_email", "country_code", "province_code", "city", "locale"),
    *("platform_created_at", "platform_updated_at", "profile_version"),
    *("email_marketing_state", "email_marketing_opt_in_level", "email_consent_updated_at"),
    *("consent_version", "reported_orders_count", "reported_amount_spent_minor"),
    *("predicted_spend_tier", "platform_rfm_group", "statistics_version"),
    *("sms_marketing_state", "sms_consent_version"),
)
TAG = ("shop_id", "run_id", "kind", "owner_seq", "tag_cf", "tag")
ADDRESS: tuple[str, ...] = (*BASE, "customer_platform_id", "country_code", "province_code")
ADDRESS += ("city", "region_key", "city_key")
METAFIELD: tuple[str, ...] = (*BASE, "position", "customer_platform_id", "namespace", "key")
METAFIELD += ("type", "value", "text_cf", "number_value", "date_value", "at_value")
METAFIELD += ("bool_value", "month_day")
COMPANY = (*BASE, "position", "customer_platform_id", "company_id")
CREDIT: tuple[str, ...] = (*BASE, "kind", "customer_platform_id", "account_id", "currency")
CREDIT += ("exponent",)
CREDIT += ("amount_minor", "credited_at", "expires_at")
CREDIT_KINDS = {"credit_owner": "owner", "credit_account": "account", "credit": "credit"}
PRODUCT: tuple[str, ...] = (
    *BASE,
    "platform_id",
    "title",
    "product_type",
    "product_type_cf",
    "vendor",
)
PRODUCT += ("vendor_cf", "category_id", "version")
ORDER = (
    *BASE,
    *("platform_id", "tomb_key", "customer_platform_id", "customer_tomb_key", "locale"),
    *("email", "email_cf", "name", "currency", "total_minor", "original_total_minor"),
    *("discount_minor", "has_discount", "financial_status", "cancelled_at", "test"),
    *("source_name", "discount_codes", "refund_ids", "app_id", "location_id", "ordered_at"),
    *("platform_updated_at", "version"),
)
LINE: tuple[str, ...] = (*BASE, "order_platform_id", "platform_id", "product_platform_id")
LINE += ("variant_platform_id", "title", "vendor", "quantity", "price_minor", "discount_minor")
_LINE_VALUES = itemgetter(*LINE[len(BASE) :])
_PLAIN_ORDER = itemgetter("name", "currency", "total_minor", "original_total_minor")


def _sqlite_time(value: str | None) -> str | None:
    """A row's UTC stamp as SQLite stores a UTCDateTime (plugin.db): naive, with a space."""
    return value[:10] + " " + value[11:26] if value else None


def _same(value: str | None) -> str | None:
    return value  # PostgreSQL parses the stamp (COPY sends text) into timestamptz


Staged = dict[str, list[tuple[Any, ...]]]  # one batch's rows, by staging table
TABLES = (
    (StagedCustomer, CUSTOMER, "c"),
    (StagedAddress, ADDRESS, "a"),
    (StagedMetafield, METAFIELD, "m"),
    (StagedCompany, COMPANY, "b"),
    (StagedStoreCredit, CREDIT, "s"),
    (StagedTag, TAG, "t"),
    (StagedProduct, PRODUCT, "p"),
    (StagedOrder, ORDER, "o"),
    (StagedOrderLine, LINE, "l"),
)
CHILDREN = ("t", "a", "m", "b", "s")  # rows of another row's line: not counted as staged


class Stager:
    """Turns the rows of one run into staged rows (keeps per-run constants). It pickles
    (without its cache), so a second process can build the rows (plugin.backfill.builder)."""

    def __init__(self, shop_id: int, run_id: int, started_at: datetime, dialect: str) -> None:
        self.shop_id = shop_id
        self.run_id = run_id
        self.suffix = f"|import:{run_id}"
        # What changes without touching updated_at (the platform's statistics and totals)
        # is versioned at the moment the run started: a later webhook wins.
        self.snapshot_version = make_version(started_at, None, f"import:{run_id}")
        self.time: Callable[[str | None], str | None] = (
            _sqlite_time if dialect == "sqlite" else _same
        )
        self._keys: dict[str, str] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_keys": {}}

    def version(self, stamp: str | None) -> str:
        """The source version of a row whose resource time is `stamp` (make_version's form)."""
        return (stamp or NO_STAMP) + self.suffix

    def stage(self, session: Session, numbered: Iterable[tuple[int, HistoryRow]]) -> int:
        """Stage `(line number, row)` pairs with one INSERT per table; returns rows staged."""
        return self.write(session, self.build(numbered))

    def write(self, session: Session, staged: Staged) -> int:
        """INSERT built rows, one statement per table; returns rows staged."""
        connection = session.connection()
        for table, columns, key in TABLES:
            insert_tuples(connection, table.__tablename__, columns, staged[key])
        # customers read by the companies and store credit exports
        owners = sum(1 for r in staged["b"] if r[3] == -1)
        owners += sum(1 for r in staged["s"] if r[3] == "owner")
        return sum(len(rows) for key, rows in staged.items() if key not in CHILDREN) + owners

    def build(self, numbered: Iterable[tuple[int, HistoryRow]]) -> Staged:
        """`(line number, row)` pairs as the tuples `write` inserts."""
        out: Staged = {key: [] for _table, _columns, key in TABLES}
        lines, orders = out["l"].append, out["o"].append
        shop, run = self.shop_id, self.run_id
        for seq, (kind, values) in numbered:
            if kind == "line":
                lines((shop, run, seq, *_LINE_VALUES(values)))
            elif kind == "order":
                orders(self._order(seq, values))
            elif kind == "customer":
                out["c"].append(self._customer(seq, values))
                out["a"] += self._address(seq, values["platform_id"], values)
                out["t"] += self._tags(seq, "customer", values["tags"], tag_key)
            elif kind == "address" and values["customer_platform_id"]:
                out["a"] += self._address(seq, values["customer_platform_id"], values)
            elif kind == "metafield" and values["customer_platform_id"]:
                out["m"] += self._metafield(seq, values["customer_platform_id"], values)
            elif kind == "companies" and values["customer_platform_id"]:
                owner, companies = values["customer_platform_id"], values["company_ids"]
                out["b"] += [(shop, run, seq, -1, owner, None)]
                out["b"] += [(shop, run, seq, k, owner, c) for k, c in enumerate(companies)]
            elif kind in CREDIT_KINDS:
                out["s"].append(self._credit(seq, CREDIT_KINDS[kind], values))
            elif kind == "product":
                out["p"].append(self._product(seq, values))
                out["t"] += self._tags(seq, "product", values["tags"], casefold)
        return out

    def _key(self, platform_id: str) -> str:
        """Tombstone keys of owners, remembered: hashing is a real part of staging's cost."""
        key = self._keys.get(platform_id)
        if key is None:
            if len(self._keys) >= KEY_CACHE:
                self._keys.clear()
            key = self._keys[platform_id] = tombstone_key(self.shop_id, platform_id)
        return key

    def _customer(self, seq: int, v: dict[str, Any]) -> tuple[Any, ...]:
        email, time, updated = v["email"], self.time, v["platform_updated_at"]
        consent_at = v["email_consent_updated_at"]
        consent = self.version(consent_at or updated) if v["has_consent"] else None
        # SMS consent is versioned as the customers_marketing_consent/update webhook is:
        # by its own update time, else the customer's
        sms_at = v["sms_consent_updated_at"]
        sms = self.version(sms_at or updated) if v["has_sms_consent"] else None
        return (
            *(self.shop_id, self.run_id, seq, v["platform_id"]),
            tombstone_key(self.shop_id, v["platform_id"]),
            *(email, email.casefold() if email else None, v["phone"], v["first_name"]),
            *(v["last_name"], v["state"], v["verified_email"], v["country_code"]),
            *(v["province_code"], v["city"], v["locale"], time(v["platform_created_at"])),
            *(time(updated), self.version(updated), v["email_marketing_state"]),
            *(v["email_marketing_opt_in_level"], time(consent_at), consent),
            *(v["reported_orders_count"], v["reported_amount_spent_minor"]),
            *(v["predicted_spend_tier"], v["platform_rfm_group"], self.snapshot_version),
            *(v["sms_marketing_state"], sms),
        )

    def _address(self, seq: int, owner: str, v: dict[str, Any]) -> list[tuple[Any, ...]]:
        """A staged address (none for a place with no part known). A customer line stages
        its default address under its own line number; the merge drops the repeat."""
        country, province, city = v["country_code"], v["province_code"], v["city"]
        if not (country or province or city):
            return []
        country = country.upper() if country else None
        keys = (region_key(country, province), city_key(country, province, city))
        return [(self.shop_id, self.run_id, seq, owner, country, province, city, *keys)]

    def _metafield(self, seq: int, owner: str, v: dict[str, Any]) -> list[tuple[Any, ...]]:
        """A staged metafield's values, typed as customer_metafields stores them."""
        if v["metafield"] is None:
            return []
        sqlite = self.time is _sqlite_time
        rows = []
        for row in metafield_rows(self.shop_id, None, [v["metafield"]]):
            day, at = row["date_value"], row["at_value"]
            rows.append(
                (
                    *(self.shop_id, self.run_id, seq, row["position"], owner),
                    *(row["namespace"], row["key"], row["type"], row["value"], row["text_cf"]),
                    row["number_value"],
                    day.isoformat() if day else None,
                    (sqlite_time(at) if sqlite else at.isoformat()) if at else None,
                    *(row["bool_value"], row["month_day"]),
                )
            )
        return rows

    def _credit(self, seq: int, kind: str, v: dict[str, Any]) -> tuple[Any, ...]:
        currency = v.get("currency")
        return (
            *(self.shop_id, self.run_id, seq, kind, v.get("customer_platform_id")),
            *(v.get("account_id"), currency, currency_exponent(currency) if currency else None),
            v.get("balance_minor", v.get("remaining_minor")),
            *(self.time(v.get("credited_at")), self.time(v.get("expires_at"))),
        )

    def _tags(self, seq: int, kind: str, tags: list[str], fold: Any) -> list[tuple[Any, ...]]:
        unique = {fold(t): t.strip() for t in tags if t and t.strip()}
        return [(self.shop_id, self.run_id, kind, seq, cf, tag) for cf, tag in unique.items() if cf]

    def _product(self, seq: int, v: dict[str, Any]) -> tuple[Any, ...]:
        kind, vendor = v["product_type"], v["vendor"]
        return (
            *(self.shop_id, self.run_id, seq, v["platform_id"], v["title"], kind),
            *(casefold(kind), vendor, casefold(vendor), v.get("category_id")),
            self.version(v["updated_at"]),
        )

    def _order(self, seq: int, v: dict[str, Any]) -> tuple[Any, ...]:
        email, customer, updated = v["email"], v["customer_platform_id"], v["platform_updated_at"]
        codes, refunds = v["discount_codes"], v["refund_ids"]
        return (
            *(self.shop_id, self.run_id, seq, v["platform_id"]),
            *(tombstone_key(self.shop_id, v["platform_id"]), customer),
            *(self._key(customer) if customer else None, v["locale"], email),
            *(email.casefold() if email else None, *_PLAIN_ORDER(v), v["discount_minor"]),
            bool(codes) or bool(v["discount_minor"]),
            *(v["financial_status"], self.time(v["cancelled_at"]), v["test"]),
            *(v["source_name"], _json({"codes": codes}), _json({"ids": refunds})),
            *(v["app_id"], v["location_id"], self.time(v["ordered_at"]), self.time(updated)),
            self.version(updated),
        )


def _json(value: dict[str, list[Any]]) -> str:
    """JSON columns as text: SQLite stores it, PostgreSQL's COPY parses it into jsonb."""
    return orjson.dumps(value).decode()


def clear_staged(session: Session, run_id: int) -> None:
    """Delete every staged row of a run (it is done). A table holding no other run's rows
    (the usual case) is emptied whole: SQLite then drops its pages at once (its "truncate
    optimization") and PostgreSQL truncates, where deleting millions of staged lines one
    by one took seconds."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    for table in STAGING_TABLES:
        name = table.__tablename__
        if postgresql:  # first, so no other run stages rows between the check and the truncate
            session.execute(text(f'LOCK TABLE "{name}" IN ACCESS EXCLUSIVE MODE'))
        lo, hi = session.execute(select(func.min(table.run_id), func.max(table.run_id))).one()
        if lo != hi or (lo is not None and lo != run_id):
            session.execute(delete(table).where(table.run_id == run_id))
        elif postgresql:
            session.execute(text(f'TRUNCATE "{name}"'))
        else:
            session.execute(delete(table))


def clear_phase(session: Session, run_id: int, resource: str) -> None:
    """Forget what a phase staged (its export is run again: line numbers start over)."""
    tables: tuple[Any, ...] = {
        "customers": (StagedCustomer, StagedAddress, StagedMetafield),
        "statistics": (StagedCustomer,),
        "products": (StagedProduct,),
        "orders": (StagedOrder, StagedOrderLine),
        "companies": (StagedCompany,),
        "store_credit": (StagedStoreCredit,),
    }[resource]
    for table in tables:
        session.execute(delete(table).where(table.run_id == run_id))
    if resource in TAG_KIND:
        session.execute(
            delete(StagedTag).where(
                StagedTag.run_id == run_id, StagedTag.kind == TAG_KIND[resource]
            )
        )
