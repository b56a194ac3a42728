"""The tag sync benchmark's shop: the simulator, the installed app, customers in both, the
metered delivery loop and the checks of what the simulated shop ends up with."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select

from benchmarks import ingest
from benchmarks.errors import BenchmarkError
from plugin.db import utcnow
from plugin.manifest import access_scopes
from plugin.outbox.delivery import deliver_due
from plugin.outbox.models import OutboxItem
from plugin.outbox.pacing import Pacer
from plugin.outbox.services import pending_count
from plugin.platforms.shopify.install import install_from_session_token
from plugin.platforms.shopify.session_token import verify_session_token
from plugin.platforms.shopify.simulator import SimulatorHandle, start_simulator
from plugin.profiles.customer_tags import tag_key
from plugin.profiles.models import Customer, CustomerTag
from plugin.profiles.shop_settings import set_setting
from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.models import Segment
from plugin.segments.services import disable_segment
from plugin.shops.models import Shop
from plugin.tagsync.tags import BULK_THRESHOLD

SHOP = "bench-tags.myshopify.com"
API_KEY = "benchmark-api-key"
IDLE_SECONDS = 0.05  # between delivery rounds when nothing is due (a bulk row polling)
WATCH_SECONDS = 0.01


@dataclass(frozen=True)
class Call:
    """One GraphQL answer as the app saw it: the document and its cost in points."""

    document: str
    requested: int
    actual: int | None  # None: the document did not run (THROTTLED)


class CostMeter(Pacer):
    """The app's own pacer, keeping each answer's cost as well: what the benchmark counts."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.throttled_answers = 0

    def after(self, shop: str, document: str, cost: Any) -> None:
        if cost is not None:
            self.calls.append(Call(document, int(cost.requested), cost.actual))
        super().after(shop, document, cost)

    def throttled(self, shop: str) -> None:
        self.throttled_answers += 1
        super().throttled(shop)

    @property
    def points(self) -> int:
        return sum(c.actual or 0 for c in self.calls)

    def by_document(self) -> dict[str, tuple[int, int]]:
        """Calls and points per document name."""
        out: dict[str, tuple[int, int]] = {}
        for c in self.calls:
            calls, points = out.get(c.document, (0, 0))
            out[c.document] = (calls + 1, points + (c.actual or 0))
        return out


@contextmanager
def simulated_shop(bucket_size: float, restore_rate: float) -> Iterator[SimulatorHandle]:
    """A simulator with the given bucket; tag webhooks off (the app's echo handling is not
    what is measured, and nothing listens at the app's URL)."""
    secret = "shpss_" + secrets.token_hex(16)
    handle = start_simulator(API_KEY, secret, app_scopes=access_scopes())
    handle.state.switches.bucket_size = bucket_size
    handle.state.switches.restore_rate = restore_rate
    handle.state.switches.tag_webhooks = False
    try:
        yield handle
    finally:
        handle.stop()


def app_runtime(database_url: str, simulator: SimulatorHandle) -> AbstractContextManager[Runtime]:
    """The app's runtime on a migrated database, talking to the simulator."""
    return ingest.app_runtime(
        database_url,
        shopify_api_key=simulator.state.api_key,
        shopify_api_secret=simulator.state.api_secret,
        shopify_base_url=simulator.base_url,
        # The measured customers arrive by webhook; an import of the simulator's would add to them.
        history_import_on_install=False,
    )


def install(runtime: Runtime, simulator: SimulatorHandle, bulk_threshold: int) -> int:
    """The managed install (token exchange over HTTP), built-in segments off so the only
    tags are the benchmark's; returns the shop's id."""
    token = verify_session_token(simulator.mint_session_token(SHOP), runtime.settings)
    install_from_session_token(runtime, token)
    now = utcnow()
    with runtime.sessions.begin() as session:
        shop_id = session.scalar(select(Shop.id).where(Shop.domain == SHOP))
        if shop_id is None:
            raise BenchmarkError("the install stored no shop")
        for name in session.scalars(select(Segment.name).where(Segment.shop_id == shop_id)):
            disable_segment(session, shop_id, name, now=now)
        set_setting(session, shop_id, BULK_THRESHOLD, bulk_threshold)
    sweep_shop(runtime, shop_id, now)
    return shop_id


def merchant_tags(number: int, wholesale: bool) -> list[str]:
    """The merchant's own tags of customer `number`: one of their own, and the tag that
    puts the first customers in the real-time segment."""
    return [f"own-{number}", *(["wholesale"] if wholesale else [])]


