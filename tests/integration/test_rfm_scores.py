"""Stored RFM scores: hysteresis at the daily recompute (a customer at a cut-off stays put,
one past it by the margin moves), newcomers scored at the next sweep, one recompute a day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer
from plugin.segments.rfm_models import RfmCutoffs
from plugin.segments.rfm_scores import recompute_rfm, refresh_sweep_inputs
from plugin.shops.models import Shop
from tests.integration.test_rfm import add, buyer, fields, ten_buyers_two_prospects
from tests.support.profiles import NOW

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def crowd(session: Session, shop: Shop) -> None:
    """110 customers whose M cut-offs are 100, 200, 300, 400 whatever two more customers
    spend between 200 and 400 (ties: each cut-off rank falls inside a block of equals)."""
    blocks = [(50, 10), (100, 20), (200, 20), (300, 20), (400, 20), (500, 20)]
    n = 0
    for m, size in blocks:
        for _ in range(size):
            n += 1
            add(session, shop, f"x{n:03}", **buyer(1, m, 30))


def set_spend(session: Session, shop: Shop, **spend: int) -> None:
    for key, minor in spend.items():
        session.execute(
            update(Customer)
            .where(Customer.shop_id == shop.id, Customer.platform_id == key)
            .values(total_spent_minor=minor)
        )
    session.commit()


def m_scores(session: Session, shop: Shop, *keys: str) -> tuple[Any, ...]:
    got = fields(session, shop, "rfm_m")
    return tuple(got[k][0] for k in keys)


def test_a_customer_exactly_at_a_cut_off_stays_put_across_recomputations(
    session: Session, shop: Shop
) -> None:
    crowd(session, shop)
    add(session, shop, "down", **buyer(1, 310, 30))  # above c3 = 300: M 4
    add(session, shop, "up", **buyer(1, 300, 30))  # at c3: M 3
    session.commit()
    row = recompute_rfm(session, shop.id, NOW)
    assert (row.m1, row.m2, row.m3, row.m4) == (100, 200, 300, 400)
    assert m_scores(session, shop, "down", "up") == (4, 3)
    # "down" falls exactly onto the cut-off, "up" reaches it plus exactly the 5% margin:
    # plain scores would swap them (3, 4); the stored ones stay, day after day
    set_spend(session, shop, down=300, up=315)
    for day in range(1, 4):
        row = recompute_rfm(session, shop.id, NOW + day * DAY)
        assert (row.m1, row.m2, row.m3, row.m4) == (100, 200, 300, 400)
        assert m_scores(session, shop, "down", "up") == (4, 3), day
    # still inside the margin on the other side of the cut-off
    set_spend(session, shop, down=286, up=301)
    recompute_rfm(session, shop.id, NOW + 4 * DAY)
    assert m_scores(session, shop, "down", "up") == (4, 3)


def test_a_customer_clearly_past_a_cut_off_moves(session: Session, shop: Shop) -> None:
    crowd(session, shop)
    add(session, shop, "down", **buyer(1, 310, 30))
    add(session, shop, "up", **buyer(1, 300, 30))
    session.commit()
    recompute_rfm(session, shop.id, NOW)
    set_spend(session, shop, down=284, up=316)  # past 300 ∓ 15 by one cent
    recompute_rfm(session, shop.id, NOW + DAY)
    assert m_scores(session, shop, "down", "up") == (3, 4)
    set_spend(session, shop, down=94, up=421)  # past 100 - 5 and 400 + 20: two cut-offs
    recompute_rfm(session, shop.id, NOW + 2 * DAY)
    assert m_scores(session, shop, "down", "up") == (1, 5)


def test_r_and_f_hold_at_their_cut_offs_and_move_past_the_margin(
    session: Session, shop: Shop
) -> None:
    """R: a week of last-order time; F: half an order (an equal count holds the score)."""
    ten_buyers_two_prospects(session, shop)  # F cut-offs 1, 1, 2, 5; R: 8, 6, 4, 2 days ago
    recompute_rfm(session, shop.id, NOW)
    assert fields(session, shop, "rfm_r", "rfm_f")["c08"] == (4, 4)  # 2 days ago, F 5
    stored = select(Customer.rfm_r, Customer.rfm_f).where(Customer.platform_id == "c08")
    # as if c08 had been scored (5, 5) before: at R 2 days ago (= c4) and F 5 (= c4) it
    # is exactly at both cut-offs, within both margins, so it keeps them
    session.execute(update(Customer).where(Customer.platform_id == "c08").values(rfm_r=5, rfm_f=5))
    session.commit()
    for day in range(3):
        row = recompute_rfm(session, shop.id, NOW + day * HOUR)
        assert (row.f4, row.r4) == (5, NOW - 2 * DAY), day
        assert session.execute(stored).one() == (5, 5)
    # 2 orders and a last order 30 days ago, clearly below: each score drops to the highest
    # one whose cut-off it is not clearly below (F cut-offs now 1, 1, 2, 3: 2 > 2 - 1 → 4)
    session.execute(
        update(Customer)
        .where(Customer.platform_id == "c08")
        .values(orders_count=2, last_order_at=NOW - 30 * DAY)
    )
    session.commit()
    recompute_rfm(session, shop.id, NOW + DAY)
    assert session.execute(stored).one() == (1, 4)


def test_a_recompute_writes_only_the_customers_whose_scores_change(
    session: Session, shop: Shop
) -> None:
    ten_buyers_two_prospects(session, shop)
    recompute_rfm(session, shop.id, NOW)
    when = select(Customer.platform_id, Customer.rfm_scored_at).where(Customer.shop_id == shop.id)
    assert dict(session.execute(when).tuples().all()) == {
        **{f"c{i:02}": NOW for i in range(1, 11)},
        "p1": None,
        "p2": None,
    }
    session.execute(
        update(Customer).where(Customer.platform_id == "c01").values(total_spent_minor=10_000)
    )
    session.commit()
    later = NOW + DAY
    row = recompute_rfm(session, shop.id, later)
    assert (row.m1, row.m2, row.m3, row.m4) == (300, 500, 700, 900)  # were 200 … 800
    changed = {k for k, at in session.execute(when) if at == later}
    # M 1 → 5; c03, c05, c07 and c09 now sit exactly on a cut-off and keep their scores
    assert changed == {"c01"}


def test_a_customer_whose_orders_went_is_a_prospect_at_once_and_unscored_next_day(
    session: Session, shop: Shop
) -> None:
    ten_buyers_two_prospects(session, shop)
    recompute_rfm(session, shop.id, NOW)
    session.execute(
        update(Customer)
        .where(Customer.platform_id == "c10")
        .values(orders_count=0, total_spent_minor=0, last_order_at=None, first_order_at=None)
    )
    session.commit()
    assert fields(session, shop, "rfm_r", "rfm_segment")["c10"] == (None, "prospects")
    recompute_rfm(session, shop.id, NOW + DAY)
    scores = select(Customer.rfm_r, Customer.rfm_f, Customer.rfm_m, Customer.rfm_scored_at)
    assert session.execute(scores.where(Customer.platform_id == "c10")).one() == (None,) * 4


def sweep_inputs(session: Session, shop: Shop, now: datetime) -> RfmCutoffs:
    row = refresh_sweep_inputs(session, shop.id, now)
    session.commit()
    return row


def test_the_sweep_recomputes_once_per_local_day_and_scores_newcomers_between(
    session: Session, shop: Shop
) -> None:
    shop.timezone = "Europe/Warsaw"  # UTC+2 in June: local midnight is 22:00 UTC
    ten_buyers_two_prospects(session, shop)
    assert sweep_inputs(session, shop, NOW).computed_at == NOW  # no row yet
    before = fields(session, shop, "rfm_r", "rfm_f", "rfm_m")
    for i in range(3):  # would move every F and M cut-off
        add(session, shop, f"whale{i}", **buyer(50, 100_000, 0, spent_365d_minor=100_000,
                                                orders_365d=50))  # fmt: skip
    session.commit()
    midnight = datetime(2026, 6, 1, 22, 0, tzinfo=NOW.tzinfo)
    row = sweep_inputs(session, shop, midnight - timedelta(minutes=1))
    assert row.computed_at == NOW and row.f4 == 5  # the same local day: cut-offs kept
    assert row.vip_population == 3  # the VIP threshold follows every sweep
    after = fields(session, shop, "rfm_r", "rfm_f", "rfm_m")
    assert {k: v for k, v in after.items() if k in before} == before
    assert after["whale0"] == (5, 5, 5)  # scored at once against the kept cut-offs
    row = sweep_inputs(session, shop, midnight)
    assert row.computed_at == midnight and row.f4 == 50
    assert fields(session, shop, "rfm_f")["c10"] == (4,)  # 13 < c4 - 0.5 now


def test_a_history_import_after_the_first_sweep_recomputes_the_same_day(
    session: Session, shop: Shop
) -> None:
    """The install's sweep saw no buyers (null cut-offs); the import then brings them."""
    add(session, shop, "p0")
    session.commit()
    assert sweep_inputs(session, shop, NOW).customers == 0
    ten_buyers_two_prospects(session, shop)
    row = sweep_inputs(session, shop, NOW + HOUR)
    assert (row.customers, row.computed_at) == (10, NOW + HOUR)
    assert fields(session, shop, "rfm_segment")["c10"] == ("champions",)
    for i in range(10):  # 10 → 20 ranked: not more than double, so not before tomorrow
        add(session, shop, f"n{i}", **buyer(1, 1, 1))
    session.commit()
    assert sweep_inputs(session, shop, NOW + 2 * HOUR).computed_at == NOW + HOUR
