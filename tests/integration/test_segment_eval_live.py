"""Real time over real HTTP: signed orders/create webhooks into the running app, the worker,
and the customer's memberships move with reason `realtime` in the same unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from plugin.inbox.models import DONE
from plugin.segments.builtins import ensure_builtin_segments
from plugin.segments.evaluator import evaluate_shop
from plugin.shops.models import Shop
from tests.integration.test_segment_eval_support import customer_id, events, segment_id, stays
from tests.support.live import LiveApp
from tests.support.profiles import order_payload

SHOP = "live-seg.myshopify.com"


def test_orders_over_http_move_memberships_in_real_time(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP)
    start = datetime.now(UTC) - timedelta(hours=1)
    with live_app.runtime.sessions.begin() as session:
        shop_id = session.scalar(select(Shop.id).where(Shop.domain == SHOP))
        assert shop_id is not None
        ensure_builtin_segments(session, shop_id, start)
    evaluate_shop(live_app.runtime, shop_id, start)  # settles the built-ins

    for n in range(3):
        at = start + timedelta(minutes=10 * (n + 1))
        payload = order_payload(f"77{n}", customer="42", total="25.00", updated_at=at)
        response = live_app.post_webhook("orders/create", SHOP, payload)
        assert response.status_code == 200
        live_app.drain(now=at + timedelta(minutes=1))

    assert {row.status for row in live_app.inbox_rows(SHOP)} == {DONE}
    with live_app.runtime.sessions() as session:
        who = customer_id(session, shop_id, "42")
        regular = segment_id(session, shop_id, "regular")
        new = segment_id(session, shop_id, "new_customers")
        third = start + timedelta(minutes=31)
        assert stays(session, regular, who) == [(third, None, "realtime", None)]
        assert stays(session, new, who) == [(start + timedelta(minutes=11), None, "realtime", None)]
        assert {e[3] for e in events(session, shop_id)} == {"realtime"}
