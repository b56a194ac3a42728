"""Waiting for a shop's API points instead of being throttled: a per-shop bucket estimate.

Shopify drains a leaky bucket per app and shop by each call's cost and refills it at a
restore rate; every answer reports the bucket (`throttleStatus`). Before a call we
estimate what is available now from the last report and, when it is less than the call
will cost, sleep until it refills (up to a maximum wait; beyond it the call is put off).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_COST = 10.0  # a mutation field; a caller that knows better passes `guess`
MAX_WAIT_SECONDS = 5.0  # longer waits put the row off rather than hold the loop


class PacingWait(Exception):
    """The bucket needs longer than the maximum wait to afford the call: try it later."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"waiting {seconds:.1f}s for API points")
        self.seconds = seconds


@dataclass
class _Estimate:
    available: float
    maximum: float
    rate: float
    at: float  # monotonic seconds of the report

    def now(self, clock: float) -> float:
        return min(self.maximum, self.available + max(0.0, clock - self.at) * self.rate)


class Pacer:
    """Bucket estimates per shop, shared by every delivery of this process (thread-safe)."""

    def __init__(
        self,
        *,
        max_wait: float = MAX_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._estimates: dict[str, _Estimate] = {}
        self._costs: dict[str, float] = {}  # requested cost last seen per document
        self.waited = 0.0  # seconds slept in all (for logs and benchmarks)

    def before(
        self, shop: str, document: str, cost: float | None = None, *, guess: float = DEFAULT_COST
    ) -> None:
        """Sleep until the shop's bucket can afford the call, and book its cost: `cost` if
        given, else the document's last reported cost, else `guess` (its first call)."""
        expected = cost if cost is not None else self._costs.get(document, guess)
        with self._lock:
            estimate = self._estimates.get(shop)
            if estimate is None:
                return  # nothing known yet: the first answer tells us
            clock = self._clock()
            available = estimate.now(clock)
            wait = 0.0 if available >= expected else (expected - available) / estimate.rate
            if wait > self.max_wait:
                raise PacingWait(wait)
            # Booked now, so concurrent deliveries in this process wait their turn.
            estimate.available = available - expected
            estimate.at = clock
        if wait > 0:
            self.waited += wait
            self._sleep(wait)

    def after(self, shop: str, document: str, cost: Any) -> None:
        """Learn the bucket and the document's cost from the answer's cost (a `QueryCost`:
        `requested`, `available`, `maximum`, `restore_rate`); None teaches nothing."""
        if cost is None or not getattr(cost, "restore_rate", 0):
            return
        estimate = _Estimate(
            float(cost.available), float(cost.maximum), float(cost.restore_rate), self._clock()
        )
        with self._lock:
            self._estimates[shop] = estimate
            if cost.requested:
                self._costs[document] = float(cost.requested)

    def throttled(self, shop: str) -> None:
        """The shop said THROTTLED: whatever we thought, the bucket is empty now."""
        with self._lock:
            estimate = self._estimates.get(shop)
            if estimate is not None:
                estimate.available = 0.0
                estimate.at = self._clock()

    def forget(self, shop: str) -> None:
        with self._lock:
            self._estimates.pop(shop, None)


# One per process: every delivery loop thread of this process shares the shops' buckets.
PACER = Pacer()
