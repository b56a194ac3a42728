"""Per-shop traffic control of the simulated API: cost buckets and seeded fault draws."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

from plugin.platforms.shopify.simulator.cost import Bucket
from plugin.platforms.shopify.simulator.switches import Switches

FAULTS = ("error", "rate_limit", "timeout")


class Traffic:
    """Each shop's leaky bucket (sized by the switches) and the fault of each request."""

    def __init__(self, lock: threading.RLock, switches: Switches) -> None:
        self.lock = lock
        self.switches = switches
        self.buckets: dict[str, Bucket] = {}
        self.throttled_count: Counter[str] = Counter()
        self._faults = random.Random(switches.seed)
        self._faults_seed = switches.seed

    def take_points(self, shop: str, cost: int) -> tuple[bool, dict[str, float]]:
        """Charge `cost` if the shop's bucket holds that much; the throttleStatus after."""
        with self.lock:
            bucket = self._bucket(shop)
            enough = bucket.available >= cost
            if enough:
                bucket.available -= cost
            else:
                self.throttled_count[shop] += 1
            return enough, self._status(bucket)

    def refund_points(self, shop: str, points: float) -> dict[str, float]:
        """Give back points (requested minus actual cost); the throttleStatus after."""
        with self.lock:
            bucket = self._bucket(shop)
            bucket.available = min(self.switches.bucket_size, bucket.available + points)
            return self._status(bucket)

    def throttle_status(self, shop: str) -> dict[str, float]:
        with self.lock:
            return self._status(self._bucket(shop))

    def count_throttled(self, shop: str) -> None:
        with self.lock:
            self.throttled_count[shop] += 1

    def _bucket(self, shop: str) -> Bucket:
        size, now = self.switches.bucket_size, time.monotonic()
        bucket = self.buckets.setdefault(shop, Bucket(size, now))
        bucket.refill(size, self.switches.restore_rate, now)
        return bucket

    def _status(self, bucket: Bucket) -> dict[str, float]:
        return bucket.status(self.switches.bucket_size, self.switches.restore_rate)

    def draw_fault(self) -> str | None:
        """ "error", "rate_limit", "timeout" or None for one request, by the switches' shares."""
        switches = self.switches
        with self.lock:
            if switches.seed != self._faults_seed:
                self.reset_faults()
            draw = self._faults.random()
        shares = (switches.error_rate, switches.rate_limit_rate, switches.timeout_rate)
        for fault, share in zip(FAULTS, shares, strict=True):
            if draw < share:
                return fault
            draw -= share
        return None

    def reset_faults(self) -> None:
        """Restart the fault sequence from `switches.seed`."""
        with self.lock:
            self._faults_seed = self.switches.seed
            self._faults = random.Random(self.switches.seed)
