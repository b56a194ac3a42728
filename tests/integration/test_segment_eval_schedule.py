"""When a shop's segments are swept: hourly (a per-shop setting), just after the shop's
local midnight, and soon after a rule changes; the scheduler job runs due shops only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from plugin.jobs import sweep_segments
from plugin.profiles.shop_settings import set_setting
from plugin.runtime import Runtime
from plugin.scheduler import default_jobs
from plugin.segments.evaluator_sweep import SWEEP_MINUTES, sweep_due, sweep_shop
from plugin.segments.models import Segment
from plugin.segments.services import create_segment
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.integration.test_segment_eval_support import installed

# 20:00 UTC on a winter day is 21:00 in Warsaw (UTC+1); local midnight is 23:00 UTC.
EVENING = datetime(2026, 1, 14, 20, 0, tzinfo=UTC)


def due(runtime: Runtime, shop_id: int, now: datetime) -> bool:
    with runtime.sessions() as session:
        return sweep_due(session, shop_id, now)


def warsaw_shop(runtime: Runtime, settings: Settings, minutes: int | None = None) -> int:
    shop_id = installed(runtime, settings, "pl.myshopify.com", EVENING - timedelta(days=1))
    with runtime.sessions.begin() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        shop.timezone = "Europe/Warsaw"
        if minutes is not None:
            set_setting(session, shop_id, SWEEP_MINUTES, minutes)
    return shop_id


def test_a_fresh_install_is_due_then_hourly(runtime: Runtime, settings: Settings) -> None:
    shop_id = warsaw_shop(runtime, settings)
    assert due(runtime, shop_id, EVENING)  # built-ins waiting for their first evaluation
    sweep_shop(runtime, shop_id, EVENING)
    assert not due(runtime, shop_id, EVENING + timedelta(minutes=59))
    assert due(runtime, shop_id, EVENING + timedelta(minutes=60))


def test_the_shops_local_midnight_makes_it_due(runtime: Runtime, settings: Settings) -> None:
    shop_id = warsaw_shop(runtime, settings, minutes=24 * 60)
    sweep_shop(runtime, shop_id, EVENING)
    assert not due(runtime, shop_id, EVENING + timedelta(hours=2, minutes=59))  # 23:59 local
    assert due(runtime, shop_id, EVENING + timedelta(hours=3, minutes=1))  # 00:01 local


def test_a_new_rule_makes_the_shop_due(runtime: Runtime, settings: Settings) -> None:
    shop_id = warsaw_shop(runtime, settings)
    sweep_shop(runtime, shop_id, EVENING)
    with runtime.sessions.begin() as session:
        create_segment(session, shop_id, "Two", "number_of_orders = 2", now=EVENING)
    assert due(runtime, shop_id, EVENING + timedelta(minutes=1))


def test_the_job_sweeps_due_shops_and_records_when(runtime: Runtime, settings: Settings) -> None:
    assert "segments.sweep" in {job.name for job in default_jobs()}
    shop_id = warsaw_shop(runtime, settings)
    sweep_segments(runtime, EVENING)
    with runtime.sessions() as session:
        stamps = set(session.scalars(select(Segment.last_evaluated_at)))
        pending = set(session.scalars(select(Segment.pending_reason)))
    assert (stamps, pending) == ({EVENING}, {None})
    sweep_segments(runtime, EVENING + timedelta(minutes=10))  # not due: nothing evaluated
    with runtime.sessions() as session:
        assert set(session.scalars(select(Segment.last_evaluated_at))) == {EVENING}
    assert not due(runtime, shop_id, EVENING + timedelta(minutes=10))
