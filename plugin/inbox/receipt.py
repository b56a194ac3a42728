"""The receiver's hot path: a shop's webhook secrets kept per process, one guarded insert.

A cached secret is never trusted on its own: the insert stores the delivery only while the
shop's stored (encrypted) secret is still the one the cache holds, in the same statement.
A rotated or removed secret, a deleted shop or a new custom app therefore stores nothing
on the fast path, and the receiver takes the exact path (read, verify, insert) instead.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, TextClause, bindparam, select, text

from plugin.crypto import decrypt
from plugin.db import utcnow
from plugin.inbox.models import AWAITING_INSTALL as AWAITING
from plugin.inbox.models import DEAD, PENDING, InboxRow
from plugin.settings import Settings
from plugin.shops.models import PENDING as SHOP_PENDING
from plugin.shops.models import Shop

# Enough for every shop one process hears from; the least recently used goes first.
MAX_CACHED_SHOPS = 10_000
NO_SHOP_SECRET = ""  # the guard's value when the app's own secrets sign the deliveries


@dataclass(frozen=True)
class IncomingDelivery:
    """A verified delivery as the receiver hands it over (platform-neutral fields)."""

    platform: str
    shop_domain: str
    topic: str
    webhook_id: str
    event_id: str | None
    api_version: str | None
    triggered_at: datetime | None
    headers: dict[str, str]
    body: str | None
    # Why a verified body cannot even be stored (not text): parked as dead at receipt.
    unstorable: str | None = None


@dataclass(frozen=True)
class SigningKeys:
    """What a shop's deliveries are signed with: its custom app's secret (decrypted), or
    the app's API secrets; `stored` is the ciphertext it came from (`NO_SHOP_SECRET`)."""

    own_secret: str | None
    stored: str

    def secrets(self, settings: Settings) -> tuple[str, ...]:
        """The candidates, most likely first (the app's previous secret while a rotation
        settles); the app's are read from the settings each time, never cached."""
        return (self.own_secret,) if self.own_secret else tuple(settings.api_secrets)


class SigningKeyCache:
    """Per-process map of (platform, shop domain) to `SigningKeys`, bounded in size."""

    def __init__(self, max_entries: int = MAX_CACHED_SHOPS) -> None:
        self._entries: OrderedDict[tuple[str, str], SigningKeys] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, platform: str, shop_domain: str) -> SigningKeys | None:
        with self._lock:
            keys = self._entries.get((platform, shop_domain))
            if keys is not None:
                self._entries.move_to_end((platform, shop_domain))
            return keys

    def put(self, platform: str, shop_domain: str, keys: SigningKeys) -> None:
        with self._lock:
            self._entries[(platform, shop_domain)] = keys
            self._entries.move_to_end((platform, shop_domain))
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def forget(self, platform: str, shop_domain: str) -> None:
        with self._lock:
            self._entries.pop((platform, shop_domain), None)


def read_signing_keys(
    conn: Connection, settings: Settings, platform: str, shop_domain: str
) -> SigningKeys:
    """A shop's webhook secrets as stored now: a merchant's custom app signs with its own
    secret; everything else with the app's API secret (and the previous one while a
    rotation settles)."""
    stored = conn.scalar(
        select(Shop.webhook_secret_enc).where(Shop.platform == platform, Shop.domain == shop_domain)
    )
    if stored:
        return SigningKeys(decrypt(settings.secret_key, stored), stored)
    return SigningKeys(None, NO_SHOP_SECRET)


def delivery_values(incoming: IncomingDelivery, guard: str | None = None) -> dict[str, Any]:
    """The insert's parameters (the shop's id and the row's status come from SQL); with a
    `guard`, see `insert_delivery`."""
    return {
        "platform": incoming.platform,
        "shop_domain": incoming.shop_domain,
        "topic": incoming.topic,
        "webhook_id": incoming.webhook_id,
        "event_id": incoming.event_id,
        "api_version": incoming.api_version,
        "triggered_at": incoming.triggered_at,
        "headers": incoming.headers,
        "payload": incoming.body,
        # A body that cannot be stored as text is parked at receipt: Shopify would only
        # send the same bytes again.
        "forced_status": DEAD if incoming.unstorable is not None else None,
        "last_error": incoming.unstorable,
        "guard": guard,
    }


def insert_delivery(conn: Connection, values: dict[str, Any]) -> bool:
    """One statement: store the delivery unless its webhook id is known, and, when
    `values["guard"]` is a ciphertext (or `NO_SHOP_SECRET`), only while the shop's stored
    secret is still that one. True when a row was inserted. The caller commits."""
    stmt = _STATEMENTS[conn.dialect.name]
    return conn.execute(stmt, {**values, "received_at": utcnow()}).first() is not None


