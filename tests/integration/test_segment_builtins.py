"""Built-in segments: shipped as valid canonical queries, created once per shop at install,
editable and switchable off, never duplicated or reset by a reinstall."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from plugin.errors import ValidationError
from plugin.runtime import Runtime
from plugin.segments.builtins import BUILTINS
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.models import BUILTIN, INITIAL, MAX_SEGMENTS, Segment
from plugin.segments.parser import parse_query
from plugin.segments.services import add_segment, disable_segment, edit_segment, member_ids
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.integration.test_segment_eval_support import installed
from tests.support.profiles import apply_payload, line_item, order_payload, product_payload

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("builtin", BUILTINS, ids=[b.key for b in BUILTINS])
def test_every_builtin_parses_to_its_own_canonical_text(builtin) -> None:
    parsed = parse_query(builtin.query)
    assert parsed.canonical == builtin.query
    assert parsed.notices == ()


def test_builtins_cover_the_playbook_and_every_rfm_group() -> None:
    keys = {b.key for b in BUILTINS}
    assert {"new_customers", "regular", "vip", "abandoned_cart", "inactive"} <= keys
    assert {"one_time_buyers", "engaged_non_buyers"} <= keys
    assert {"at_risk_of_churn", "next_purchase_due", "high_predicted_value"} <= keys
    assert len([k for k in keys if k.startswith("rfm_")]) == 11


def test_rfm_builtins_read_our_rfm_segment_not_shopifys_rfm_group() -> None:
    """The RFM built-ins are this app's groups (transparent cut-offs, evaluated for every
    shop); Shopify's rfm_group is NULL until imported and would leave them empty."""
    rfm = [b.query for b in BUILTINS if b.key.startswith("rfm_")]
    assert all(q.startswith("rfm_segment = '") for q in rfm)
    assert not any("rfm_group" in b.query for b in BUILTINS)


def test_install_creates_each_builtin_once_on_its_own_bit(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, "a.myshopify.com", NOW)
    with runtime.sessions() as session:
        rows = session.scalars(select(Segment).where(Segment.shop_id == shop_id)).all()
    assert sorted(r.builtin_key for r in rows) == sorted(b.key for b in BUILTINS)
    assert len({r.bit for r in rows}) == len(rows)
    assert {(r.kind, r.enabled, r.pending_reason) for r in rows} == {(BUILTIN, True, INITIAL)}


def test_a_reinstall_keeps_the_merchants_edits_and_adds_nothing(
    runtime: Runtime, settings: Settings
) -> None:
    domain = "a.myshopify.com"
    shop_id = installed(runtime, settings, domain, NOW)
    with runtime.sessions.begin() as session:
        edit_segment(session, shop_id, "Regular", "number_of_orders >= 5", now=NOW)
        disable_segment(session, shop_id, "VIP", now=NOW)
    assert installed(runtime, settings, domain, NOW) == shop_id

    with runtime.sessions() as session:
        rows = {
            s.builtin_key: s
            for s in session.scalars(select(Segment).where(Segment.shop_id == shop_id))
        }
    assert len(rows) == len(BUILTINS)
    assert rows["regular"].query == "number_of_orders >= 5"
    assert rows["vip"].enabled is False


def test_a_shop_holds_at_most_max_segments(runtime: Runtime, settings: Settings) -> None:
    shop_id = installed(runtime, settings, "a.myshopify.com", NOW)
    with runtime.sessions.begin() as session:
        for n in range(MAX_SEGMENTS - len(BUILTINS)):
            add_segment(session, shop_id, f"custom {n}", "number_of_orders >= 1", now=NOW)
        with pytest.raises(ValidationError, match=f"at most {MAX_SEGMENTS}"):
            add_segment(session, shop_id, "one too many", "number_of_orders >= 1", now=NOW)


def test_category_fans_follow_the_top_five_product_types(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, "a.myshopify.com", NOW - timedelta(days=400))
    # Type k (1..6) is bought by k customers; "Men's Shoes" (6 buyers) leads, Hats (1) is out.
    types = ["Hats", "Socks", "Belts", "Bags", "Scarves", "Men's Shoes"]
    with runtime.sessions() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        for k, kind in enumerate(types, start=1):
            when = NOW - timedelta(days=20)
            apply_payload(
                session,
                shop,
                "products/create",
                product_payload(str(k), product_type=kind, vendor=None, updated_at=when),
                settings=settings,
                now=when,
            )
            for buyer in range(k):
                order = order_payload(
                    f"{k}{buyer}",
                    customer=str(buyer),
                    total="5.00",
                    updated_at=when,
                    lines=[line_item(str(k), "5.00")],
                )
                apply_payload(session, shop, "orders/create", order, settings=settings, now=when)
    sweep_shop(runtime, shop_id, NOW)
    with runtime.sessions() as session:
        fans = {
            s.name: s
            for s in session.scalars(
                select(Segment).where(Segment.builtin_key.startswith("category_fans:"))
            )
        }
        assert set(fans) == {f"Category fans: {t}" for t in types[1:]}
        shoes = fans["Category fans: Men's Shoes"]
        assert parse_query(shoes.query).canonical == shoes.query
        assert len(member_ids(session, shop_id, shoes)) == 6
        socks = fans["Category fans: Socks"]
        assert member_ids(session, shop_id, socks) == ["0", "1"]

    with runtime.sessions.begin() as session:  # the merchant switches one off
        disable_segment(session, shop_id, "Category fans: Bags", now=NOW)
    # A month on, Hats gains 3 buyers and pushes Socks (2) out of the top five.
    with runtime.sessions() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        later = NOW + timedelta(days=29)
        for buyer in range(10, 13):
            order = order_payload(
                f"9{buyer}",
                customer=str(buyer),
                total="5.00",
                updated_at=later,
                lines=[line_item("1", "5.00")],
            )
            apply_payload(session, shop, "orders/create", order, settings=settings, now=later)
    sweep_shop(runtime, shop_id, NOW + timedelta(days=31))
    with runtime.sessions() as session:
        state = {
            s.name: s.enabled
            for s in session.scalars(
                select(Segment).where(Segment.builtin_key.startswith("category_fans:"))
            )
        }
        assert state == {
            "Category fans: Hats": True,
            "Category fans: Socks": False,  # dropped out: disabled, its stays closed
            "Category fans: Belts": True,
            "Category fans: Bags": False,  # still the merchant's choice
            "Category fans: Scarves": True,
            "Category fans: Men's Shoes": True,
        }
        assert member_ids(session, shop_id, socks) == []
