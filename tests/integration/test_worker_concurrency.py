"""Several workers on PostgreSQL: every row claimed and applied exactly once."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from plugin.db import utcnow
from plugin.inbox.models import DONE, PENDING, InboxRow
from plugin.runtime import Runtime
from plugin.worker import process_batch
from tests.support.inbox import Recorder, add_shop, applied_counts

SHOP = "demo-shop.myshopify.com"
ROWS = 300
CUSTOMERS = 25


def _fill_inbox(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        session.add_all(
            InboxRow(
                shop_domain=SHOP,
                topic="customer.tags_added",
                webhook_id=f"w{i}",
                headers={},
                payload=json.dumps({"marker": f"m{i}", "customer": str(i % CUSTOMERS)}),
                status=PENDING,
            )
            for i in range(ROWS)
        )


def test_two_workers_process_each_row_exactly_once(
    runtime: Runtime, recorder: Recorder, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent claiming is a PostgreSQL feature (SQLite has one writer)")
    add_shop(runtime, SHOP)
    _fill_inbox(runtime)
    for i in range(0, ROWS, 37):
        recorder.failures[f"m{i}"] = 1  # some rows fail once and go round again
    claimed = [0, 0]
    errors: list[BaseException] = []

    def work(slot: int, now: datetime) -> None:
        try:
            while n := process_batch(runtime, limit=10, now=now):
                claimed[slot] += n
        except BaseException as exc:  # surfaced below: a thread cannot fail the test itself
            errors.append(exc)

    # The second round, two hours on, finds the failed rows due again.
    for now in (utcnow(), utcnow() + timedelta(hours=2)):
        threads = [threading.Thread(target=work, args=(slot, now)) for slot in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert errors == []
    assert min(claimed) > 0, claimed  # both workers really took part
    with runtime.sessions() as session:
        assert applied_counts(session) == {f"m{i}": 1 for i in range(ROWS)}
        statuses = session.execute(
            select(InboxRow.status, func.count()).group_by(InboxRow.status)
        ).all()
    assert dict(statuses) == {DONE: ROWS}
    assert recorder.overlaps == 0
