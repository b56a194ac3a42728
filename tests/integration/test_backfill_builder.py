"""Staged rows built in a second process: the same rows as built here, errors raised where
they were, and no child left behind (stopped, abandoned, or its parent killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import orjson
import pytest

from plugin.backfill.builder import Builder, build
from plugin.backfill.staging import Stager
from plugin.errors import ValidationError
from plugin.platforms.shopify.history_rows import rows_from_lines

STARTED = datetime(2026, 6, 1, tzinfo=UTC)
BATCH = 40


def order_lines(orders: int) -> list[bytes]:
    lines = []
    for n in range(1, orders + 1):
        gid = f"gid://shopify/Order/{n}"
        money = {"shopMoney": {"amount": f"{n}.50", "currencyCode": "USD"}}
        lines.append(
            {
                "id": gid,
                "customer": {"id": f"gid://shopify/Customer/{n % 7 + 1}"},
                "currentTotalPriceSet": money,
                "totalPriceSet": money,
                "processedAt": "2026-01-01T00:00:00Z",
                "updatedAt": "2026-01-02T00:00:00Z",
            }
        )
        lines.append(
            {
                "id": f"gid://shopify/LineItem/{n}",
                "quantity": 2,
                "originalUnitPriceSet": money,
                "__parentId": gid,
            }
        )
    return [orjson.dumps(line) for line in lines]


def chunks(lines: list[Any], size: int = BATCH) -> Iterator[tuple[int, list[Any]]]:
    source, first = iter(lines), 0
    while chunk := list(islice(source, size)):
        yield first, chunk
        first += len(chunk)


def stager() -> Stager:
    return Stager(1, 2, STARTED, "sqlite")


def built_here(lines: list[bytes]) -> list[tuple[int, Any]]:
    here = stager()
    return [(len(c), build(rows_from_lines, here, "orders", f, c)) for f, c in chunks(lines)]


def wait_for_child(builder: Builder) -> subprocess.Popen[bytes]:
    """The builder's child once it is up (batches are built here until then)."""
    builder._start()
    deadline = time.monotonic() + 30
    while not builder._ready():
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.01)
    assert builder._child is not None
    return builder._child


def test_the_child_builds_the_rows_this_process_builds() -> None:
    lines = order_lines(200)
    with Builder(rows_from_lines, stager()) as builder:
        child = wait_for_child(builder)
        got = list(builder.batches("orders", chunks(lines)))
    assert got == built_here(lines)
    assert child.poll() == 0  # stopped when the builder was left


def test_an_unpicklable_parser_builds_in_this_process() -> None:
    lines = order_lines(200)
    with Builder(lambda lines, resource: rows_from_lines(lines, resource), stager()) as builder:
        got = list(builder.batches("orders", chunks(lines)))
        assert builder._child is None
    assert got == built_here(lines)


def test_a_bad_line_is_refused_after_the_batches_before_it() -> None:
    lines = order_lines(200)
    lines[5 * BATCH + 3] = b"{not json"
    written = []
    with Builder(rows_from_lines, stager()) as builder:
        child = wait_for_child(builder)
        with pytest.raises(ValidationError, match="history line 4: not JSON"):
            for count, _staged in builder.batches("orders", chunks(lines)):
                written.append(count)
    assert written == [BATCH] * 5
    assert child.poll() is not None


def test_leaving_in_the_middle_stops_the_child() -> None:
    with Builder(rows_from_lines, stager()) as builder:
        child = wait_for_child(builder)
        batches = builder.batches("orders", chunks(order_lines(2000)))
        next(batches)
        next(batches)  # the child is building the third batch now
    assert child.poll() is not None


CHILD_OF_A_KILLED_PARENT = """
import os, sys, time
from plugin.backfill.builder import Builder
from plugin.platforms.shopify.history_rows import rows_from_lines
from tests.integration.test_backfill_builder import stager, wait_for_child
builder = Builder(rows_from_lines, stager())
print(wait_for_child(builder).pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_the_child_of_a_killed_parent_exits() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD_OF_A_KILLED_PARENT], stdout=subprocess.PIPE
    )
    assert parent.stdout is not None
    with parent.stdout:
        pid = int(parent.stdout.readline())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 30
    while _running(pid):
        assert time.monotonic() < deadline, "the child outlived its killed parent"
        time.sleep(0.05)


def _running(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for init to reap it has exited)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
