"""The RFM page and /api/rfm: the grid agrees with the RFM built-in segments the engine
evaluated, and movement between groups is read from those segments' stays."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from plugin.db import utcnow
from plugin.segments.models import REALTIME, SWEEP, Segment, SegmentMembership
from plugin.segments.services import segment_summaries
from tests.support.admin import SeededShop, sign_in


@pytest.fixture
def csrf(admin_client: FlaskClient, admin_shop: SeededShop) -> str:
    return sign_in(admin_client, admin_shop.runtime, admin_shop.shop_id)


def rfm_sizes(shop: SeededShop) -> dict[str, int]:
    with shop.runtime.sessions() as session:
        return {
            s.slug: s.size
            for s in segment_summaries(session, shop.shop_id)
            if s.slug.startswith("rfm-")
        }


def test_the_grid_agrees_with_the_rfm_segments(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    data = admin_client.get("/api/rfm").get_json()
    assert len(data["cells"]) == 25
    per_group: dict[str, int] = {}
    for cell in data["cells"]:
        per_group[cell["segment"]] = per_group.get(cell["segment"], 0) + cell["customers"]
    sizes = rfm_sizes(admin_shop)
    assert {k: v for k, v in per_group.items() if v} == {
        k: v for k, v in sizes.items() if v and k != "rfm-prospects"
    }
    assert data["prospects"] == sizes["rfm-prospects"] == 7  # n % 4 == 0 for 7 of n = 1..30
    assert sum(c["customers"] for c in data["cells"]) == 23
    assert sum(c["revenue_minor"] for c in data["cells"]) == 45000  # every order: $450.00


def test_the_page_shows_counts_and_leads_to_the_groups_members(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    page = admin_client.get("/admin/rfm").get_data(as_text=True)
    cells = re.findall(r'<td data-cell="(\d\d)" data-group="(\w+)" data-count="(\d+)">', page)
    assert len(cells) == 25 and sum(int(n) for _, _, n in cells) == 23
    assert 'href="/admin/segments/rfm-at-risk"' in page
    assert 'href="/admin/rfm"' in page  # in the navigation


def test_movement_reads_the_rfm_segment_stays(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    now = utcnow()
    with admin_shop.runtime.sessions.begin() as session:
        rows = session.execute(
            select(Segment.slug, Segment.id).where(Segment.shop_id == admin_shop.shop_id)
        )
        slugs = {slug: segment_id for slug, segment_id in rows}
        stay = session.scalars(
            select(SegmentMembership).where(
                SegmentMembership.segment_id == slugs["rfm-at-risk"],
                SegmentMembership.exited_at.is_(None),
            )
        ).first()
        assert stay is not None
        # 40 days ago a champion, since 10 days ago at risk.
        session.execute(
            update(SegmentMembership)
            .where(SegmentMembership.id == stay.id)
            .values(entered_at=now - timedelta(days=10), entered_reason=SWEEP)
        )
        # Another customer's first order 5 days ago put them in their first group.
        newcomer = session.scalars(
            select(SegmentMembership).where(
                SegmentMembership.segment_id.in_([slugs[s] for s in slugs if s.startswith("rfm-")]),
                SegmentMembership.customer_id != stay.customer_id,
                SegmentMembership.exited_at.is_(None),
            )
        ).first()
        assert newcomer is not None
        newcomer.entered_at, newcomer.entered_reason = now - timedelta(days=5), REALTIME
        session.add(
            SegmentMembership(
                shop_id=admin_shop.shop_id, segment_id=slugs["rfm-champions"],
                customer_id=stay.customer_id, entered_at=now - timedelta(days=40),
                exited_at=now - timedelta(days=10), entered_reason=SWEEP, exited_reason=SWEEP,
            )
        )  # fmt: skip
    moves = admin_client.get("/api/rfm").get_json()["movement"]
    assert {"before": "champions", "after": "at_risk", "customers": 1} in moves
    newcomers = sum(m["customers"] for m in moves if m["before"] is None)
    # Everyone else entered a group at the segments' first evaluation: tracking, not moving.
    assert newcomers == 1
    page = admin_client.get("/admin/rfm").get_data(as_text=True)
    assert '<tr data-from="champions" data-to="at_risk">' in page