# Plain SQL on purpose: SQLAlchemy never caches the compiled form of a dialect insert with
# ON CONFLICT, and compiling the Core equivalent took 2 ms of a 3 ms request. The shop's
# id and the row's status are read in the same statement (deliveries wait until the shop
# has been installed once; uninstalled shops still process, for their redactions).
_INSERT = """
INSERT INTO webhook_inbox (platform, shop_domain, shop_id, topic, webhook_id, event_id,
    api_version, triggered_at, headers, payload, status, last_error, attempts, received_at)
SELECT :platform, :shop_domain, shop.id, :topic, :webhook_id, :event_id,
    :api_version, :triggered_at, {headers}, :payload,
    COALESCE(CAST(:forced_status AS VARCHAR(32)), CASE
        WHEN shop.install_state IS NULL OR shop.install_state = '{shop_pending}'
        THEN '{awaiting}' ELSE '{pending}' END),
    :last_error, 0, :received_at
FROM (SELECT 1 AS one) AS one
LEFT JOIN shops AS shop ON shop.platform = :platform AND shop.domain = :shop_domain
WHERE CAST(:guard AS TEXT) IS NULL
    OR COALESCE(shop.webhook_secret_enc, '{no_secret}') = CAST(:guard AS TEXT)
ON CONFLICT (platform, shop_domain, webhook_id) DO NOTHING
RETURNING id
"""


def _statement(headers: str) -> TextClause:
    inbox = InboxRow.__table__.c
    sql = _INSERT.format(
        headers=headers, shop_pending=SHOP_PENDING, awaiting=AWAITING, pending=PENDING,
        no_secret=NO_SHOP_SECRET,
    )  # fmt: skip
    typed = [bindparam(name, type_=inbox[name].type) for name in ("triggered_at", "headers")]
    received = bindparam("received_at", type_=inbox.received_at.type)
    return text(sql).bindparams(*typed, received)


_HEADERS = {"postgresql": "CAST(:headers AS JSONB)", "sqlite": ":headers"}
_STATEMENTS = {dialect: _statement(headers) for dialect, headers in _HEADERS.items()}


def store_delivery(engine: Engine, values: dict[str, Any]) -> bool:
    """`insert_delivery` as a transaction of its own, on a pooled driver connection in
    autocommit: one statement, one round trip, durable when it returns (PostgreSQL
    flushes its commit to disk; SQLite's WAL at synchronous=NORMAL survives a crash of
    the process, not of the machine). SQLAlchemy's execution layer cost a sixth of the
    request here; the types still convert the values, as they would there."""
    statement = _driver_statements(engine.dialect)
    params = statement.parameters({**values, "received_at": utcnow()})
    pooled = engine.raw_connection()
    try:
        if engine.dialect.name == "postgresql":
            return _execute_postgresql(pooled.driver_connection, statement.sql, params)
        return _execute_sqlite(pooled.driver_connection, statement.sql, params)
    finally:
        pooled.close()  # back to the pool


def _execute_postgresql(conn: Any, sql: str, params: dict[str, Any]) -> bool:
    # Autocommit: no BEGIN and COMMIT round trips around the one statement.
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return bool(cursor.fetchall())
    finally:
        conn.autocommit = False  # as the pool handed it out


def _execute_sqlite(conn: Any, sql: str, params: dict[str, Any]) -> bool:
    # plugin.db opens SQLite connections in autocommit: the statement is its own write
    # transaction, committed once its RETURNING rows are read to the end.
    cursor = conn.execute(sql, params)
    try:
        return bool(cursor.fetchall())
    finally:
        cursor.close()


@dataclass(frozen=True)
class _DriverStatement:
    sql: str
    processors: Mapping[str, Callable[[Any], Any]]

    def parameters(self, values: dict[str, Any]) -> dict[str, Any]:
        found = dict(values)
        for name, process in self.processors.items():
            found[name] = process(found[name])
        return found


_DRIVER_STATEMENTS: dict[str, _DriverStatement] = {}


def _driver_statements(dialect: Dialect) -> _DriverStatement:
    """The statement in the driver's parameter style, with the columns' bind processors
    (JSON, UTC datetimes) for this dialect."""
    found = _DRIVER_STATEMENTS.get(dialect.name)
    if found is None:
        sql = _STATEMENTS[dialect.name].text
        if dialect.name == "postgresql":
            sql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)
        inbox = InboxRow.__table__.c
        processors = {
            name: processor
            for name in ("triggered_at", "headers", "received_at")
            if (processor := inbox[name].type.dialect_impl(dialect).bind_processor(dialect))
        }
        found = _DRIVER_STATEMENTS.setdefault(dialect.name, _DriverStatement(sql, processors))
    return found
