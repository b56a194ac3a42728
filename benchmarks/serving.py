"""A WSGI app on a real 127.0.0.1 port, and timed posts to it from client threads."""

from __future__ import annotations

import logging
import multiprocessing
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import requests
from werkzeug.serving import make_server

from benchmarks.cdnow import SignedDelivery
from benchmarks.errors import BenchmarkError

REQUEST_TIMEOUT_SECONDS = 30
SHUTDOWN_TIMEOUT_SECONDS = 10


@contextmanager
def quiet(logger_name: str, level: int = logging.ERROR) -> Iterator[None]:
    """Raise a logger's level for a while (restored afterwards)."""
    logger = logging.getLogger(logger_name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve `app` in a werkzeug threaded server (the one `shopseg serve` runs); yields
    its base URL and stops it, bounded in time, on exit."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    # werkzeug's line per request is not what is measured, and would flood the output.
    with quiet("werkzeug", logging.WARNING):
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=SHUTDOWN_TIMEOUT_SECONDS)


def http_floor(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Read the body and answer 200 with a small JSON body: the cost of HTTP alone."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    body = b'{"status":"ok"}\n'
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response("200 OK", headers)
    return [body]


@dataclass(frozen=True)
class LoadResult:
    """One timed load: wall time, every request's latency, and outcomes by status."""

    seconds: float
    latencies: list[float]
    outcomes: Counter[str]

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile_ms(self, p: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cuts[p - 1] * 1000


class Client:
    """Client threads in a child process, so the client's own CPU time does not compete
    with the server for one interpreter lock; the process is terminated on exit."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._pool: Any = None

    def __enter__(self) -> Client:
        self._pool = multiprocessing.get_context("spawn").Pool(1)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pool.terminate()
        self._pool.join()

    def post_all(self, url: str, deliveries: list[SignedDelivery], timeout: float) -> LoadResult:
        job = self._pool.apply_async(post_all, (url, deliveries, self.threads))
        try:
            result: LoadResult = job.get(timeout=timeout)
        except multiprocessing.TimeoutError:
            raise BenchmarkError(f"posting to {url} took over {timeout:.0f} s") from None
        return result


def post_all(url: str, deliveries: list[SignedDelivery], threads: int) -> LoadResult:
    """Post every delivery once, split over `threads` keep-alive sessions."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    outcomes: list[Counter[str]] = [Counter() for _ in range(threads)]
    workers = [
        threading.Thread(
            target=_post_chunk, args=(url, deliveries[i::threads], latencies[i], outcomes[i])
        )
        for i in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    return LoadResult(seconds, [x for part in latencies for x in part], sum(outcomes, Counter()))


def _post_chunk(
    url: str, chunk: Iterable[SignedDelivery], latencies: list[float], outcomes: Counter[str]
) -> None:
    with requests.Session() as http:
        for delivery in chunk:
            started = time.perf_counter()
            outcome = _post(http, url, delivery)
            latencies.append(time.perf_counter() - started)
            outcomes[outcome] += 1


def _post(http: requests.Session, url: str, delivery: SignedDelivery) -> str:
    """`"<status code> <status field of the JSON answer>"`, or the exception's name."""
    try:
        response = http.post(
            url, data=delivery.body, headers=delivery.headers, timeout=REQUEST_TIMEOUT_SECONDS
        )
        status = response.json().get("status") if response.content else None
    except (requests.RequestException, ValueError) as exc:
        return f"error {type(exc).__name__}"
    return f"{response.status_code} {status}"
