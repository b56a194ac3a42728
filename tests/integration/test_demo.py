"""`shopseg demo` end to end, as a user runs it: a real process, the app as its child, the
simulated shop over HTTP, Ctrl-C, and a second run that continues from the kept data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from plugin.demo import snapshot
from plugin.demo.cdnow_shop import SHOP
from plugin.demo.live import FIRST_LIVE_ORDER
from plugin.demo.runner import Demo, DemoOptions
from plugin.platforms.shopify.simulator import SimulatorState
from plugin.segments.models import SegmentMembership
from plugin.shops.models import Shop

CUSTOMERS = 300  # CDNOW's first 300 customers: the same code path as the full shop, quicker


class DemoProcess:
    """`shopseg demo` in a subprocess; its output collected line by line."""

    def __init__(self, directory: Path, *extra: str) -> None:
        command = [sys.executable, "-m", "plugin.cli", "demo", "--dir", str(directory)]
        command += ["--port", "0", "--customers", str(CUSTOMERS), "--pace", "0.3", *extra]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, count: int = 1, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.lines) < count:
            if self.process.poll() is not None and not self.reader.is_alive():
                pytest.fail(f"demo exited {self.process.returncode}:\n" + self.output)
            if time.monotonic() > deadline:
                pytest.fail(f"no {text!r} after {timeout} s:\n" + self.output)
            time.sleep(0.1)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        return self.wait()

    def wait(self) -> int:
        code = self.process.wait(timeout=90)
        self.reader.join(timeout=5)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def demo_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "demo"


def _figures(directory: Path) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{directory / 'demo.db'}")
    try:
        with engine.connect() as conn:
            count = lambda sql: int(conn.scalar(text(sql)) or 0)  # noqa: E731
            return {
                "members": int(conn.scalar(select(func.count()).select_from(SegmentMembership))),
                "segments_with_members": count(
                    "select count(distinct segment_id) from segment_memberships"
                ),
                "rfm_cutoffs": count("select count(*) from rfm_cutoffs"),
                "daily_kpis": count("select count(*) from segment_daily"),
                "customers": count("select count(*) from customers"),
                "live_orders": count(
                    f"select count(*) from orders where platform_id >= '{FIRST_LIVE_ORDER}'"
                ),
                "imports": count("select count(*) from backfill_runs where why != 'reconcile'"),
                "fired": count("select count(*) from trigger_firings where state = 'fired'"),
                "installed_at": conn.scalar(select(Shop.installed_at)),
            }
    finally:
        engine.dispose()


def _tag_pushes(directory: Path, up_to: int | None = None) -> int:
    """The last tag push queued (`up_to` None), or how many up to `up_to` are still owed."""
    engine = create_engine(f"sqlite:///{directory / 'demo.db'}")
    try:
        with engine.connect() as conn:
            if up_to is None:
                return int(conn.scalar(text("select max(id) from outbox")) or 0)
            owed = (
                "select count(*) from outbox where kind in ('tags', 'bulk_tags')"
                " and state in ('pending', 'sending') and id <= :up_to"
            )
            return int(conn.scalar(text(owed), {"up_to": up_to}))
    finally:
        engine.dispose()


def _tagged_at_simulator(directory: Path) -> int:
    state = SimulatorState("k", "s")
    assert snapshot.load(state, directory / "simulator.pickle") is not None
    return sum(1 for c in state.customers.all(SHOP) if c.tags)


def test_demo_installs_imports_goes_live_stops_on_ctrl_c_and_continues(demo_dir: Path) -> None:
    first = DemoProcess(demo_dir)
    first.wait_for("demo is ready")
    imported_tags = _tag_pushes(demo_dir)
    # The checkouts left 10+ hours ago: the trigger scan (each minute) fires them.
    deadline = time.monotonic() + 150
    while _figures(demo_dir)["fired"] == 0 and time.monotonic() < deadline:
        time.sleep(2)
    first.wait_for(" live: ", count=3)
    # The import's tags go out at the shop's rate limit: wait for them, as a merchant would.
    deadline = time.monotonic() + 240
    while _tag_pushes(demo_dir, up_to=imported_tags) and time.monotonic() < deadline:
        time.sleep(1)
    assert first.interrupt() == 0, first.output
    assert "Stopped." in first.output
    assert "Building the demo shop" in first.output
    assert "/admin/login?token=" in first.output  # the admin link is printed

    figures = _figures(demo_dir)
    assert figures["segments_with_members"] >= 5, figures
    assert figures["rfm_cutoffs"] > 0 and figures["daily_kpis"] > 0, figures
    assert figures["imports"] == 1
    assert figures["fired"] > 0, figures  # old abandoned checkouts of consenting customers
    # Half the shop sits in a pushed segment (VIP, Regular, Champions, At risk); exactly which
    # tags each customer gets is the tag sync's tests' business, not the demo's.
    assert _tagged_at_simulator(demo_dir) >= CUSTOMERS // 3

    second = DemoProcess(demo_dir, "--events", "2")
    second.wait_for("demo is ready")
    assert second.wait() == 0, second.output
    assert "Continuing the demo shop" in second.output
    assert "Building the demo shop" not in second.output
    again = _figures(demo_dir)
    # Re-approving the app kept the shop: same install date, no second import.
    assert (again["installed_at"], again["imports"]) == (figures["installed_at"], 1)
    assert again["customers"] >= figures["customers"]
    assert again["live_orders"] >= 1, again


def test_a_busy_port_is_named_before_anything_is_touched(demo_dir: Path) -> None:
    demo_dir.mkdir()
    (demo_dir / "simulator.pickle").write_bytes(b"kept")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-m", "plugin.cli", "demo", "--dir", str(demo_dir),
             "--port", str(port), "--fresh"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert run.returncode != 0
    assert f"port {port} is in use" in run.stderr
    assert (demo_dir / "simulator.pickle").read_bytes() == b"kept"


def test_fresh_forgets_the_previous_shop(demo_dir: Path) -> None:
    demo_dir.mkdir()
    (demo_dir / "demo.db").write_bytes(b"old")
    run = Demo(DemoOptions(demo_dir, port=0, fresh=True, customers=20), say=lambda _: None)
    try:
        assert run._prepare() is True  # a new shop was built
        assert not (demo_dir / "demo.db").exists()
        assert len(run.simulator.state.customers.all(SHOP)) == 20  # type: ignore[union-attr]
    finally:
        run._shut_down()
    assert _tagged_at_simulator(demo_dir) == 0  # saved on the way out, nothing pushed yet
