"""A sweep never overwrites a newer real-time result: on PostgreSQL a sweep batch waits for
a worker transaction that re-evaluated a customer, then diffs against what it committed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from plugin.runtime import Runtime
from plugin.segments import evaluator_realtime
from plugin.segments.evaluator import evaluate_shop
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.settings import Settings
from plugin.worker import process_batch
from tests.integration.test_segment_eval_support import (
    customer_id,
    events,
    installed,
    segment_id,
    stays,
)
from tests.support.inbox import deliver
from tests.support.profiles import order_payload

SHOP = "race.myshopify.com"
T0 = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


def paused(original: Callable[..., Any], evaluated: threading.Event, release: threading.Event):
    def hook(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        evaluated.set()  # the diff is written, the worker's transaction still open
        assert release.wait(10)

    return hook


def test_a_sweep_waits_for_a_real_time_update_and_does_not_undo_it(
    runtime: Runtime, settings: Settings, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has one writer: a sweep batch cannot start inside a worker's")
    shop_id = installed(runtime, settings, SHOP, T0 - timedelta(days=30))
    for n in range(2):
        at = T0 - timedelta(days=10 - n)
        deliver(
            runtime,
            SHOP,
            order_payload(f"5{n}", customer="7", total="9.00", updated_at=at),
            topic="orders/create",
            triggered_at=at,
        )
    sweep_shop(runtime, shop_id, T0 - timedelta(days=1))
    process_batch(runtime, now=T0 - timedelta(hours=1))  # two orders: not Regular yet

    evaluated, release = threading.Event(), threading.Event()
    hook = paused(evaluator_realtime.reevaluate_subjects, evaluated, release)
    monkeypatch.setattr(evaluator_realtime, "reevaluate_subjects", hook)
    third = order_payload("52", customer="7", total="9.00", updated_at=T0)
    deliver(runtime, SHOP, third, topic="orders/create", triggered_at=T0)
    worker = threading.Thread(target=process_batch, args=(runtime,), kwargs={"now": T0})
    worker.start()
    assert evaluated.wait(10)
    sweep = threading.Thread(
        target=evaluate_shop, args=(runtime, shop_id, T0 + timedelta(minutes=1))
    )
    sweep.start()
    sweep.join(1.0)
    assert sweep.is_alive(), "the sweep batch must wait for the worker's transaction"
    release.set()
    worker.join(10)
    sweep.join(10)

    with runtime.sessions() as session:
        seven = customer_id(session, shop_id, "7")
        regular = segment_id(session, shop_id, "regular")
        assert stays(session, regular, seven) == [(T0, None, "realtime", None)]
        assert [(e[2], e[3]) for e in events(session, shop_id, regular)] == [
            ("entered", "realtime")
        ]
