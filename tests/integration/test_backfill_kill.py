"""`kill -9` of a running `shopseg backfill`, three times at random points, then resumed:
the store equals an uninterrupted import's (both databases, a real subprocess)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from plugin.backfill.models import DONE, BackfillRun
from plugin.db import make_engine
from plugin.migrate import upgrade_head
from plugin.platforms.shopify import install
from plugin.platforms.shopify.simulator.seeding import seed_history
from plugin.runtime import build_runtime
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.conftest import TEST_API_KEY, TEST_API_SECRET, fresh_postgres_database
from tests.support.backfill import import_history, store_of

NOW = datetime.now(UTC).replace(microsecond=0)
SECRET = "kill-test-secret-" + "k" * 32
RUN_START_ONLY = {"statistics_version", "summary_version"}  # versioned at each run's start


def migrated(url: str) -> str:
    engine = make_engine(url)
    try:
        upgrade_head(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def migrated_url(backend: str, tmp_path) -> Iterator[str]:
    if backend == "sqlite":
        yield migrated(f"sqlite:///{tmp_path / 'kill.db'}")
        return
    with fresh_postgres_database("shopseg_kill") as url:
        yield migrated(url)


def backfill(
    url: str, base_url: str, domain: str, *, errors: bool = False
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SHOPSEG_DATABASE_URL": url,
        "SHOPSEG_SECRET_KEY": SECRET,
        "SHOPSEG_SHOPIFY_BASE_URL": base_url,
        "SHOPIFY_API_KEY": TEST_API_KEY,
        "SHOPIFY_API_SECRET": TEST_API_SECRET,
        "SHOPSEG_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-c", "from plugin.cli import main; main()"]
    command += ["backfill", domain, "--poll", "0.05", "--batch", "50"]
    stderr = subprocess.PIPE if errors else subprocess.DEVNULL
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)


def wait_until_it_imports(runtime, shop_id: int, process: subprocess.Popen[bytes]) -> None:
    """Until the process holds the run's lease (it is importing), or the run is done."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        with runtime.sessions() as session:
            run = session.scalar(select(BackfillRun).where(BackfillRun.shop_id == shop_id))
            if run.state == DONE or (run.lease_owner or "").endswith(f":{process.pid}"):
                return
        time.sleep(0.02)


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Linux's /proc; none found elsewhere)."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit() and _stat(int(entry))[1:2] == [str(pid)]:
            found.append(int(entry))
    return found


def assert_exit(pids: list[int]) -> None:
    """Each of `pids` exits within 30 s (a zombie waiting to be reaped has exited)."""
    deadline = time.monotonic() + 30
    while any(_stat(pid)[:1] not in ([], ["Z"]) for pid in pids):
        assert time.monotonic() < deadline, "a child outlived the killed import"
        time.sleep(0.05)


def _stat(pid: int) -> list[str]:
    """State and parent id of `pid`, [] once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[:2]
    except (FileNotFoundError, ProcessLookupError):
        return []


def test_killed_three_times_then_resumed_equals_an_uninterrupted_import(
    migrated_url: str, simulator
) -> None:
    for domain in ("whole.myshopify.com", "killed.myshopify.com"):
        seed_history(simulator.state, domain, customers=400, now=NOW)
    settings = Settings(
        database_url=migrated_url,
        shopify_api_key=TEST_API_KEY,
        shopify_api_secret=TEST_API_SECRET,
        secret_key=SECRET,
        shopify_base_url=simulator.base_url,
    )
    runtime = build_runtime(settings)
    try:
        ids = {}
        for domain in ("whole.myshopify.com", "killed.myshopify.com"):
            token = simulator.state.issue_custom_token(domain)
            install.add_custom_shop(runtime, domain, token, "whsec")
            with runtime.sessions() as session:
                ids[domain] = session.scalar(select(Shop.id).where(Shop.domain == domain))
        started = time.monotonic()
        import_history(runtime, ids["whole.myshopify.com"])
        duration = time.monotonic() - started

        rng = random.Random()
        unfinished = 0
        for _ in range(3):
            process = backfill(migrated_url, simulator.base_url, "killed.myshopify.com")
            wait_until_it_imports(runtime, ids["killed.myshopify.com"], process)
            time.sleep(rng.uniform(0, duration / 2))  # the killed runs are slower (batch 50)
            builders = children(process.pid)  # staged rows built in a second process
            process.send_signal(signal.SIGKILL)
            process.wait()
            assert_exit(builders)
            with runtime.sessions() as session:
                run = session.scalar(
                    select(BackfillRun).where(BackfillRun.shop_id == ids["killed.myshopify.com"])
                )
                unfinished += int(run is not None and run.state != DONE)
        assert unfinished >= 1, "no kill landed inside the import: lengthen it"
        final = backfill(migrated_url, simulator.base_url, "killed.myshopify.com", errors=True)
        _, errors = final.communicate(timeout=180)
        assert final.returncode == 0, errors.decode()[-2000:]

        with runtime.sessions() as session:
            whole = store_of(session, ids["whole.myshopify.com"], drop=RUN_START_ONLY)
            killed = store_of(session, ids["killed.myshopify.com"], drop=RUN_START_ONLY)
        assert whole["order_lines"] and whole["customer_tags"]
        for table in whole:
            assert killed[table] == whole[table], table
    finally:
        runtime.close()