def add_customers(
    runtime: Runtime, simulator: SimulatorHandle, shop_id: int, count: int, wholesale: int
) -> dict[str, int]:
    """`count` customers in the simulator and the app's store, with their own tags (the app
    learns `wholesale` later, as from a webhook); platform id → the app's customer id."""
    for n in range(1, count + 1):
        simulator.state.add_customer(SHOP, n, tags=merchant_tags(n, n <= wholesale))
    with runtime.sessions.begin() as session:
        session.execute(
            insert(Customer),
            [{"shop_id": shop_id, "platform_id": str(n)} for n in range(1, count + 1)],
        )
        ids = dict(
            session.execute(
                select(Customer.platform_id, Customer.id).where(Customer.shop_id == shop_id)
            )
            .tuples()
            .all()
        )
        session.execute(
            insert(CustomerTag),
            [_tag_row(shop_id, ids[str(n)], f"own-{n}") for n in range(1, count + 1)],
        )
    return ids


def _tag_row(shop_id: int, customer_id: int, tag: str) -> dict[str, Any]:
    return {"shop_id": shop_id, "customer_id": customer_id, "tag": tag, "tag_cf": tag_key(tag)}


def learn_tag(runtime: Runtime, shop_id: int, customer_ids: list[int], tag: str) -> None:
    """The app's profiles learn a merchant tag (what the tags_added webhook handler stores)."""
    with runtime.sessions.begin() as session:
        session.execute(insert(CustomerTag), [_tag_row(shop_id, c, tag) for c in customer_ids])


def wait_for_full_bucket(simulator: SimulatorHandle) -> None:
    """Each path starts on a full bucket, as its theoretical minimum assumes."""
    status = simulator.state.traffic.throttle_status(SHOP)
    missing = status["maximumAvailable"] - status["currentlyAvailable"]
    if missing > 0:
        time.sleep(missing / status["restoreRate"] + 0.05)


@dataclass
class Watch:
    """Polls the simulator from a thread: when the expected tag changes have all landed,
    and how long its bulk operations ran (it records only whole seconds itself)."""

    simulator: SimulatorHandle
    changes: int  # expected length of the tag log when done
    start: float = field(default_factory=time.perf_counter)
    landed: float | None = None  # seconds from start until every change was in the shop
    bulk_started: dict[int, float] = field(default_factory=dict)
    bulk_finished: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Watch:
        self._thread = threading.Thread(target=self._run, name="bench-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._look()

    def bulk_seconds(self) -> float:
        """Seconds the simulator spent running operations (first seen running → finished)."""
        return sum(
            self.bulk_finished[i] - t
            for i, t in self.bulk_started.items()
            if i in self.bulk_finished
        )

    def _run(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            self._look()

    def _look(self) -> None:
        state, now = self.simulator.state, time.perf_counter() - self.start
        if self.landed is None and len(state.tag_log) >= self.changes:
            self.landed = now
        with state.lock:
            ops = [(op.op_id, op.status, op.running) for op in state.bulk_operations.values()]
        for op_id, status, running in ops:
            if status != "CREATED":
                self.bulk_started.setdefault(op_id, now)
            if not running:
                self.bulk_finished.setdefault(op_id, now)


def drain(runtime: Runtime, meter: CostMeter, timeout: float) -> float:
    """The worker's delivery loop on the real clock, `deliver_due` until nothing is owed;
    returns the seconds it took."""
    start = time.perf_counter()
    while True:
        if deliver_due(runtime, now=utcnow(), pacer=meter):
            continue
        with runtime.sessions() as session:
            if not pending_count(session):
                return time.perf_counter() - start
        if time.perf_counter() - start > timeout:
            raise BenchmarkError(f"the outbox did not drain in {timeout:.0f} s")
        time.sleep(IDLE_SECONDS)


def outbox_states(runtime: Runtime, shop_id: int) -> Counter[tuple[str, str]]:
    """(kind, state) → rows."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(OutboxItem.kind, OutboxItem.state, func.count())
            .where(OutboxItem.shop_id == shop_id)
            .group_by(OutboxItem.kind, OutboxItem.state)
        ).tuples()
        return Counter({(kind, state): n for kind, state, n in rows})


def check_shop(
    simulator: SimulatorHandle,
    expected_tags: dict[str, list[str]],
    expected_changes: set[tuple[str, str, str, str]],
) -> None:
    """Every customer carries exactly the expected tags, and each managed tag change
    happened once: no merchant tag was touched, nothing was done twice."""
    state = simulator.state
    for pid, tags in expected_tags.items():
        found = state.customer_tags(SHOP, pid)
        if sorted(found) != sorted(tags):
            raise BenchmarkError(f"customer {pid} has tags {found}, expected {tags}")
    log = Counter(c for c in state.tag_log if c[0] == SHOP)
    twice = [c for c, n in log.items() if n > 1]
    if twice:
        raise BenchmarkError(f"{len(twice)} tag changes happened more than once, e.g. {twice[0]}")
    if set(log) != expected_changes:
        extra, missing = set(log) - expected_changes, expected_changes - set(log)
        sample = sorted(extra)[:1] or sorted(missing)[:1]
        raise BenchmarkError(
            f"tag log: {len(extra)} unexpected, {len(missing)} missing, e.g. {sample}"
        )
