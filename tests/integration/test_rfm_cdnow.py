"""RFM on real data: CDNOW loaded as one shop; cut-offs, scores and group sizes equal an
independent numpy/pandas computation from the raw file.

Every line of the file is one order (2,068 lines repeat a customer on the same day: kept as
separate orders, as the benchmarks replay them), dated at noon UTC with the last day of the
file shifted to the frozen clock's day.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from plugin.data import CDNOW_MASTER
from plugin.profiles.models import Customer, Order
from plugin.segments.context import CompileContext
from plugin.segments.fields import field_expression
from plugin.segments.rfm_scores import recompute_rfm
from plugin.shops.models import Shop
from tests.integration.test_rfm import DOCUMENTED_TABLE

CDNOW = CDNOW_MASTER  # gzipped: pandas decompresses by the suffix
CLOCK = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
LAST_DAY = pd.Timestamp("1998-06-30")


def read_cdnow() -> pd.DataFrame:
    df = pd.read_csv(CDNOW, sep=r"\s+", dtype={"customer_id": str, "date": str})
    df["line"] = np.arange(2, len(df) + 2)
    day = pd.to_datetime(df["date"], format="%Y%m%d")
    noon = CLOCK.replace(hour=12)
    days_before = (LAST_DAY - day).dt.days
    at = {d: noon - timedelta(days=int(d)) for d in days_before.unique()}
    df["ordered_at"] = days_before.map(at)
    df["minor"] = (df["dollar_value"] * 100).round().astype("int64")
    return df


def load_shop(session: Session, df: pd.DataFrame) -> Shop:
    """Orders straight into the table (Core executemany), then one customer per buyer with
    orders_count, total_spent, first and last order aggregated from them in SQL."""
    shop = Shop(domain="cdnow.myshopify.com", install_state="installed")
    session.add(shop)
    session.flush()
    session.execute(Order.__table__.insert(), [_order(shop.id, row) for row in df.itertuples()])
    session.execute(insert(Customer).from_select(_CUSTOMER_COLUMNS, _customers_from_orders(shop)))
    session.commit()
    return shop


_CUSTOMER_COLUMNS = [
    "shop_id", "platform_id", "orders_count", "total_spent_minor", "first_order_at",
    "last_order_at",
]  # fmt: skip


def _customers_from_orders(shop: Shop) -> Any:
    return (
        select(
            Order.shop_id,
            Order.customer_platform_id,
            func.count(),
            func.sum(Order.net_total_minor),
            func.min(Order.ordered_at),
            func.max(Order.ordered_at),
        )
        .where(Order.shop_id == shop.id)
        .group_by(Order.shop_id, Order.customer_platform_id)
    )


def _order(shop_id: int, row: Any) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "platform_id": str(row.line),
        "customer_platform_id": row.customer_id,
        "total_minor": row.minor,
        "net_total_minor": row.minor,
        "ordered_at": row.ordered_at,
    }


def reference(df: pd.DataFrame) -> tuple[dict[str, list[Any]], pd.DataFrame]:
    """Cut-offs c_k = v(⌈k·n/5⌉) and scores np.searchsorted(cuts, v, 'left') + 1."""
    per = df.groupby("customer_id").agg(
        r=("ordered_at", "max"), f=("line", "size"), m=("minor", "sum")
    )
    n = len(per)
    cuts: dict[str, list[Any]] = {}
    for dim in "rfm":
        ordered = np.sort(per[dim].to_numpy())
        cuts[dim] = [ordered[math.ceil(k * n / 5) - 1] for k in range(1, 5)]
        per[f"{dim}_score"] = np.searchsorted(cuts[dim], per[dim].to_numpy(), "left") + 1
    fm = (per["f_score"] + per["m_score"] + 1) // 2
    per["group"] = [DOCUMENTED_TABLE[r][s - 1] for r, s in zip(per["r_score"], fm, strict=True)]
    return cuts, per


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    # Vendored with the package: a missing file is a broken checkout, not a reason to skip.
    return read_cdnow()


def test_cdnow_cut_offs_scores_and_groups_equal_pandas(
    session: Session, cdnow: pd.DataFrame
) -> None:
    shop = load_shop(session, cdnow)
    row = recompute_rfm(session, shop.id, CLOCK)  # a first recompute: plain scores
    session.commit()
    cuts, per = reference(cdnow)

    assert row.customers == len(per) == 23_570
    assert [row.r1, row.r2, row.r3, row.r4] == cuts["r"]
    assert [row.f1, row.f2, row.f3, row.f4] == cuts["f"] == [1, 1, 2, 4]
    assert [row.m1, row.m2, row.m3, row.m4] == cuts["m"] == [1536, 3135, 5992, 13395]

    ctx = CompileContext(shop.id, CLOCK)
    names = ("rfm_r", "rfm_f", "rfm_m", "rfm_segment")
    stmt = select(Customer.platform_id, *(field_expression(n, ctx) for n in names)).where(
        Customer.shop_id == shop.id
    )
    got = {r[0]: tuple(r[1:]) for r in session.execute(stmt)}
    rows = per[["r_score", "f_score", "m_score", "group"]].itertuples(name=None)
    expected = {c: (int(r), int(f), int(m), g) for c, r, f, m, g in rows}
    assert got == expected
    group = field_expression("rfm_segment", ctx)
    sizes = select(group, func.count()).where(Customer.shop_id == shop.id).group_by(group)
    assert dict(session.execute(sizes).tuples().all()) == per["group"].value_counts().to_dict()
    f_sizes = np.bincount(per["f_score"], minlength=6)[1:].tolist()
    assert f_sizes == [11_908, 0, 4_079, 3_658, 3_925]  # the degenerate F quintiles
