"""The app as real processes (`shopseg serve`, `shopseg worker`) that the chaos run kills
with SIGKILL and restarts, and a poster that retries each delivery until it is stored."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

from benchmarks.cdnow import SignedDelivery
from benchmarks.errors import BenchmarkError

START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20
POST_TIMEOUT_SECONDS = 10
# Shopify gives up after 8 tries over 4 hours; here a delivery may wait this long for a
# restarted server before the run fails.
DELIVERY_GIVE_UP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shopseg(*args: str) -> list[str]:
    """The `shopseg` command of this interpreter (works without the console script on PATH)."""
    return [sys.executable, "-c", "from plugin.cli import main; main()", *args]


@dataclass
class Member:
    """One process of the fleet, restartable under the same name and command."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    kills: int = 0

    def start(self, env: dict[str, str]) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def stop(self) -> None:
        if not self.process or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass(eq=False)
class Fleet:
    """`serve` on a fixed port plus zero or more workers, all against one database."""

    env: dict[str, str]
    members: list[Member]
    port: int
    restarts: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        LIVE.add(self)
        for member in self.members:
            member.start(self.env)
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise BenchmarkError(f"serve did not answer on {self.url} within {START_TIMEOUT_SECONDS}s")

    def kill_one(self, rng: random.Random) -> str:
        """SIGKILL a random member (its whole process group) and start it again at once."""
        with self._lock:
            member = rng.choice(self.members)
            member.kill()
            member.start(self.env)
            self.restarts += 1
            return member.name

    def stop(self) -> None:
        with self._lock:
            for member in self.members:
                member.stop()
        LIVE.discard(self)

    def kills(self) -> Counter[str]:
        return Counter({m.name: m.kills for m in self.members})


LIVE: set[Fleet] = set()  # fleets started and not yet stopped


def kill_live_fleets(signum: int, _frame: object) -> None:
    """SIGTERM to the harness: no serve or worker it started may outlive it (they run in
    sessions of their own, so nothing else would stop them)."""
    for fleet in list(LIVE):
        for member in fleet.members:
            member.kill()
    os._exit(128 + signum)


def fleet_for(backend: str, env: dict[str, str], logs: Path, workers: int) -> Fleet:
    """SQLite: `serve` with its embedded worker; PostgreSQL: `serve` plus `workers` workers."""
    port = free_port()
    serve = shopseg("serve", "--port", str(port))
    members = [Member("serve", serve, logs / "serve.log")]
    if backend == "postgresql":
        members += [
            Member(f"worker-{i}", shopseg("worker"), logs / f"worker-{i}.log")
            for i in range(1, workers + 1)
        ]
    return Fleet(env, members, port)


class Killer:
    """Kills a random fleet member every `every` seconds on average until stopped."""

    def __init__(self, fleet: Fleet, every: float, seed: int) -> None:
        self.fleet, self.every, self.rng = fleet, every, random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-killer", daemon=True)

    def __enter__(self) -> Killer:
        if self.every > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.rng.uniform(0.5, 1.5) * self.every):
            self.fleet.kill_one(self.rng)


def post_until_stored(url: str, deliveries: Sequence[SignedDelivery], threads: int) -> Counter[str]:
    """Post each delivery until the app answers 2xx, as Shopify retries; outcomes counted.

    A refused connection or a 5xx while a server restarts is retried; a 4xx is not (it is
    counted and the run's check fails on it).
    """
    chunks = [deliveries[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(lambda chunk: _post_chunk(url, chunk), chunks))
    return sum(parts, Counter())


def _post_chunk(url: str, chunk: Sequence[SignedDelivery]) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    with requests.Session() as http:
        for delivery in chunk:
            _post_one(http, url, delivery, outcomes)
    return outcomes


def _post_one(
    http: requests.Session, url: str, delivery: SignedDelivery, outcomes: Counter[str]
) -> None:
    deadline = time.monotonic() + DELIVERY_GIVE_UP_SECONDS
    while True:
        try:
            response = http.post(
                url, data=delivery.body, headers=delivery.headers, timeout=POST_TIMEOUT_SECONDS
            )
        except requests.RequestException as exc:
            outcomes[f"retried {type(exc).__name__}"] += 1
        else:
            if response.status_code < 500:
                outcomes[str(response.status_code)] += 1
                return
            outcomes[f"retried {response.status_code}"] += 1
        if time.monotonic() > deadline:
            raise BenchmarkError(f"delivery {delivery.webhook_id} was never stored")
        time.sleep(0.2)
