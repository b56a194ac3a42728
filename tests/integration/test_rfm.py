"""RFM on a hand-built shop: quintile cut-offs, stored scores, the R x FM table, VIP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer
from plugin.segments.context import CompileContext
from plugin.segments.fields import field_expression
from plugin.segments.rfm import GROUPS, quintile_positions, refresh_rfm_cutoffs
from plugin.segments.rfm_models import RfmCutoffs
from plugin.segments.rfm_scores import recompute_rfm, score_unscored
from plugin.shops.models import Shop
from tests.support.profiles import NOW

DAY = timedelta(days=1)
F = [1, 1, 1, 1, 2, 2, 3, 5, 8, 13]
# docs/segments-fields.md: R score (5 first) by FM score 1..5
DOCUMENTED_TABLE = {
    5: ("new", "new", "active", "champions", "champions"),
    4: ("promising", "promising", "active", "loyal", "loyal"),
    3: ("promising", "needs_attention", "needs_attention", "loyal", "loyal"),
    2: ("almost_lost", "almost_lost", "at_risk", "at_risk", "previously_loyal"),
    1: ("dormant", "dormant", "almost_lost", "at_risk", "previously_loyal"),
}


def add(session: Session, shop: Shop, key: str, **columns: Any) -> None:
    session.add(Customer(shop_id=shop.id, platform_id=key, **columns))


def buyer(f: int, m: int, days_ago: int, **extra: Any) -> dict[str, Any]:
    last = NOW - days_ago * DAY
    return dict(orders_count=f, total_spent_minor=m, first_order_at=last - 400 * DAY,
                last_order_at=last, **extra)  # fmt: skip


def ten_buyers_two_prospects(session: Session, shop: Shop) -> None:
    """Customer i (1..10): F as listed, M = 100·i, last order 10 - i days ago."""
    for i in range(1, 11):
        add(session, shop, f"c{i:02}", **buyer(F[i - 1], 100 * i, 10 - i))
    add(session, shop, "p1")
    add(session, shop, "p2", total_spent_minor=0)
    session.commit()


def fields(session: Session, shop: Shop, *names: str) -> dict[str, tuple[Any, ...]]:
    ctx = CompileContext(shop.id, NOW)
    stmt = select(Customer.platform_id, *(field_expression(n, ctx) for n in names)).where(
        Customer.shop_id == shop.id
    )
    return {row[0]: tuple(row[1:]) for row in session.execute(stmt)}


def test_cut_off_ranks_are_nearest_rank_quintiles() -> None:
    assert quintile_positions(10) == [2, 4, 6, 8]
    assert quintile_positions(7) == [2, 3, 5, 6]  # ⌈1.4⌉, ⌈2.8⌉, ⌈4.2⌉, ⌈5.6⌉
    assert quintile_positions(1) == [1, 1, 1, 1]
    assert quintile_positions(23570) == [4714, 9428, 14142, 18856]


def test_sweep_stores_hand_computed_cut_offs(session: Session, shop: Shop) -> None:
    ten_buyers_two_prospects(session, shop)
    row = refresh_rfm_cutoffs(session, shop.id, NOW)
    assert row.customers == 10  # prospects are not ranked
    assert (row.f1, row.f2, row.f3, row.f4) == (1, 1, 2, 5)
    assert (row.m1, row.m2, row.m3, row.m4) == (200, 400, 600, 800)
    assert (row.r1, row.r2, row.r3, row.r4) == tuple(NOW - d * DAY for d in (8, 6, 4, 2))
    assert row.computed_at == NOW


def test_scores_and_groups_follow_the_cut_offs(session: Session, shop: Shop) -> None:
    ten_buyers_two_prospects(session, shop)
    recompute_rfm(session, shop.id, NOW)
    session.commit()
    got = fields(session, shop, "rfm_r", "rfm_f", "rfm_m", "rfm_segment")
    # equal F values share a score; no F value lands in score 2 (1 is two cut-offs)
    assert got == {
        "c01": (1, 1, 1, "dormant"),
        "c02": (1, 1, 1, "dormant"),
        "c03": (2, 1, 2, "almost_lost"),  # FM = (1 + 2 + 1) // 2 = 2
        "c04": (2, 1, 2, "almost_lost"),
        "c05": (3, 3, 3, "needs_attention"),
        "c06": (3, 3, 3, "needs_attention"),
        "c07": (4, 4, 4, "loyal"),
        "c08": (4, 4, 4, "loyal"),
        "c09": (5, 5, 5, "champions"),
        "c10": (5, 5, 5, "champions"),
        "p1": (None, None, None, "prospects"),
        "p2": (None, None, None, "prospects"),
    }


def test_new_customers_are_scored_against_stored_cut_offs(session: Session, shop: Shop) -> None:
    """Scores do not shift when others arrive: only the daily recompute moves the cut-offs.
    Changed on purpose with stored scores: a newcomer is unscored (NULL) until a sweep
    scores the unscored, then plain against the stored cut-offs."""
    ten_buyers_two_prospects(session, shop)
    row = recompute_rfm(session, shop.id, NOW)
    before = fields(session, shop, "rfm_r", "rfm_f", "rfm_m", "rfm_segment")
    for i in range(5):
        add(session, shop, f"whale{i}", **buyer(50, 100_000, 0))
    add(session, shop, "n1", **buyer(2, 450, 0))
    add(session, shop, "p3")
    session.commit()
    assert fields(session, shop, "rfm_segment")["n1"] == (None,)
    assert score_unscored(session, shop.id, row, NOW) == 6  # the whales and n1 only
    after = fields(session, shop, "rfm_r", "rfm_f", "rfm_m", "rfm_segment")
    assert {k: v for k, v in after.items() if k in before} == before
    assert after["n1"] == (5, 3, 3, "active")  # R 5, FM (3 + 3 + 1) // 2 = 3
    recompute_rfm(session, shop.id, NOW)
    assert session.scalar(select(func.count()).select_from(RfmCutoffs)) == 1  # rewritten
    assert fields(session, shop, "rfm_f")["c10"] == (4,)  # 13 < the whales' 50 now


def test_every_cell_of_the_documented_table(session: Session, shop: Shop) -> None:
    """Cut-offs 1..4 make F = M = s score s, so FM = s; last orders 5 - r days ago score r."""
    table = DOCUMENTED_TABLE
    row = RfmCutoffs(shop_id=shop.id, computed_at=NOW, customers=25,
                     **{f"r{k}": NOW - (5 - k) * DAY for k in range(1, 5)},
                     **{f"{d}{k}": k for d in "fm" for k in range(1, 5)})  # fmt: skip
    session.add(row)
    for r in range(1, 6):
        for s in range(1, 6):
            add(session, shop, f"{r}{s}", **buyer(s, s, 5 - r))
    session.commit()
    score_unscored(session, shop.id, row, NOW)
    got = fields(session, shop, "rfm_r", "rfm_f", "rfm_m", "rfm_segment")
    expected = {f"{r}{s}": (r, s, s, table[r][s - 1]) for r in range(1, 6) for s in range(1, 6)}
    assert got == expected
    assert {g for row in table.values() for g in row} | {"prospects"} == set(GROUPS)


def test_before_the_first_sweep_only_prospects_have_a_group(session: Session, shop: Shop) -> None:
    ten_buyers_two_prospects(session, shop)
    got = fields(session, shop, "rfm_r", "rfm_f", "rfm_m", "rfm_segment", "vip")
    assert got["c10"] == (None, None, None, None, False)
    assert got["p1"] == (None, None, None, "prospects", False)


def test_a_shop_without_buyers_stores_null_cut_offs(session: Session, shop: Shop) -> None:
    add(session, shop, "p1")
    session.commit()
    row = refresh_rfm_cutoffs(session, shop.id, NOW)
    assert (row.customers, row.r1, row.f4, row.m2, row.vip_threshold_minor) == (
        0, None, None, None, None,
    )  # fmt: skip


def test_vip_is_at_or_above_the_90th_percentile_of_spend_in_365_days(
    session: Session, shop: Shop
) -> None:
    for i in range(1, 11):
        add(session, shop, f"c{i:02}", **buyer(1, 100 * i, 10, spent_365d_minor=100 * i,
                                               orders_365d=1))  # fmt: skip
    add(session, shop, "old", **buyer(9, 99_999, 400))  # nothing in the window
    add(session, shop, "p1")
    session.commit()
    row = refresh_rfm_cutoffs(session, shop.id, NOW)
    assert (row.vip_population, row.vip_threshold_minor) == (10, 900)  # rank ⌈0.9·10⌉ = 9
    vip = {k: v[0] for k, v in fields(session, shop, "vip").items()}
    assert {k for k, v in vip.items() if v} == {"c09", "c10"}
    assert vip["old"] is False and vip["p1"] is False


def test_cut_offs_are_per_shop(session: Session, shop: Shop) -> None:
    ten_buyers_two_prospects(session, shop)
    other = Shop(domain="beta.myshopify.com", install_state="installed")
    session.add(other)
    session.flush()
    for i in range(20):
        add(session, other, f"w{i}", **buyer(99, 10**7, 0, spent_365d_minor=10**7, orders_365d=9))
    session.commit()
    row = recompute_rfm(session, shop.id, NOW)
    assert (row.customers, row.f4, row.m4, row.vip_population) == (10, 5, 800, 0)
    assert refresh_rfm_cutoffs(session, other.id, NOW).f1 == 99
    assert fields(session, shop, "rfm_f")["c10"] == (5,)
