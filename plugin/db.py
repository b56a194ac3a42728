"""Database engine, declarative base, portable column types and the upsert helper."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

M = TypeVar("M")

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


def shop_fk() -> ForeignKey:
    """The foreign key every per-shop table has: its rows go with the shop."""
    return ForeignKey("shops.id", ondelete="CASCADE")


def like_literal(text: str) -> str:
    """`text` for a LIKE pattern with `escape="\\"`: its `%`, `_` and `\\` match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _cache_long_psycopg_statements() -> None:
    """psycopg re-parses every statement over 4 kB or 50 parameters on each execution, to
    keep ORM-generated one-offs out of its cache. A shop's real-time segment statement is
    ~30 kB and runs for every event: re-parsing it cost 2.5 ms of a 7 ms evaluation. The
    cache stays an LRU of 128 entries, so the wider limit bounds its memory (~8 MB)."""
    try:
        from psycopg import _queries
    except ImportError:  # another driver
        return
    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, 64 * 1024)
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, 1000)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine; SQLite gets WAL, a busy timeout and foreign keys on every connection,
    PostgreSQL pre-ping and no JIT. Bound parameters (payload values, personal data) never
    appear in its exceptions or its SQL log."""
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        # The connection used last is handed out again: its page cache is warm, while an
        # idle one's was emptied by the other connections' writes.
        kwargs.setdefault("pool_use_lifo", True)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        # A segment sweep is one wide statement whose estimated cost crosses the JIT
        # threshold: compiling its ~400 expressions took 3.2 s of a 3.4 s batch at 20k
        # customers. Nothing the app runs is long enough to win that back.
        kwargs.setdefault("connect_args", {"options": "-c jit=off"})
        _cache_long_psycopg_statements()
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so a
        # write transaction takes the lock up front instead of failing on upgrade.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


SQLITE_CACHE_KB = 256 * 1024


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    # SQLite's default page cache is 2 MB: a history import's inserts into million-row
    # indexes then re-read pages from the OS at every step (a 100k-customer import took 4x
    # longer). Memory is taken only as pages are read.
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
    cur.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def insert_for(session: Session, table: Any) -> Any:
    """A dialect insert supporting `on_conflict_do_nothing/update` on SQLite and PostgreSQL."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database dialect: {name}")


def lock_keys(session: Session, *keys: str) -> None:
    """Serialise work on these keys until the transaction ends (PostgreSQL advisory locks).

    SQLite already has a single writer per database, so nothing is needed there. Keys are
    sorted so two transactions asking for the same pair cannot deadlock on each other.
    """
    if session.get_bind().dialect.name != "postgresql" or not keys:
        return
    digests = sorted(
        {int.from_bytes(hashlib.sha256(k.encode()).digest()[:8], "big", signed=True) for k in keys}
    )
    # One round trip for a whole batch; rows are locked in the array's (sorted) order.
    session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(k)) FROM"
            " unnest(CAST(:keys AS bigint[])) WITH ORDINALITY AS t(k, n)"
        ),
        {"keys": digests},
    )


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def analyze(session: Session, tables: Sequence[str]) -> None:
    """PostgreSQL: fresh planner statistics for `tables` after a bulk write, instead of
    planning on the tables as they were (empty, for a first import or sweep) until
    autovacuum analyzes them a minute or more later. SQLite keeps none: nothing to do."""
    if is_postgresql(session):
        session.execute(text("ANALYZE " + ", ".join(f'"{name}"' for name in tables)))


def lock_or_create_many(
    session: Session, model: type[M], shop_id: int, platform_ids: Iterable[str]
) -> dict[str, M]:
    """`lock_or_create` for many rows of one shop keyed by (shop_id, platform_id): one
    INSERT for the missing ones, one SELECT locking them all in platform id order (so two
    workers locking overlapping sets cannot deadlock); by platform id."""
    ids = sorted(set(platform_ids))
    if not ids:
        return {}
    stmt = insert_for(session, model).on_conflict_do_nothing(
        index_elements=["shop_id", "platform_id"]
    )
    session.execute(stmt, [{"shop_id": shop_id, "platform_id": pid} for pid in ids])
    column = model.platform_id
    rows = session.scalars(
        select(model)
        .where(model.shop_id == shop_id, column.in_(ids))
        .order_by(column)
        .with_for_update()
    )
    return {row.platform_id: row for row in rows}  # type: ignore[attr-defined]


def lock_or_create(session: Session, model: type[M], **keys: Any) -> M:
    """The row with these unique key values, inserted empty if missing, locked (FOR UPDATE
    on PostgreSQL) for the rest of the transaction, so concurrent upserts serialise."""
    stmt = insert_for(session, model).values(**keys)
    session.execute(stmt.on_conflict_do_nothing(index_elements=list(keys)))
    query = select(model).filter_by(**keys).with_for_update()
    row = session.scalar(query)
    if row is None:  # only possible if the keys are not a unique constraint
        raise LookupError(f"{model.__name__} {keys} vanished after insert")
    return row


class Unindexed(FunctionElement[Any]):
    """An expression the planner may not search an index for: `+expr` on SQLite, `expr`
    elsewhere. For a few customers' ids, where SQLite would rather read a whole shop
    through a covering index on `shop_id` (or a product type's rows) than look each up."""

    inherit_cache = True

    def __init__(self, expr: Any) -> None:
        super().__init__(expr)
        self.type = expr.type


@compiles(Unindexed)
def _unindexed_default(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(Unindexed, "sqlite")
def _unindexed_sqlite(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+({compiler.process(element.clauses, **kw)})"
