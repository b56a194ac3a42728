"""Preview: count and a sample for an unsaved query, one shop only, nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from plugin.db import is_postgresql
from plugin.segments.errors import QueryError
from plugin.segments.models import Segment, SegmentEvent, SegmentState
from plugin.segments.preview import preview_query
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.support.profiles import apply_payload, make_shop, order_payload

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def orders(session: Session, shop: Shop, settings: Settings, customers: dict[str, int]) -> None:
    for customer, count in customers.items():
        for n in range(count):
            when = NOW - timedelta(days=n + 1)
            payload = order_payload(
                f"{shop.id}{customer}{n}", customer=customer, total="10.00", updated_at=when
            )
            apply_payload(session, shop, "orders/create", payload, settings=settings, now=when)


def test_preview_counts_and_samples_this_shops_matches(
    session: Session, settings: Settings
) -> None:
    shop, other = make_shop(session, "a.myshopify.com"), make_shop(session, "b.myshopify.com")
    orders(session, shop, settings, {str(n): 1 + n % 3 for n in range(30)})
    orders(session, other, settings, {"100": 3})

    result = preview_query(session, shop.id, "number_of_orders  >=  2", NOW)

    assert result.canonical == "number_of_orders >= 2"
    assert result.count == 20  # n % 3 in (1, 2) for 20 of the 30
    assert len(result.sample) == 20 and "100" not in result.sample
    assert result.sample[:3] == ["1", "2", "4"]  # oldest profiles first


def test_a_bad_query_says_where_and_writes_nothing(session: Session, settings: Settings) -> None:
    shop = make_shop(session)
    with pytest.raises(QueryError) as caught:
        preview_query(session, shop.id, "number_of_orders >= 2 AND bogus_field = 1", NOW)
    assert (caught.value.line, caught.value.column) == (1, 27)
    for model in (Segment, SegmentState, SegmentEvent):
        assert session.scalar(select(func.count()).select_from(model)) == 0


def test_preview_runs_under_a_statement_timeout_on_postgresql(
    session: Session, settings: Settings
) -> None:
    shop = make_shop(session)
    preview_query(session, shop.id, "number_of_orders >= 1", NOW, timeout_ms=1234)
    if not is_postgresql(session):
        pytest.skip("statement timeouts are a PostgreSQL setting")
    assert session.scalar(text("SHOW statement_timeout")) == "1234ms"
    session.rollback()
    assert session.scalar(text("SHOW statement_timeout")) == "0"  # SET LOCAL: this transaction
