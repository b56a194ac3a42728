"""The built-in segments are evaluated right after an install commits, so the first
deliveries fill them in real time instead of waiting for the scheduled sweep."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from plugin.db import utcnow
from plugin.platforms.shopify.install import add_custom_shop
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import evaluate_shop_now
from plugin.segments.models import Segment
from plugin.segments.services import member_ids
from plugin.shops.models import Shop
from plugin.worker import process_batch
from tests.support.inbox import deliver
from tests.support.profiles import order_payload
from tests.support.simulator import install_via_exchange

SHOP = "first-day.myshopify.com"


def _segments(runtime: Runtime) -> list[Segment]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Segment).where(Segment.kind == "builtin")))


def _new_customers(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        query = select(Segment).where(Segment.builtin_key == "new_customers")
        segment = session.scalars(query).one()
        return member_ids(session, segment.shop_id, segment)


def _order_before_install(runtime: Runtime, at: datetime) -> None:
    """An order that reached the app before the install finished (kept, then released)."""
    payload = order_payload("1001", customer="7", total="80.00", updated_at=at)
    deliver(runtime, SHOP, payload, topic="orders/create", triggered_at=at)


def test_a_managed_install_settles_the_built_ins_and_the_first_order_fills_them(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    now = utcnow()
    _order_before_install(sim_runtime, now)
    install_via_exchange(sim_runtime, simulator, SHOP)
    segments = _segments(sim_runtime)
    assert segments, "the install created the built-ins"
    assert all(s.last_evaluated_at is not None and s.pending_reason is None for s in segments)
    assert process_batch(sim_runtime, now=now) == 1  # no sweep between install and order
    assert _new_customers(sim_runtime) == ["7"]


def test_a_custom_app_install_evaluates_at_once_too(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    simulator.state.add_shop(SHOP, timezone="Europe/Warsaw")
    token = simulator.state.issue_custom_token(SHOP)
    add_custom_shop(sim_runtime, SHOP, token, "custom-app-webhook-secret-0123456789")
    assert all(s.last_evaluated_at is not None for s in _segments(sim_runtime))


def test_a_reinstall_keeps_its_schedule_and_evaluate_now_sweeps_on_demand(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    install_via_exchange(sim_runtime, simulator, SHOP)
    first = {s.id: s.last_evaluated_at for s in _segments(sim_runtime)}
    install_via_exchange(sim_runtime, simulator, SHOP)  # the merchant opens the app again
    assert {s.id: s.last_evaluated_at for s in _segments(sim_runtime)} == first
    with sim_runtime.sessions() as session:
        shop_id = session.scalar(select(Shop.id).where(Shop.domain == SHOP))
    assert shop_id is not None
    later = utcnow()
    assert evaluate_shop_now(sim_runtime, shop_id, now=later) is not None  # e.g. after an import
    assert {s.last_evaluated_at for s in _segments(sim_runtime)} == {later}
