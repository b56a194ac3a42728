"""The inbox worker: savepoint per row, retries with backoff, dead rows, awaiting installs."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from plugin.db import utcnow
from plugin.inbox.models import (
    AWAITING_INSTALL,
    DEAD,
    DONE,
    DUPLICATE,
    IGNORED,
    PENDING,
    InboxRow,
)
from plugin.inbox.services import release_awaiting_install
from plugin.runtime import Runtime
from plugin.worker import backoff, drain, process_batch
from tests.support.inbox import Recorder, add_shop, applied_counts, deliver

SHOP = "demo-shop.myshopify.com"


def rows(runtime: Runtime) -> list[InboxRow]:
    with runtime.sessions() as session:
        return list(session.scalars(select(InboxRow).order_by(InboxRow.id)))


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.sessions() as session:
        return applied_counts(session)


def test_each_row_is_applied_once_and_marked_done(runtime: Runtime, recorder: Recorder) -> None:
    add_shop(runtime, SHOP)
    for marker, customer in [("a", "1"), ("b", "2"), ("c", "1")]:
        deliver(runtime, SHOP, {"marker": marker, "customer": customer})
    assert process_batch(runtime) == 3
    assert counts(runtime) == {"a": 1, "b": 1, "c": 1}
    assert [(r.status, r.subject_ids) for r in rows(runtime)] == [
        (DONE, "1"),
        (DONE, "2"),
        (DONE, "1"),
    ]
    assert all(r.processed_at is not None and r.shop_id is not None for r in rows(runtime))
    assert process_batch(runtime) == 0


def test_failure_mid_batch_is_retried_without_loss_or_double_apply(
    runtime: Runtime, recorder: Recorder
) -> None:
    add_shop(runtime, SHOP)
    for marker in "abcde":
        deliver(runtime, SHOP, {"marker": marker})
    recorder.failures["c"] = 1
    now = utcnow()

    process_batch(runtime, now=now)

    # The failed row rolled back alone; the others committed in the same batch.
    assert counts(runtime) == {"a": 1, "b": 1, "d": 1, "e": 1}
    failed = rows(runtime)[2]
    assert (failed.status, failed.attempts) == (PENDING, 1)
    assert "injected failure for c" in (failed.last_error or "")
    assert failed.next_attempt_at is not None and failed.next_attempt_at > now
    assert process_batch(runtime, now=now) == 0  # not due yet

    drain(runtime, now=now + timedelta(hours=2))
    assert counts(runtime) == {m: 1 for m in "abcde"}
    assert [r.status for r in rows(runtime)] == [DONE] * 5


def test_a_row_failing_every_time_is_dead_after_five_attempts(
    runtime: Runtime, recorder: Recorder
) -> None:
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"marker": "x"})
    recorder.failures["x"] = 100
    now = utcnow()
    for attempt in range(1, 6):
        assert process_batch(runtime, now=now) == 1
        [row] = rows(runtime)
        assert row.attempts == attempt
        now += timedelta(hours=2)
    [row] = rows(runtime)
    assert row.status == DEAD
    assert "injected failure for x" in (row.last_error or "")
    assert row.payload is not None  # kept for inspection and a manual retry
    assert process_batch(runtime, now=now + timedelta(days=1)) == 0
    assert counts(runtime) == {}


def test_a_validation_error_is_dead_at_once(runtime: Runtime, recorder: Recorder) -> None:
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"invalid": True})
    deliver(runtime, SHOP, {"marker": "ok"})
    process_batch(runtime)
    bad, good = rows(runtime)
    assert (bad.status, bad.attempts) == (DEAD, 1)
    assert "not a valid integer" in (bad.last_error or "")
    assert good.status == DONE


def test_a_delivery_without_events_is_ignored(runtime: Runtime, recorder: Recorder) -> None:
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"something": "else"})
    process_batch(runtime)
    [row] = rows(runtime)
    assert (row.status, row.processed_at is not None) == (IGNORED, True)


def test_a_second_delivery_of_the_same_event_is_a_duplicate(
    runtime: Runtime, recorder: Recorder
) -> None:
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"marker": "a"}, webhook_id="w1", event_id="ev")
    deliver(runtime, SHOP, {"marker": "a"}, webhook_id="w2", event_id="ev")
    deliver(runtime, SHOP, {"marker": "a"}, webhook_id="w3", event_id="ev", topic="other/topic")
    drain(runtime)
    assert [r.status for r in rows(runtime)] == [DONE, DUPLICATE, DONE]
    assert counts(runtime) == {"a": 2}  # once per topic


def test_delivery_before_install_waits_then_is_processed(
    runtime: Runtime, recorder: Recorder
) -> None:
    deliver(runtime, SHOP, {"marker": "early"})
    assert [r.status for r in rows(runtime)] == [AWAITING_INSTALL]
    assert drain(runtime) == 0

    add_shop(runtime, SHOP)
    with runtime.sessions.begin() as session:
        assert release_awaiting_install(session, "shopify", SHOP) == 1
    drain(runtime)
    assert [r.status for r in rows(runtime)] == [DONE]
    assert counts(runtime) == {"early": 1}


def test_pending_row_of_a_shop_not_installed_goes_back_to_waiting(
    runtime: Runtime, recorder: Recorder
) -> None:
    add_shop(runtime, SHOP, state="pending")
    deliver(runtime, SHOP, {"marker": "a"})
    with runtime.sessions.begin() as session:
        session.scalars(select(InboxRow)).one().status = PENDING
    process_batch(runtime)
    assert [r.status for r in rows(runtime)] == [AWAITING_INSTALL]
    assert counts(runtime) == {}


def test_uninstalled_shop_still_gets_its_deliveries_processed(
    runtime: Runtime, recorder: Recorder
) -> None:
    # shop/redact arrives 48 h after the uninstall: it must not wait for a reinstall.
    add_shop(runtime, SHOP, state="uninstalled")
    deliver(runtime, SHOP, {"marker": "redact"})
    drain(runtime)
    assert [r.status for r in rows(runtime)] == [DONE]


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    first, third = backoff(1).total_seconds(), backoff(3).total_seconds()
    assert 8 <= first <= 12
    assert 32 <= third <= 48
    assert backoff(30) <= timedelta(hours=1, minutes=12)
    assert len({backoff(2) for _ in range(20)}) > 1


def test_run_worker_processes_deliveries_and_stops_when_asked(
    runtime: Runtime, recorder: Recorder
) -> None:
    import threading
    import time

    from plugin.worker import run_worker

    add_shop(runtime, SHOP)
    runtime.settings = replace(runtime.settings, worker_poll_seconds=0.05)
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker, args=(runtime, stop), kwargs={"with_scheduler": False}
    )
    thread.start()
    try:
        deliver(runtime, SHOP, {"marker": "live"})
        deadline = time.monotonic() + 10
        while counts(runtime) != {"live": 1} and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert counts(runtime) == {"live": 1}
    assert not thread.is_alive()


def test_a_redaction_mid_batch_is_not_undone_by_the_worker(
    runtime: Runtime, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def redacting(session, shop, event, delivery, ctx) -> None:  # type: ignore[no-untyped-def]
        if event.added == ("redact",):  # scrubs every row about the customer, as privacy does
            session.execute(
                update(InboxRow)
                .where(InboxRow.subject_ids.contains("9") | InboxRow.payload.contains('"9"'))
                .values(payload=None, subject_ids=None)
            )

    monkeypatch.setattr("plugin.worker.dispatch", redacting)
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"marker": "redact", "customer": "9"})
    deliver(runtime, SHOP, {"marker": "late", "customer": "9"})
    assert process_batch(runtime) == 2
    assert [(r.status, r.payload, r.subject_ids) for r in rows(runtime)] == [
        (DONE, None, None),
        (DONE, None, None),
    ]


def test_failure_logs_name_the_row_not_the_payload(
    runtime: Runtime, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"marker": "secret-marker@example.com"})
    recorder.failures["secret-marker@example.com"] = 1
    process_batch(runtime)
    assert "worker.row_failed id=1" in caplog.text
    assert "secret-marker" not in caplog.text
