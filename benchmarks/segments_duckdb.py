"""DuckDB baseline: the same memberships by hand-written SQL over copies of the app's tables."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd
from sqlalchemy import select

from benchmarks.errors import BenchmarkError
from plugin.profiles.models import Customer, CustomerTag, Order, Purchase
from plugin.runtime import Runtime
from plugin.segments.models import Segment, SegmentState, combine
from plugin.segments.rfm_models import RfmCutoffs

# R score (5 first) by FM score 1..5, FM = (F + M + 1) // 2: docs/segments-fields.md.
RFM_CELLS = {
    5: ("new", "new", "active", "champions", "champions"),
    4: ("promising", "promising", "active", "loyal", "loyal"),
    3: ("promising", "needs_attention", "needs_attention", "loyal", "loyal"),
    2: ("almost_lost", "almost_lost", "at_risk", "at_risk", "previously_loyal"),
    1: ("dormant", "dormant", "almost_lost", "at_risk", "previously_loyal"),
}
CUSTOMER_COLUMNS = (
    "id", "orders_count", "total_spent_minor", "first_order_at", "last_order_at",
    "avg_days_between_orders", "last_abandoned_at", "time_metrics_due_at",
    "metrics_updated_at", "state", "email_marketing_state", "country_code",
    "spent_365d_minor", "orders_365d", "rfm_r", "rfm_f", "rfm_m",
)  # fmt: skip


@dataclass(frozen=True)
class Baseline:
    seconds: dict[int, float]  # threads → best of the timed runs
    rules: int
    members: int


def _frame(runtime: Runtime, stmt: Any, names: list[str]) -> pd.DataFrame:
    with runtime.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame.from_records(rows, columns=names)
    for name in names:
        if name.endswith("_at"):
            frame[name] = pd.to_datetime(frame[name], utc=True).dt.tz_localize(None)
    return frame


def load(runtime: Runtime, shop_id: int) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the tables the rules read (not timed)."""
    con = duckdb.connect(":memory:")
    cols = [getattr(Customer, c) for c in CUSTOMER_COLUMNS]
    frames = {
        "customers": _frame(
            runtime, select(*cols).where(Customer.shop_id == shop_id), list(CUSTOMER_COLUMNS)
        ),
        "customer_tags": _frame(
            runtime,
            select(CustomerTag.customer_id, CustomerTag.tag_cf, CustomerTag.present).where(
                CustomerTag.shop_id == shop_id
            ),
            ["customer_id", "tag_cf", "present"],
        ),
        "purchases": _frame(
            runtime,
            select(
                Purchase.customer_id,
                Purchase.order_id,
                Purchase.ordered_at,
                Purchase.product_type_cf,
                Purchase.vendor_cf,
                Purchase.quantity,
            ).where(Purchase.shop_id == shop_id),
            ["customer_id", "order_id", "ordered_at", "product_type_cf", "vendor_cf", "quantity"],
        ),
        "orders": _frame(
            runtime,
            select(
                Order.id,
                Order.customer_id,
                Order.ordered_at,
                Order.net_total_minor,
                Order.test,
                Order.cancelled_at,
            ).where(Order.shop_id == shop_id),
            ["id", "customer_id", "ordered_at", "net_total_minor", "test", "cancelled_at"],
        ),
    }
    for name, frame in frames.items():
        con.register(f"{name}_frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
        con.unregister(f"{name}_frame")
    return con


def _ts(moment: datetime) -> str:
    return f"TIMESTAMP '{moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=' ')}'"


def _day(now: datetime, days: int) -> str:
    """Start of the UTC day `days` before today (the bench shop's timezone is UTC)."""
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return _ts(start - timedelta(days=days))


def virtual_sql(now: datetime, cut: RfmCutoffs | None) -> dict[str, str]:
    """Per-customer derived values the rules share, computed once per row over `c`."""
    now_us = int((now - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
    ratio = (
        f"(CASE WHEN c.avg_days_between_orders > 0 THEN "
        f"CAST({now_us} - epoch_us(c.last_order_at) AS DOUBLE)"
        f" / (c.avg_days_between_orders * 86400000000.0) END)"
    )
    return {
        "ratio": ratio,
        "open_abandoned": (
            "(CASE WHEN c.last_abandoned_at IS NOT NULL AND NOT (c.last_order_at IS NOT NULL"
            " AND c.last_order_at >= c.last_abandoned_at) THEN c.last_abandoned_at END)"
        ),
        "stage": (
            f"(CASE WHEN c.orders_count = 0 THEN 'prospect'"
            f" WHEN c.first_order_at >= {_day(now, 30)} THEN 'new'"
            f" WHEN c.last_order_at < {_day(now, 90)} OR {ratio} > 2.0 THEN 'inactive'"
            f" WHEN c.last_order_at < {_day(now, 60)} OR {ratio} > 1.5 THEN 'at_risk'"
            f" WHEN c.orders_count >= 3 THEN 'regular' ELSE 'active' END)"
        ),
        "rfm_group": "NULL" if cut is None else _rfm_group(cut),
    }


def rule_sql(now: datetime, cut: RfmCutoffs | None) -> dict[str, str]:
    """Per segment (builtin key or custom name), a condition over `c`: customers plus the
    `virtual_sql` columns."""
    tag = "c.id IN (SELECT customer_id FROM customer_tags WHERE present AND tag_cf = '{}')"
    rules = {
        "new_customers": f"c.first_order_at >= {_day(now, 30)}",
        "regular": "c.orders_count >= 3",
        "abandoned_cart": f"c.open_abandoned >= {_day(now, 3)}",
        "inactive": f"c.last_order_at < {_day(now, 90)} OR c.ratio > 2.0",
        "one_time_buyers": f"c.orders_count = 1 AND c.first_order_at < {_day(now, 30)}",
        "engaged_non_buyers": "c.orders_count = 0 AND (lower(c.state) = 'enabled'"
        " OR c.last_abandoned_at IS NOT NULL)",
        "Coffee lovers (90 days)": "c.id IN (SELECT customer_id FROM purchases WHERE"
        f" product_type_cf = 'coffee' AND ordered_at >= {_day(now, 90)})",
        "Acme repeat buyers": "c.id IN (SELECT customer_id FROM purchases WHERE"
        " vendor_cf = 'acme roasters' GROUP BY customer_id"
        " HAVING count(DISTINCT order_id) >= 2)",
        "Tea stockers": "c.id IN (SELECT customer_id FROM purchases WHERE product_type_cf"
        " = 'tea' GROUP BY customer_id HAVING coalesce(sum(quantity), 0) >= 5)"
        " AND c.total_spent_minor > 20000",
        "Big recent orders": "c.id IN (SELECT customer_id FROM orders WHERE customer_id IS"
        " NOT NULL AND NOT test AND cancelled_at IS NULL AND net_total_minor >= 10000"
        f" AND ordered_at >= {_day(now, 180)} GROUP BY customer_id HAVING count(id) >= 2)",
        "Wholesale": tag.format("wholesale"),
        "Subscribed repeaters": "lower(c.email_marketing_state) = 'subscribed'"
        " AND c.orders_count >= 2",
        "Poland or Germany": "c.country_code IS NOT NULL AND c.country_code <> ''"
        " AND upper(c.country_code) IN ('PL', 'DE')",
        "Mid spenders this year": "c.total_spent_minor >= 10000 AND c.total_spent_minor"
        f" <= 50000 AND c.last_order_at >= {_day(now, 365)}",
        "At risk": "c.stage = 'at_risk'",
        "Newsletter not VIP-tagged": f"{tag.format('newsletter')} AND NOT {tag.format('vip')}",
    }
    if cut is not None:
        rules["vip"] = "c.orders_365d > 0 AND c.spent_365d_minor >= " + (
            "NULL" if cut.vip_threshold_minor is None else str(cut.vip_threshold_minor)
        )
        groups = {g for row in RFM_CELLS.values() for g in row} | {"prospects"}
        rules.update({f"rfm_{g}": f"c.rfm_group = '{g}'" for g in groups})
    return rules


def _rfm_group(cut: RfmCutoffs) -> str:
    """The group from the customer's stored scores (the daily recompute's, with hysteresis):
    like orders_count, an input both engines read from the same rows."""
    cells = " ".join(
        f"WHEN {rr * 10 + fm} THEN '{group}'"
        for rr, row in RFM_CELLS.items()
        for fm, group in enumerate(row, start=1)
    )
    # Nullable integers arrive as DOUBLE from the frame, where `//` would not truncate.
    r, f, m = (f"CAST(c.rfm_{d} AS BIGINT)" for d in "rfm")
    code = f"({r} * 10 + ({f} + {m} + 1) // 2)"
    return (
        "(CASE WHEN c.orders_count = 0 THEN 'prospects' WHEN c.orders_count > 0 AND"
        f" c.last_order_at IS NOT NULL THEN (CASE {code} {cells} END) END)"
    )


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return _ts(value)
    return str(int(value))


def app_rules(runtime: Runtime, shop_id: int) -> tuple[dict[int, str], RfmCutoffs | None]:
    """bit → key (builtin key, else name) of the shop's enabled segments, and its cut-offs."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(Segment.bit, Segment.builtin_key, Segment.name).where(
                Segment.shop_id == shop_id, Segment.enabled.is_(True)
            )
        ).all()
        cut = session.get(RfmCutoffs, shop_id)
        if cut is not None:
            session.expunge(cut)
    return {bit: key or name for bit, key, name in rows}, cut


def app_members(runtime: Runtime, shop_id: int) -> dict[int, int]:
    """Each customer's membership bits, their stored words combined."""
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(SegmentState.customer_id, SegmentState.word, SegmentState.mask).where(
                SegmentState.shop_id == shop_id
            )
        ).all()
    members: dict[int, int] = {}
    for cid, word, mask in rows:
        members[int(cid)] = members.get(int(cid), 0) | combine([(word, mask)])
    return members


def reproducible(bits: dict[int, str], now: datetime, cut: RfmCutoffs | None) -> dict[int, str]:
    """The segments the baseline has hand-written SQL for (category fans by their type)."""
    rules = rule_sql(now, cut)
    found = {}
    for bit, key in bits.items():
        if key in rules:
            found[bit] = rules[key]
        elif key.startswith("category_fans:"):
            cf = key.removeprefix("category_fans:").replace("'", "''")
            found[bit] = (
                "c.id IN (SELECT customer_id FROM purchases WHERE product_type_cf ="
                f" '{cf}' AND ordered_at >= {_day(now, 365)})"
            )
    return found


def run_baseline(
    runtime: Runtime, shop_id: int, now: datetime, threads: tuple[int, ...] = (1, 2), runs: int = 3
) -> Baseline:
    """Time the full membership in DuckDB per thread count, then compare it with the app's
    segment_state bit by bit; raises BenchmarkError on any difference."""
    bits, cut = app_rules(runtime, shop_id)
    conditions = reproducible(bits, now, cut)
    missing = sorted(set(bits.values()) - {bits[b] for b in conditions})
    if missing:
        raise BenchmarkError(f"no baseline SQL for segments {missing}")
    con = load(runtime, shop_id)
    stale = con.execute(
        f"SELECT count(*) FROM customers WHERE time_metrics_due_at <= {_ts(now)}"
        f" OR metrics_updated_at > {_ts(now)}"
    ).fetchone()
    if stale and stale[0]:
        raise BenchmarkError(f"{stale[0]} customers have stale time metrics at {now}")
    derived = ", ".join(f"{expr} AS {name}" for name, expr in virtual_sql(now, cut).items())
    terms = " + ".join(
        f"(CASE WHEN {cond} THEN {1 << bit} ELSE 0 END)" for bit, cond in conditions.items()
    )
    sql = (
        f"WITH v AS MATERIALIZED (SELECT c.*, {derived} FROM customers c)"
        f" SELECT c.id, CAST({terms} AS BIGINT) AS mask FROM v c"
    )
    seconds = {}
    for n in threads:
        con.execute(f"SET threads = {n}")
        best = float("inf")
        for _ in range(runs):
            con.execute("DROP TABLE IF EXISTS membership")
            start = time.perf_counter()
            con.execute(f"CREATE TABLE membership AS {sql}")
            best = min(best, time.perf_counter() - start)
        seconds[n] = best
    duck = {int(cid): int(mask) for cid, mask in con.execute("SELECT * FROM membership").fetchall()}
    con.close()
    app = app_members(runtime, shop_id)
    members = 0
    for bit, key in sorted(bits.items()):
        flag = 1 << bit
        want = {cid for cid, mask in duck.items() if mask & flag}
        got = {cid for cid, mask in app.items() if mask & flag}
        if want != got:
            sample = sorted(want ^ got)[:5]
            raise BenchmarkError(
                f"segment {key!r}: app has {len(got)} members, DuckDB {len(want)};"
                f" {len(want - got)} missing, {len(got - want)} extra, e.g. {sample}"
            )
        members += len(got)
    return Baseline(seconds, len(conditions), members)
